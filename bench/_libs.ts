/**
 * The same restart loop as `_loops.ts`, built with the retry libraries users
 * would otherwise reach for: `p-retry`, `cockatiel` and `effect`, each with
 * exponential backoff from 0 ms and no attempt limit.
 *
 * How each one waits at zero delay (read from their sources):
 *
 * - `p-retry` skips the wait entirely when the delay is 0: it sets no timer,
 *   so its loop is microtasks only and never yields to the event loop.
 * - `cockatiel` waits on `setTimeout(resolve, 0)` (the swapped global).
 * - `effect` turns a 0 ms sleep into a yield to its scheduler, which uses
 *   `setImmediate` when there is one (Deno 2.9 has it): the bench gives it a
 *   `MixedScheduler` that yields through the swapped `setTimeout` instead.
 *
 * @module
 */
import pRetry from "p-retry";
import { ExponentialBackoff, handleAll, noJitterGenerator, retry } from "cockatiel";
import { Effect, Schedule, Scheduler } from "effect";
import { type CycleLoop, failingOperation } from "./_loops.ts";

function _check(name: string, calls: number, cycles: number): void {
  if (calls !== cycles + 1) {
    throw new Error(`${name}: ${calls} runs for ${cycles} restart cycles, expected ${cycles + 1}`);
  }
}

/** `pRetry(run, { retries: Infinity, minTimeout: 0 })`. */
export const pRetryLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  await pRetry(() => operation.run(), {
    retries: Infinity,
    minTimeout: 0,
    maxTimeout: 0,
    factor: 2,
    randomize: false,
  });
  _check("p-retry", operation.calls(), cycles);
};

/** `retry(handleAll, { backoff: new ExponentialBackoff({ initialDelay: 0 }) }).execute(run)`. */
export const cockatielLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  const policy = retry(handleAll, {
    maxAttempts: Infinity,
    backoff: new ExponentialBackoff({ initialDelay: 0, maxDelay: 0, generator: noJitterGenerator }),
  });
  await policy.execute(() => operation.run());
  _check("cockatiel", operation.calls(), cycles);
};

/** Yields through the global `setTimeout`, which the bench swaps. */
const _effectScheduler = (): Scheduler.MixedScheduler =>
  new Scheduler.MixedScheduler("async", (task) => {
    const timer = setTimeout(task, 0);
    return () => clearTimeout(timer);
  });

/** `Effect.retry(Effect.tryPromise(run), Schedule.exponential(0))`, run on a swapped-timer scheduler. */
export const effectLoop: CycleLoop = async (cycles) => {
  const operation = failingOperation(cycles);
  const program = Effect.retry(
    Effect.tryPromise({ try: () => operation.run(), catch: (error) => error }),
    Schedule.exponential(0),
  );
  await Effect.runPromise(program, { scheduler: _effectScheduler() });
  _check("effect", operation.calls(), cycles);
};

/** The libraries' loops, by package name. */
export const libraryLoops: Readonly<Record<string, CycleLoop>> = {
  "p-retry": pRetryLoop,
  "cockatiel": cockatielLoop,
  "effect": effectLoop,
};
