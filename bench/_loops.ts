/**
 * The runtime-neutral measurements, shared by `bench.ts` (Deno) and
 * `cross_runtime.ts` (Node and Bun): the cost of one restart cycle of the
 * supervisor and of a hand-written floor, and the heap an idle service takes
 * under each.
 *
 * @module
 */
import { Supervisor } from "../mod.ts";
import {
  canCollectGarbage,
  collectGarbage,
  deferred,
  runtimeLabel,
  settledHeapUsed,
} from "./_runtime.ts";
import { installZeroTimers } from "./_timers.ts";

/** What every failing run rejects with: one object, so no run pays for a stack trace. */
export const FAILURE: Error = new Error("bench: the run failed");

/** Runs `cycles` restart cycles of one failing service and resolves when they are done. */
export type CycleLoop = (cycles: number) => Promise<void>;

/**
 * The operation every contender restarts: it fails (at once) `cycles` times,
 * then succeeds, and resolves `done` then.
 */
export function failingOperation(cycles: number): {
  run: (signal?: AbortSignal) => Promise<void>;
  readonly calls: () => number;
  readonly done: Promise<void>;
} {
  let calls = 0;
  const { promise, resolve } = deferred();
  return {
    run: () => {
      if (++calls <= cycles) return Promise.reject(FAILURE);
      resolve();
      return Promise.resolve();
    },
    calls: () => calls,
    done: promise,
  };
}

function _check(name: string, calls: number, cycles: number): void {
  if (calls !== cycles + 1) {
    throw new Error(`${name}: ${calls} runs for ${cycles} restart cycles, expected ${cycles + 1}`);
  }
}

/**
 * The floor: the cheapest safe restart loop by hand. It awaits the run
 * (catching a synchronous throw too), keeps the error, stops if its signal
 * aborted, and waits on one timer before the next run, as the supervisor
 * does at zero delay.
 */
export const floorLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  const controller = new AbortController();
  let lastError: unknown;
  while (true) {
    try {
      await operation.run();
      break;
    } catch (error) {
      lastError = error;
    }
    if (controller.signal.aborted) break;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  if (cycles > 0 && lastError !== FAILURE) throw new Error("floor: lost the run's error");
  _check("floor", operation.calls(), cycles);
};

/**
 * The floor with a fresh `AbortController` per run, as the supervisor makes
 * (so a run's leftover abort listeners die with it): not a target, it shows
 * what the runtime charges for the per-run signal alone.
 */
export const floorSignalLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  let lastError: unknown;
  while (true) {
    const controller = new AbortController();
    try {
      await operation.run(controller.signal);
      break;
    } catch (error) {
      lastError = error;
    }
    if (controller.signal.aborted) break;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  if (cycles > 0 && lastError !== FAILURE) throw new Error("floor: lost the run's error");
  _check("floor + signal", operation.calls(), cycles);
};

/**
 * The honest floor (issue 12): what any safe restart loop must do, by hand,
 * at its cheapest. A fresh `AbortController` per run (a run's signal is its
 * cancellation token), the run called behind a guard for a synchronous
 * throw, one `.then` with handlers made once, the last error kept, and
 * exactly one timer before the next run. The supervisor's restart-cycle
 * targets are measured against it.
 */
export const honestFloorLoop: CycleLoop = (cycles) => {
  const operation = failingOperation(cycles);
  return new Promise<void>((resolve, reject) => {
    let controller = new AbortController();
    let lastError: unknown;
    const onFulfilled = () => {
      if (cycles > 0 && lastError !== FAILURE) return reject(new Error("floor: lost the error"));
      try {
        _check("honest floor", operation.calls(), cycles);
        resolve();
      } catch (error) {
        reject(error);
      }
    };
    const onRejected = (error: unknown) => {
      lastError = error;
      if (controller.signal.aborted) return resolve();
      setTimeout(launch, 0);
    };
    const launch = () => {
      controller = new AbortController();
      let result: unknown;
      try {
        result = operation.run(controller.signal);
      } catch (error) {
        result = Promise.reject(error);
      }
      Promise.resolve(result).then(onFulfilled, onRejected);
    };
    launch();
  });
};

