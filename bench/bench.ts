/**
 * `deno task bench`: the performance targets of the supervisor, measured
 * and printed as one table, each row with its value, its target, and whether
 * the target is met. The restart-cycle and memory rows are measured on Node
 * and Bun too (`cross_runtime.ts`, bundled with esbuild for Node).
 *
 * ```sh
 * deno run --allow-all --v8-flags=--expose-gc bench/bench.ts [--quick] [--no-cross]
 * ```
 *
 * The last section times the restart cycle of a service in a Worker
 * (`WorkerService`, real timers, a fresh Worker per run) beside a Worker made
 * by hand and the same service in-process, on Deno, Node and Bun
 * (`worker_cycle.ts`).
 *
 * `--quick` takes smaller samples (a smoke run, not for the record);
 * `--no-cross` skips Node and Bun.
 *
 * Restart cycles run on the zero-cost timers of `_timers.ts` (a 0 ms timer is
 * a microtask), so the rows compare what each loop costs around its timer.
 * Times are medians of samples taken round-robin after one forced garbage
 * collection (`measureCycles`' `collect` says why not one per sample); heap
 * figures are taken after forced collections.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { Supervisor, type WorkerLike } from "../mod.ts";
import {
  type CoreResult,
  FAILURE,
  floorLoop,
  floorSignalLoop,
  honestFloorLoop,
  idleRun,
  mailboxNs,
  measureCycles,
  measureMemory,
  median,
  serviceNames,
  supervisorLoop,
} from "./_loops.ts";
import { libraryLoops } from "./_libs.ts";
import {
  canCollectGarbage,
  collectGarbage,
  fmt,
  runtimeLabel,
  runtimeName,
  scriptArgs,
  settledHeapUsed,
} from "./_runtime.ts";
import { countTimerCalls, installZeroTimers } from "./_timers.ts";
import { measureWorkerCycle, type WorkerCycleResult } from "./_worker_cycle.ts";

const quick = scriptArgs().includes("--quick");
const cross = !scriptArgs().includes("--no-cross");
const root = fileURLToPath(new URL("..", import.meta.url));

/** One row of the table. */
interface Row {
  readonly runtime: string;
  readonly name: string;
  readonly value: string;
  readonly target: string;
  /** `true` met, `false` missed, `undefined` reported only. */
  readonly met: boolean | undefined;
}

const rows: Row[] = [];
const notes: string[] = [];

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

/** Runs one measurement; a failure becomes a row that says so. */
async function section(name: string, body: () => Promise<void>): Promise<void> {
  progress(name);
  const t0 = performance.now();
  try {
    await body();
  } catch (error) {
    rows.push({
      runtime: runtimeName,
      name,
      value: `error: ${error instanceof Error ? error.message : String(error)}`,
      target: "",
      met: false,
    });
  }
  progress(`${name}: ${fmt.ms(performance.now() - t0)}`);
}

const versions = await (async () => {
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const version = (name: string) => String(config.imports?.[name] ?? "").replace(/^npm:.*@/, "");
  return { version };
})();

// --- Restart cycles ---------------------------------------------------------

const cycleOptions = quick
  ? { cycles: 10_000, samples: 3, warmup: 5_000 }
  : { cycles: 20_000, samples: 15, warmup: 20_000 };

