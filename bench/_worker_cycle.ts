/**
 * The restart cycle of a service in a Worker, beside the same service
 * in-process, on real timers (a Worker cannot run on stand-in ones), the
 * same way on Deno, Node and Bun:
 *
 * - in-process: a supervisor restarting a run that completes at once;
 * - Worker floor: by hand, a fresh Worker of `_worker.ts` per run, told to
 *   start, awaited until its run ended, terminated (on Node, until its
 *   thread exited): what any Worker-per-run design pays;
 * - `WorkerService`: the supervisor restarting the same Worker module.
 *
 * @module
 */
import { type Service, Supervisor, type WorkerLike, WorkerService } from "../mod.ts";
import { median } from "./_loops.ts";

/** What {@linkcode measureWorkerCycle} reports, in ms per restart cycle (medians). */
export interface WorkerCycleResult {
  /** The supervisor restarting an in-process run that completes, on real timers. */
  readonly inProcessMs: number;
  /** By hand: fresh Worker, start, its run ends, terminate. */
  readonly floorMs: number;
  /** `WorkerService` under the supervisor. */
  readonly workerMs: number;
  /** Worker cycles per sample. */
  readonly cycles: number;
}

/** Sizes of {@linkcode measureWorkerCycle}. */
export interface WorkerCycleOptions {
  /** Worker restart cycles per sample (in-process ones: 20 times as many). */
  readonly cycles: number;
  /** Samples of each; the median is reported. */
  readonly samples: number;
}

const KEY = "@janus/supervisor";

/** One Worker run by hand: start it, wait for its end, terminate it. */
async function floorCycle(create: () => WorkerLike): Promise<void> {
  const worker = create();
  await new Promise<void>((resolve, reject) => {
    const onData = (data: unknown) => {
      if ((data as Record<string, unknown> | null)?.[KEY] === "end") resolve();
    };
    if ("addEventListener" in worker) {
      worker.addEventListener("message", (event) => onData((event as MessageEvent).data));
      worker.addEventListener("error", (event) => {
        event.preventDefault();
        reject(new Error("the bench worker failed"));
      });
    } else {
      worker.on("message", onData);
      worker.on("error", reject);
    }
    worker.postMessage({ [KEY]: "start", attempt: 1 });
  });
  await worker.terminate();
}

/** `cycles` restarts of one service under a supervisor, in ms per cycle. */
async function supervised(cycles: number, service: Service): Promise<number> {
  let runs = 0;
  let reached!: () => void;
  const done = new Promise<void>((resolve) => reached = resolve);
  const supervisor = new Supervisor({
    restartPolicy: "always",
    backoff: { initialDelay: 0, jitter: 0 },
    maxRestarts: Infinity,
  });
  supervisor.addEventListener("exit", () => {
    if (++runs === cycles) reached();
  });
  supervisor.add(service);
  const t0 = performance.now();
  await supervisor.start();
  await done;
  const ms = (performance.now() - t0) / cycles;
  await supervisor.stop();
  return ms;
}

/** Measures the three, round-robin, after one untimed round. */
export async function measureWorkerCycle(
  create: () => WorkerLike,
  options: WorkerCycleOptions,
): Promise<WorkerCycleResult> {
  const inProcess: number[] = [];
  const floor: number[] = [];
  const worker: number[] = [];
  const inProcessCycles = options.cycles * 20;
  for (let sample = -1; sample < options.samples; sample++) {
    const a = await supervised(inProcessCycles, { name: "bench", run() {} });
    const t0 = performance.now();
    for (let i = 0; i < options.cycles; i++) await floorCycle(create);
    const b = (performance.now() - t0) / options.cycles;
    const c = await supervised(options.cycles, new WorkerService("bench", create));
    if (sample < 0) continue; // warm-up
    inProcess.push(a);
    floor.push(b);
    worker.push(c);
  }
  return {
    inProcessMs: median(inProcess),
    floorMs: median(floor),
    workerMs: median(worker),
    cycles: options.cycles,
  };
}