/**
 * What the mailbox adds to one message on the restart path, by the same
 * steps the supervisor takes: find the mailbox, see it free, mark it busy,
 * handle the message inside `try`, see nothing queued, free it. Timed over
 * many messages of a handler that does nothing, minus a loop that calls the
 * same handler directly; the restart cycle handles two such messages.
 */
export function mailboxNs(messages: number): number {
  const box = { queue: [] as (() => void)[], head: 0, busy: false };
  const owner: { link: { parent: unknown } | undefined } = { link: undefined };
  let count = 0;
  const handle = (n: number) => {
    count += n;
  };
  const through = (n: number) => {
    const mailbox = owner.link === undefined ? box : box;
    if (mailbox.busy) return void mailbox.queue.push(() => handle(n));
    mailbox.busy = true;
    try {
      handle(n);
    } finally {
      if (mailbox.head < mailbox.queue.length) mailbox.head = 0;
      else mailbox.busy = false;
    }
  };
  const time = (call: (n: number) => void) => {
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) call(i & 1);
    return performance.now() - t0;
  };
  for (let round = 0; round < 3; round++) time(through), time(handle);
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    samples.push((time(through) - time(handle)) * 1e6 / messages);
  }
  if (count < 0) throw new Error("unreachable");
  return Math.max(0, median(samples));
}

/**
 * The supervisor: one service with zero backoff and no restart limit, run
 * until it completes, then the supervisor is stopped.
 */
export const supervisorLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  const supervisor = new Supervisor({ backoff: { initialDelay: 0 }, maxRestarts: Infinity });
  supervisor.add("bench", operation.run);
  await supervisor.start();
  await operation.done;
  await supervisor.stop();
  _check("supervisor", operation.calls(), cycles);
};

/** Options of {@linkcode measureCycles}. */
export interface MeasureOptions {
  /** Restart cycles in one timed sample. */
  readonly cycles: number;
  /** Samples per contender; the median is reported. */
  readonly samples: number;
  /** Untimed cycles per contender first, for the JIT. */
  readonly warmup: number;
  /**
   * When to force a full collection: `"once"`, before the warm-up (the
   * default), or `"each"`, before every sample. With `"each"`, every sample
   * begins with loops made just after a full collection, and on Deno and Bun
   * their cycles run 2-3.5× slower on average over 20,000 (the supervisor
   * most) while a long-lived supervisor's do not slow down after one: that
   * measures the runtime's recovery, not the restart cycle.
   */
  readonly collect?: "once" | "each";
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Times restart loops, round-robin so that drift hits each alike, after one
 * forced collection (when one is available) and the warm-up; the
 * collector's own work during the samples counts, as it does for a program.
 *
 * @returns Per contender: the median and the fastest nanoseconds per cycle,
 * and every sample.
 */
export async function measureCycles(
  loops: Readonly<Record<string, CycleLoop>>,
  options: MeasureOptions,
): Promise<Record<string, { median: number; min: number; samples: number[] }>> {
  const names = Object.keys(loops);
  const each = options.collect === "each";
  // Collected before the warm-up, so no timed sample begins just after it.
  if (!each && canCollectGarbage()) collectGarbage();
  for (const name of names) await loops[name]!(options.warmup);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < options.samples; i++) {
    for (const name of names) {
      if (each && canCollectGarbage()) collectGarbage();
      const t0 = performance.now();
      await loops[name]!(options.cycles);
      samples[name]!.push((performance.now() - t0) * 1e6 / options.cycles);
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, {
      median: median(samples[n]!),
      min: Math.min(...samples[n]!),
      samples: samples[n]!,
    }]),
  );
}

/** An idle run: waits for its signal to abort, then resolves. */
export function idleRun(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * The heap per idle service, by hand: one `AbortController` and the pending
 * run promise per service, kept in two arrays.
 */
export async function floorBytesPerService(count: number): Promise<number> {
  const before = await settledHeapUsed();
  const controllers: AbortController[] = new Array(count);
  const runs: Promise<void>[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const controller = new AbortController();
    controllers[i] = controller;
    runs[i] = idleRun(controller.signal);
  }
  const after = await settledHeapUsed();
  for (const controller of controllers) controller.abort();
  await Promise.all(runs);
  return (after - before) / count;
}

/**
 * The heap per idle service under a supervisor, the names made beforehand
 * (a caller has them either way).
 */
export async function supervisorBytesPerService(names: readonly string[]): Promise<number> {
  const before = await settledHeapUsed();
  const supervisor = new Supervisor();
  for (const name of names) supervisor.add(name, idleRun);
  await supervisor.start();
  const after = await settledHeapUsed();
  const report = await supervisor.stop();
  if (report.stopped.length !== names.length) {
    throw new Error(`supervisor: stopped ${report.stopped.length} of ${names.length} services`);
  }
  return (after - before) / names.length;
}

/** Names for `count` services, made once. */
export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `service-${i}`);
}