await section("restart cycle", async () => {
  const timers = installZeroTimers();
  let results;
  try {
    results = await measureCycles({
      floor: floorLoop,
      floorSignal: floorSignalLoop,
      honestFloor: honestFloorLoop,
      supervisor: supervisorLoop,
      ...libraryLoops,
    }, cycleOptions);
  } finally {
    timers.restore();
  }
  const floor = results["honestFloor"]!.median;
  const supervisor = results["supervisor"]!.median;
  rows.push(
    ...cycleRows(
      runtimeName,
      results["floor"]!.median,
      results["floorSignal"]!.median,
      floor,
      supervisor,
    ),
  );
  // The mailbox's part of it: two messages per cycle (the run settling, the timer firing).
  const mailbox = 2 * mailboxNs(quick ? 2_000_000 : 10_000_000);
  rows.push({
    runtime: runtimeName,
    name: "restart cycle: the mailbox's part (2 messages)",
    value: `${mailbox.toFixed(1)} ns = ${(100 * mailbox / supervisor).toFixed(1)}% of the cycle`,
    target: "≤ 5% of the cycle",
    met: mailbox <= 0.05 * supervisor,
  });
  for (const name of Object.keys(libraryLoops)) {
    const ns = results[name]!.median;
    rows.push({
      runtime: runtimeName,
      name: `restart cycle: ${name} ${versions.version(name)}${
        name === "p-retry" ? " (sets no timer at 0 ms)" : ""
      }`,
      value: `${fmt.ns(ns)} = ${(ns / floor).toFixed(2)}× honest floor`,
      target: "supervisor faster",
      met: supervisor < ns,
    });
  }
  // How many swapped timers each contender sets per restart cycle.
  const perCycle: string[] = [];
  for (const [name, loop] of Object.entries({ supervisor: supervisorLoop, ...libraryLoops })) {
    const counted = installZeroTimers();
    try {
      await loop(1_000);
    } finally {
      counted.restore();
    }
    perCycle.push(`${name} ${((counted.set - counted.setReal) / 1_000).toFixed(2)}`);
  }
  notes.push(
    "restart cycles run on zero-cost timers (a 0 ms setTimeout is a microtask). p-retry sets " +
      "no timer at a 0 ms delay, so its loop never yields to them (pure microtasks); cockatiel " +
      "waits on setTimeout(0); effect's 0 ms sleep yields to its scheduler, which would use the " +
      "real setImmediate, so the bench gives it a MixedScheduler that yields through setTimeout. " +
      `Swapped 0 ms timers per cycle: ${perCycle.join(", ")}.`,
  );
  notes.push(
    `restart cycles: ${
      fmt.count(cycleOptions.cycles)
    } cycles per sample, ${cycleOptions.samples} ` +
      `samples per contender, median (fastest) ns: ${
        Object.entries(results).map(([n, r]) => `${n} ${r.median.toFixed(0)} (${r.min.toFixed(0)})`)
          .join(", ")
      }`,
  );
});

// --- 100,000 idle services --------------------------------------------------

const idleCount = quick ? 20_000 : 100_000;
const idleRounds = quick ? 1 : 3;

