/**
 * The restart-cycle and memory measurements of `bench.ts`, for Node and Bun.
 * `deno task bench` runs it on both; by hand:
 *
 * ```sh
 * bun bench/cross_runtime.ts
 * esbuild bench/cross_runtime.ts --bundle --format=esm --platform=node --outfile=/tmp/cross.mjs
 * node --expose-gc /tmp/cross.mjs
 * ```
 *
 * Prints one line, `BENCH_RESULT {json}`, with a {@linkcode CoreResult}.
 *
 * @module
 */
import { type CoreResult, measureCore } from "./_loops.ts";
import { numberArg } from "./_runtime.ts";

const result: CoreResult = await measureCore({
  cycles: numberArg("cycles", 20_000),
  samples: numberArg("samples", 15),
  warmup: numberArg("warmup", 20_000),
  services: numberArg("services", 100_000),
  rounds: numberArg("rounds", 3),
});
console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