/**
 * Medians of `rounds` memory measurements of the floor and the supervisor.
 *
 * A reading of no bytes or fewer per service is impossible while `count`
 * services are alive: the heap shrank under the measurement (on Bun, JSC
 * freed memory of an earlier phase late), so that round is taken again, up
 * to `rounds` more times in all. `discarded` counts the rounds taken again.
 */
export async function measureMemory(
  count: number,
  rounds: number,
): Promise<{ floor: number; supervisor: number; discarded: number }> {
  const names = serviceNames(count);
  const floor: number[] = [];
  const supervisor: number[] = [];
  let discarded = 0;
  while (floor.length < rounds) {
    const f = await floorBytesPerService(count);
    const s = await supervisorBytesPerService(names);
    if ((f > 0 && s > 0) || discarded === rounds) {
      floor.push(f);
      supervisor.push(s);
    } else {
      discarded++;
    }
  }
  return { floor: median(floor), supervisor: median(supervisor), discarded };
}

/** What {@linkcode measureCore} reports. */
export interface CoreResult {
  /** The runtime, e.g. `node 20.20.2 (V8 11.3)`. */
  readonly runtime: string;
  /** Median ns per restart cycle of the hand-written loop. */
  readonly floorNs: number;
  /** Median ns per restart cycle of the hand-written loop with a signal per run. */
  readonly floorSignalNs: number;
  /** Median ns per restart cycle of the honest floor ({@linkcode honestFloorLoop}). */
  readonly honestFloorNs: number;
  /** Median ns per restart cycle of the supervisor. */
  readonly supervisorNs: number;
  /** The fastest sample of each, in ns per cycle. */
  readonly fastestNs: {
    readonly floor: number;
    readonly floorSignal: number;
    readonly honestFloor: number;
    readonly supervisor: number;
  };
  /** Heap bytes per idle service of the hand-written floor. */
  readonly floorBytes: number;
  /** Heap bytes per idle service under the supervisor. */
  readonly supervisorBytes: number;
  /** Memory rounds taken again because the heap shrank under them. */
  readonly memoryDiscarded: number;
}

/** Sizes of the core measurements. */
export interface CoreOptions extends MeasureOptions {
  /** Idle services per memory measurement. */
  readonly services: number;
  /** Memory measurements; the median is reported. */
  readonly rounds: number;
}

/**
 * The measurements every runtime makes: restart cycles of the floor and the
 * supervisor on the zero-cost timers, then the heap per idle service.
 */
export async function measureCore(options: CoreOptions): Promise<CoreResult> {
  const timers = installZeroTimers();
  let cycles;
  try {
    cycles = await measureCycles({
      floor: floorLoop,
      floorSignal: floorSignalLoop,
      honestFloor: honestFloorLoop,
      supervisor: supervisorLoop,
    }, options);
  } finally {
    timers.restore();
  }
  const memory = await measureMemory(options.services, options.rounds);
  return {
    runtime: runtimeLabel(),
    floorNs: cycles["floor"]!.median,
    floorSignalNs: cycles["floorSignal"]!.median,
    honestFloorNs: cycles["honestFloor"]!.median,
    supervisorNs: cycles["supervisor"]!.median,
    fastestNs: {
      floor: cycles["floor"]!.min,
      floorSignal: cycles["floorSignal"]!.min,
      honestFloor: cycles["honestFloor"]!.min,
      supervisor: cycles["supervisor"]!.min,
    },
    floorBytes: memory.floor,
    supervisorBytes: memory.supervisor,
    memoryDiscarded: memory.discarded,
  };
}