await section("idle services: add + start, stop", async () => {
  const names = serviceNames(idleCount);
  const startTimes: number[] = [];
  const stopTimes: number[] = [];
  const floorStartTimes: number[] = [];
  const floorStopTimes: number[] = [];
  const togetherTimes: number[] = [];
  for (let round = 0; round < idleRounds; round++) {
    collectGarbage();
    const t0 = performance.now();
    const supervisor = new Supervisor();
    for (const name of names) supervisor.add(name, idleRun);
    await supervisor.start();
    const t1 = performance.now();
    const report = await supervisor.stop();
    const t2 = performance.now();
    if (report.stopped.length !== idleCount) {
      throw new Error(`stopped ${report.stopped.length} of ${idleCount}`);
    }
    startTimes.push(t1 - t0);
    stopTimes.push(t2 - t1);
    // The same, stopped together.
    collectGarbage();
    const together = new Supervisor({ stopOrder: "together" });
    for (const name of names) together.add(name, idleRun);
    await together.start();
    const t3 = performance.now();
    const report2 = await together.stop();
    togetherTimes.push(performance.now() - t3);
    if (report2.stopped.length !== idleCount) {
      throw new Error(`stopped ${report2.stopped.length} of ${idleCount} together`);
    }
    // The floor: a controller and a run per service; stopped the same way,
    // one at a time in reverse order, each awaited.
    collectGarbage();
    const f0 = performance.now();
    const controllers: AbortController[] = [];
    const runs: Promise<void>[] = [];
    for (let i = 0; i < idleCount; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      runs.push(idleRun(controller.signal));
    }
    const f1 = performance.now();
    for (let i = idleCount - 1; i >= 0; i--) {
      controllers[i]!.abort();
      await runs[i];
    }
    const f2 = performance.now();
    floorStartTimes.push(f1 - f0);
    floorStopTimes.push(f2 - f1);
  }
  const start = median(startTimes);
  const stop = median(stopTimes);
  const each = (ms: number) => `${(ms * 1000 / idleCount).toFixed(2)} µs each`;
  const floorStart = median(floorStartTimes);
  const floorStop = median(floorStopTimes);
  rows.push({
    runtime: runtimeName,
    name: `${fmt.count(idleCount)} idle services: add + start`,
    value: `${fmt.ms(start)} (${each(start)}; floor ${fmt.ms(floorStart)})`,
    target: "< 500 ms",
    met: start < 500,
  });
  rows.push({
    runtime: runtimeName,
    name: `${fmt.count(idleCount)} idle services: stop()`,
    value: `${fmt.ms(stop)} (${each(stop)}; floor ${fmt.ms(floorStop)})`,
    target: "< 500 ms",
    met: stop < 500,
  });
  const together = median(togetherTimes);
  rows.push({
    runtime: runtimeName,
    name: `${fmt.count(idleCount)} idle services: stop(), stopOrder "together"`,
    value: `${fmt.ms(together)} (${each(together)})`,
    target: "< 500 ms",
    met: together < 500,
  });
  notes.push(
    `idle services: real timers, default options; add+start ms ${
      startTimes.map((t) => t.toFixed(0)).join("/")
    }, stop ms ${stopTimes.map((t) => t.toFixed(0)).join("/")}; floor: a controller and a run ` +
      `per service, aborted and awaited one at a time in reverse order`,
  );
});

// --- Memory per idle service ------------------------------------------------

let denoMemory: { floor: number; supervisor: number } | undefined;
await section("memory per idle service", async () => {
  const memory = await measureMemory(idleCount, idleRounds);
  denoMemory = memory;
  rows.push(memoryRow(runtimeName, memory.floor, memory.supervisor));
  memoryNote(runtimeName, memory.discarded);
});

/** Says how many memory rounds were taken again because the heap shrank under them. */
function memoryNote(runtime: string, discarded: number): void {
  if (discarded > 0) {
    notes.push(
      `${runtime}: ${discarded} memory round(s) taken again: the heap shrank while the services ` +
        `were added (memory of an earlier phase freed late)`,
    );
  }
}

function cycleRows(
  runtime: string,
  plain: number,
  plainSignal: number,
  floor: number,
  supervisor: number,
): Row[] {
  return [{
    runtime,
    name: "restart cycle: await loop, no signal (reference)",
    value: `${fmt.ns(plain)} = ${(plain / floor).toFixed(2)}× honest floor`,
    target: "reference",
    met: undefined,
  }, {
    runtime,
    name: "restart cycle: await loop + new AbortController per run",
    value: `${fmt.ns(plainSignal)} = ${(plainSignal / floor).toFixed(2)}× honest floor`,
    target: "reference",
    met: undefined,
  }, {
    runtime,
    name: "restart cycle: honest floor (signal, guard, one .then, one timer)",
    value: fmt.ns(floor),
    target: "",
    met: undefined,
  }, {
    runtime,
    name: "restart cycle: supervisor",
    value: `${fmt.ns(supervisor)} = ${(supervisor / floor).toFixed(2)}× honest floor`,
    target: "≤ 1.30× honest floor",
    met: supervisor <= 1.3 * floor,
  }];
}

function memoryRow(runtime: string, floor: number, supervisor: number): Row {
  const extra = supervisor - floor;
  return {
    runtime,
    name: "heap per idle service beyond the floor",
    value: `${fmt.bytes(extra)} (${fmt.bytes(supervisor)} − floor ${fmt.bytes(floor)})`,
    target: "≤ 320 B",
    met: extra <= 320,
  };
}

// --- stop() latency ---------------------------------------------------------

