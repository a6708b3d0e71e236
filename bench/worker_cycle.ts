/**
 * The Worker restart-cycle measurement of `bench.ts` on the runtime that
 * runs it: Deno and Bun with a web Worker of `_worker.ts`, Node with a
 * `node:worker_threads` Worker of the bundled module given as `--worker=`.
 * `deno task bench` runs it on Node and Bun; by hand:
 *
 * ```sh
 * bun bench/worker_cycle.ts
 * esbuild bench/worker_cycle.ts --bundle --format=esm --platform=node --outfile=/tmp/cycle.mjs
 * esbuild bench/_worker.ts --bundle --format=esm --platform=node --outfile=/tmp/worker.mjs
 * node /tmp/cycle.mjs --worker=/tmp/worker.mjs
 * ```
 *
 * Prints one line, `BENCH_WORKER {json}`, with a {@linkcode WorkerCycleResult}
 * and the runtime's label.
 *
 * @module
 */
import { Worker as NodeWorker } from "node:worker_threads";
import type { WorkerLike } from "../mod.ts";
import { numberArg, runtimeLabel, scriptArgs } from "./_runtime.ts";
import { measureWorkerCycle, type WorkerCycleResult } from "./_worker_cycle.ts";

const workerArg = scriptArgs().find((a) => a.startsWith("--worker="))?.slice("--worker=".length);
const web = typeof (globalThis as { Worker?: unknown }).Worker === "function";
const create: () => WorkerLike = web
  ? () => new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" })
  : () => {
    if (!workerArg) throw new Error("Node needs --worker=<the bundled bench/_worker.ts>");
    return new NodeWorker(workerArg);
  };

const result: WorkerCycleResult & { runtime: string } = {
  runtime: runtimeLabel(),
  ...await measureWorkerCycle(create, {
    cycles: numberArg("cycles", 30),
    samples: numberArg("samples", 5),
  }),
};
console.log(`BENCH_WORKER ${JSON.stringify(result)}`);
