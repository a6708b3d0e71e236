/**
 * Soak test: one service that fails at once, restarted with zero backoff and
 * no restart limit for N cycles, must not grow the heap.
 *
 * The global `setTimeout`/`clearTimeout` are swapped for the zero-cost
 * scheduler of `bench/_timers.ts` (each restart still waits on one timer;
 * real 0 ms timers cost ~1 ms, which would make a million cycles take a
 * quarter of an hour). After a warm-up, the heap is measured after forced
 * garbage collection while the service is parked inside a run; N cycles
 * later it is measured again in the same position. Then the supervisor is
 * stopped, and nothing may be left pending: no timer, no run.
 *
 * ```sh
 * deno run --v8-flags=--expose-gc tests/soak/soak.ts [--cycles=100000] [--warmup=1000]
 * deno task soak    # 1,000,000 cycles
 * bun tests/soak/soak.ts
 * esbuild tests/soak/soak.ts --bundle --format=esm --platform=node --outfile=/tmp/soak.mjs
 * node --expose-gc /tmp/soak.mjs
 * ```
 *
 * The 1 MiB limit catches a leak of about 11 bytes per cycle at 100,000
 * cycles (a retained listener or closure is 100 bytes or more), and of about
 * 1 byte per cycle at 1,000,000.
 *
 * Prints the cycles, the time and the heap at start and end, then
 * `1 passed, 0 failed` (exit 0) or `0 passed, 1 failed` (exit 1). A soak
 * that makes no progress fails after `--timeout` ms (default 600000).
 *
 * @module
 */
import { Supervisor } from "../../mod.ts";
import {
  canCollectGarbage,
  deferred,
  fmt,
  numberArg,
  runtimeLabel,
  setExitCode,
  settledHeapUsed,
} from "../../bench/_runtime.ts";
import { installZeroTimers } from "../../bench/_timers.ts";

/** The largest heap growth that passes: 1 MiB. */
const MAX_GROWTH = 1024 * 1024;

/**
 * Runs the soak and returns what went wrong, if anything.
 *
 * @param cycles Restart cycles between the two heap measurements.
 * @param warmup Restart cycles before the first.
 */
async function soak(cycles: number, warmup: number): Promise<string[]> {
  const problems: string[] = [];
  const timers = installZeroTimers();
  try {
    const supervisor = new Supervisor({ backoff: { initialDelay: 0 }, maxRestarts: Infinity });
    let starts = 0;
    let failures = 0;
    let restarts = 0;
    let nonZeroDelays = 0;
    supervisor.addEventListener("start", () => starts++);
    supervisor.addEventListener("exit", (event) => {
      if (event.outcome === "failed") failures++;
    });
    supervisor.addEventListener("restart", (event) => {
      restarts++;
      if (event.delay !== 0) nonZeroDelays++;
    });

    // The run at each checkpoint parks: it reports the checkpoint, then fails
    // when released (the soak goes on) or resolves when its signal aborts.
    let checkpoint = deferred();
    let release = deferred<boolean>();
    const parkedRun = async (signal: AbortSignal): Promise<void> => {
      const aborted = new Promise<boolean>((resolve) => {
        signal.addEventListener("abort", () => resolve(false), { once: true });
      });
      checkpoint.resolve();
      if (await Promise.race([release.promise, aborted])) throw new Error("released");
    };
    const startAt = warmup + 1;
    const endAt = warmup + cycles + 1;
    supervisor.add("soak", (signal, { attempt }) => {
      if (attempt === startAt || attempt === endAt) return parkedRun(signal);
      return Promise.reject(new Error(`run ${attempt} failed`));
    });

    await supervisor.start();
    await checkpoint.promise;
    const heapStart = await settledHeapUsed();
    checkpoint = deferred();
    const t0 = performance.now();
    const released = release;
    release = deferred<boolean>();
    released.resolve(true);
    await checkpoint.promise;
    const elapsed = performance.now() - t0;
    const heapEnd = await settledHeapUsed();
    const report = await supervisor.stop();

    const growth = heapEnd - heapStart;
    const zeroTimers = timers.set - timers.setReal;
    console.log(
      `cycles:      ${fmt.count(cycles)} in ${fmt.ms(elapsed)} (${
        fmt.ns(elapsed * 1e6 / Math.max(1, cycles))
      } per cycle)`,
    );
    console.log(`heap start:  ${fmt.bytes(heapStart)}`);
    console.log(`heap end:    ${fmt.bytes(heapEnd)}`);
    console.log(`growth:      ${fmt.bytes(growth)} (limit ${fmt.bytes(MAX_GROWTH)})`);
    console.log(`timers:      ${fmt.count(zeroTimers)} of 0 ms, ${timers.setReal} longer (stop())`);
    console.log(
      `             at most ${timers.maxPending} pending at once, ${timers.pending} after stop()`,
    );

    if (growth >= MAX_GROWTH) problems.push(`the heap grew by ${fmt.bytes(growth)}`);
    if (JSON.stringify(report) !== JSON.stringify({ stopped: ["soak"], timedOut: [] })) {
      problems.push(`stop() reported ${JSON.stringify(report)}`);
    }
    const [status] = supervisor.status();
    if (status?.state !== "stopped" || status.attempt !== endAt || status.restarts !== endAt - 1) {
      problems.push(`status() after stop() is ${JSON.stringify(status)}`);
    }
    if (timers.pending !== 0) problems.push(`${timers.pending} timers still pending after stop()`);
    // Every run but the last failed and was restarted on exactly one timer.
    if (starts !== endAt || failures !== endAt - 1 || restarts !== endAt - 1) {
      problems.push(`events: ${starts} start, ${failures} failed exit, ${restarts} restart`);
    }
    if (nonZeroDelays !== 0) problems.push(`${nonZeroDelays} restarts had a non-zero delay`);
    if (zeroTimers !== restarts) {
      problems.push(`${zeroTimers} timers of 0 ms for ${restarts} restarts`);
    }
    // One restart timer at a time, plus the stop timers: the scheduler never piles up.
    if (timers.maxPending > 3) problems.push(`${timers.maxPending} timers were pending at once`);
  } finally {
    timers.restore();
  }
  return problems;
}

const cycles = numberArg("cycles", 100_000);
const warmup = numberArg("warmup", 1_000);
const timeoutMs = numberArg("timeout", 600_000);
console.log(
  `soak: ${runtimeLabel()}, ${fmt.count(cycles)} restart cycles after a warm-up of ${
    fmt.count(warmup)
  }`,
);
let problems: string[];
if (!canCollectGarbage()) {
  problems = ["cannot force a garbage collection: run Deno with --v8-flags=--expose-gc"];
} else {
  // A soak that hangs (no restart ever comes) fails here instead of idling.
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<string[]>((resolve) => {
    watchdog = setTimeout(() => resolve([`no result within ${timeoutMs} ms`]), timeoutMs);
  });
  try {
    problems = await Promise.race([soak(cycles, warmup), timedOut]);
  } catch (error) {
    problems = [`the soak threw ${error instanceof Error ? error.stack : String(error)}`];
  } finally {
    clearTimeout(watchdog);
  }
}
for (const problem of problems) console.log(`FAIL: ${problem}`);
const passed = problems.length === 0;
console.log(
  `soak: heap growth < 1 MiB over ${fmt.count(cycles)} restart cycles, clean stop ... ${
    passed ? "ok" : "FAILED"
  }`,
);
console.log(`${passed ? 1 : 0} passed, ${passed ? 0 : 1} failed`);
setExitCode(passed ? 0 : 1);