await section("stop() latency", async () => {
  const count = 10_000;
  const names = serviceNames(count);
  const times: number[] = [];
  for (let round = 0; round < (quick ? 3 : 7); round++) {
    const supervisor = new Supervisor();
    for (const name of names) supervisor.add(name, idleRun);
    await supervisor.start();
    collectGarbage();
    const t0 = performance.now();
    await supervisor.stop();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  rows.push({
    runtime: runtimeName,
    name: `stop() latency, ${fmt.count(count)} cooperative services`,
    value: `${fmt.ms(ms)} (${(ms * 1000 / count).toFixed(2)} µs each)`,
    target: "reported",
    met: undefined,
  });
});

// --- Services that take 1 ms to stop ------------------------------------------

/** A run that, once its signal aborts, takes `ms` of real time to settle. */
function slowToStop(ms: number) {
  return (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => setTimeout(resolve, ms), { once: true });
    });
}

await section("stop() of services that take 1 ms to stop", async () => {
  for (
    const [count, order, target] of [
      [quick ? 2_000 : 10_000, "together", 100],
      [1_000, "reverse", undefined],
    ] as const
  ) {
    const times: number[] = [];
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      const supervisor = new Supervisor({ stopOrder: order });
      for (const name of serviceNames(count)) supervisor.add(name, slowToStop(1));
      await supervisor.start();
      collectGarbage();
      const t0 = performance.now();
      const report = await supervisor.stop();
      times.push(performance.now() - t0);
      if (report.stopped.length !== count) throw new Error(`stopped ${report.stopped.length}`);
    }
    const ms = median(times);
    rows.push({
      runtime: runtimeName,
      name: `stop(), ${fmt.count(count)} services taking 1 ms to stop, stopOrder "${order}"`,
      value: fmt.ms(ms),
      target: target === undefined ? "reported" : `< ${target} ms`,
      met: target === undefined ? undefined : ms < target,
    });
  }
});

// --- Memory and restarts -------------------------------------------------------

