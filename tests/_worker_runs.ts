/**
 * Runs that behave the same in-process and in a Worker: `worker_test.ts`
 * runs each one both ways and compares what the supervisor saw, and
 * `_worker_fixture.ts` serves them in a Worker.
 */
import { DoNotRestartError, EscalateError, type RunContext } from "../mod.ts";

/** A run, as a service's `run`. */
export type Run = (signal: AbortSignal, context: RunContext) => Promise<void> | void;

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** The runs both ways can do, by name. */
export const RUNS: Readonly<Record<string, Run>> = {
  /** Ready, then done. */
  complete(_signal, { ready }) {
    ready();
  },
  /** Throws at once, with a cause. */
  throw() {
    throw new TypeError("boom", { cause: new Error("root cause") });
  },
  /** Rejects after a tick. */
  async reject() {
    await Promise.resolve();
    throw new RangeError("later");
  },
  /** Says a restart will not help. */
  doNotRestart() {
    throw new DoNotRestartError("bad config");
  },
  /** Hands the failure up. */
  escalate() {
    throw new EscalateError("disk full");
  },
  /** Throws something that is not an `Error`. */
  throwValue() {
    throw "a plain string";
  },
  /** Ready, then runs until its signal aborts, and completes on attempt 3. */
  async cooperative(signal, { attempt, ready }) {
    if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
    ready();
    await untilAborted(signal);
  },
  /** Ready after a few real milliseconds, then runs until its signal aborts. */
  async slowReady(signal, { ready }) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    ready();
    await untilAborted(signal);
  },
};