await section("memory after restarts", async () => {
  if (!canCollectGarbage()) return;
  const timers = installZeroTimers();
  try {
    // One service that restarts forever, on zero-cost timers; the heap after
    // 10,000 restarts against after 100,000, both settled. At each mark the
    // run waits (a pending run sets no timer), so the heap can be read.
    const supervisor = new Supervisor({ backoff: { initialDelay: 0 }, maxRestarts: Infinity });
    let runs = 0;
    let target = 10_000;
    let reached!: () => void;
    let resume: (() => void) | undefined;
    supervisor.add("crash", (signal) => {
      if (++runs !== target) return Promise.reject(FAILURE);
      reached();
      return new Promise<void>((resolve, reject) => {
        resume = () => reject(FAILURE);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    });
    let arrived = new Promise<void>((resolve) => reached = resolve);
    await supervisor.start();
    await arrived;
    const early = await settledHeapUsed();
    arrived = new Promise<void>((resolve) => reached = resolve);
    target = 100_000;
    resume!();
    await arrived;
    const late = await settledHeapUsed();
    const report = await supervisor.stop();
    if (report.stopped.length !== 1) throw new Error("the restarting service did not stop");
    const grown = late - early;
    rows.push({
      runtime: runtimeName,
      name: "heap growth from 10,000 to 100,000 restarts",
      value: fmt.bytes(Math.max(0, grown)),
      target: "< 64 KiB (none per restart)",
      met: grown < 64 * 1024,
    });
  } finally {
    timers.restore();
  }
});

// --- Size -------------------------------------------------------------------

await section("size", async () => {
  try {
    const result = await esbuild.build({
      entryPoints: [`${root}mod.ts`],
      bundle: true,
      minify: true,
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const minified = result.outputFiles[0]!.contents;
    const gzipped = gzipSync(minified, { level: 9 }).length;
    rows.push({
      runtime: `esbuild ${versions.version("esbuild")}`,
      name: "mod.ts minified + gzipped (-9)",
      value: `${fmt.bytes(gzipped)} (minified ${fmt.bytes(minified.length)})`,
      target: "≤ 7.1 KiB",
      met: gzipped <= 7.1 * 1024,
    });
    // What an app that imports only the class ships, once a bundler drops the rest.
    const core = await esbuild.build({
      stdin: { contents: 'export { Supervisor } from "./mod.ts";', resolveDir: root, loader: "ts" },
      bundle: true,
      minify: true,
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const coreMinified = core.outputFiles[0]!.contents;
    rows.push({
      runtime: `esbuild ${versions.version("esbuild")}`,
      name: "only { Supervisor } minified + gzipped (-9)",
      value: `${fmt.bytes(gzipSync(coreMinified, { level: 9 }).length)} (minified ${
        fmt.bytes(coreMinified.length)
      })`,
      target: "< 6 KiB",
      met: gzipSync(coreMinified, { level: 9 }).length < 6 * 1024,
    });
  } finally {
    await esbuild.stop();
  }
});

// --- Idle CPU -----------------------------------------------------------------

await section("idle timers", async () => {
  const realSetTimeout = setTimeout;
  const calls = countTimerCalls();
  let duringStart: number;
  let afterStart: number;
  const supervisor = new Supervisor();
  try {
    for (const name of serviceNames(1_000)) supervisor.add(name, idleRun);
    await supervisor.start();
    duringStart = calls.setTimeout + calls.setInterval;
    calls.reset();
    await new Promise((resolve) => realSetTimeout(resolve, 200));
    afterStart = calls.setTimeout + calls.setInterval;
  } finally {
    calls.restore();
    await supervisor.stop();
  }
  rows.push({
    runtime: runtimeName,
    name: "idle CPU: timers set in 200 ms by 1,000 idle services",
    value: `${afterStart} (${duringStart} during add + start)`,
    target: "0",
    met: afterStart === 0,
  });
});

// --- Node and Bun -------------------------------------------------------------

/**
 * Runs a bench of another runtime and reads its result: the JSON on the
 * line of its output that starts with `tag`.
 */
async function resultOf<T>(label: string, cmd: string, args: string[], tag: string): Promise<T> {
  const output = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const line = text.split("\n").find((l) => l.startsWith(`${tag} `));
  if (!output.success || !line) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" ");
    throw new Error(`${label} exited with ${output.code}: ${stderr || text.trim()}`);
  }
  return JSON.parse(line.slice(tag.length + 1));
}

async function runCross(label: string, cmd: string, args: string[]): Promise<void> {
  await section(`restart cycle and memory on ${label}`, async () => {
    const result = await resultOf<CoreResult>(label, cmd, args, "BENCH_RESULT");
    const f = result.fastestNs;
    notes.push(
      `${label}: ${result.runtime}; restart cycles, fastest sample: floor ${
        f.floor.toFixed(0)
      } ns, ` +
        `floor + signal ${f.floorSignal.toFixed(0)} ns, honest floor ${f.honestFloor.toFixed(0)} ` +
        `ns, supervisor ${f.supervisor.toFixed(0)} ns (${
          (f.supervisor / f.honestFloor).toFixed(2)
        }× honest floor)`,
    );
    rows.push(
      ...cycleRows(
        label,
        result.floorNs,
        result.floorSignalNs,
        result.honestFloorNs,
        result.supervisorNs,
      ),
    );
    rows.push(memoryRow(label, result.floorBytes, result.supervisorBytes));
    memoryNote(label, result.memoryDiscarded);
  });
}

if (cross) {
  const crossArgs = quick
    ? ["--cycles=10000", "--samples=3", "--warmup=5000", "--services=20000", "--rounds=1"]
    : [];
  const dir = await Deno.makeTempDir({ prefix: "janus-bench-" });
  try {
    const outfile = `${dir}/cross_runtime.mjs`;
    await esbuild.build({
      entryPoints: [`${root}bench/cross_runtime.ts`],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outfile,
      logLevel: "silent",
    });
    await esbuild.stop();
    await runCross("node", "node", ["--expose-gc", outfile, ...crossArgs]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await runCross("bun", "npx", ["-y", "bun@1.4", "bench/cross_runtime.ts", ...crossArgs]);
}

// --- A service in a Worker ---------------------------------------------------------

/** The Worker restart cycle beside the in-process one, on one runtime. */
function workerRows(runtime: string, result: WorkerCycleResult): Row[] {
  const overhead = result.workerMs - result.floorMs;
  return [{
    runtime,
    name: "restart cycle in-process, real timers (reference)",
    value: `${fmt.ms(result.inProcessMs)}`,
    target: "reference",
    met: undefined,
  }, {
    runtime,
    name: "restart cycle in a Worker: Worker floor (new, start, end, terminate)",
    value: `${fmt.ms(result.floorMs)}`,
    target: "reference",
    met: undefined,
  }, {
    runtime,
    name: "restart cycle in a Worker: WorkerService",
    value: `${fmt.ms(result.workerMs)} = ${(result.workerMs / result.inProcessMs).toFixed(0)}× ` +
      `in-process; floor + ${fmt.ms(overhead)}`,
    target: "≤ floor + 10 %",
    met: result.workerMs <= 1.1 * result.floorMs,
  }];
}

const workerCycleArgs = quick ? ["--cycles=10", "--samples=3"] : [];

await section("restart cycle in a Worker", async () => {
  const create = () =>
    new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" }) as WorkerLike;
  const result = await measureWorkerCycle(create, {
    cycles: quick ? 10 : 30,
    samples: quick ? 3 : 5,
  });
  rows.push(...workerRows(runtimeName, result));
  notes.push(
    `Worker restart cycles: ${result.cycles} per sample, median of ${quick ? 3 : 5}; real ` +
      "timers; each run's Worker is made fresh, started, and terminated once its run ended " +
      "(on Node, once its thread exited); in-process cycles: 20 times as many",
  );
});

async function runWorkerCross(label: string, cmd: string, args: string[]): Promise<void> {
  await section(`restart cycle in a Worker on ${label}`, async () => {
    const result = await resultOf<WorkerCycleResult & { runtime: string }>(
      label,
      cmd,
      args,
      "BENCH_WORKER",
    );
    rows.push(...workerRows(label, result));
    notes.push(`${label} Worker cycles: ${result.runtime}, node:worker_threads on Node`);
  });
}

if (cross) {
  const dir = await Deno.makeTempDir({ prefix: "janus-bench-worker-" });
  try {
    for (const [entry, name] of [["worker_cycle.ts", "cycle"], ["_worker.ts", "worker"]]) {
      await esbuild.build({
        entryPoints: [`${root}bench/${entry}`],
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        outfile: `${dir}/${name}.mjs`,
        logLevel: "silent",
      });
    }
    await esbuild.stop();
    await runWorkerCross("node", "node", [
      `${dir}/cycle.mjs`,
      `--worker=${dir}/worker.mjs`,
      ...workerCycleArgs,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await runWorkerCross("bun", "npx", [
    "-y",
    "bun@1.4",
    "bench/worker_cycle.ts",
    ...workerCycleArgs,
  ]);
}

// --- The table ----------------------------------------------------------------

const header = ["Runtime", "Benchmark", "Measured", "Target", "Result"];
const cells = rows.map((r) => [
  r.runtime,
  r.name,
  r.value,
  r.target,
  r.met === undefined ? "" : r.met ? "met" : "MISSED",
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]) => `| ${c.map((s, i) => s.padEnd(widths[i]!)).join(" | ")} |`;
console.log(`\n${runtimeLabel()}${quick ? " (--quick: smoke run, not for the record)" : ""}\n`);
console.log(line(header));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const c of cells) console.log(line(c));
console.log();
for (const note of notes) console.log(`- ${note}`);
const missed = rows.filter((r) => r.met === false).length;
const met = rows.filter((r) => r.met === true).length;
console.log(`\n${met} targets met, ${missed} missed`);
if (denoMemory === undefined) console.log("(memory rows need --v8-flags=--expose-gc)");
