/**
 * A stand-in for `@std/testing/time`'s `FakeTime` built on
 * `@sinonjs/fake-timers`, faking exactly the globals FakeTime fakes and
 * advancing time the way FakeTime does, so a test that passes here passes
 * for a user who tests with FakeTime. `scripts/_guides.ts` maps
 * `@std/testing/time` to this file to run the README's FakeTime example.
 */
import FakeTimers from "@sinonjs/fake-timers";

// One real macrotask, which `tickAsync` awaits to flush microtasks as
// FakeTime's `runMicrotasks` does. Deno, Node and Bun all have
// `setImmediate`, which the fake clock leaves alone and which, unlike
// `setTimeout(0)` (clamped to 1-2 ms), keeps thousands of steps fast.
const realSetImmediate = (globalThis as { setImmediate?: (fn: () => void) => unknown })
  .setImmediate;
const realSetTimeout = globalThis.setTimeout;
function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    if (realSetImmediate) realSetImmediate(resolve);
    else realSetTimeout(resolve, 0);
  });
}

/** The globals FakeTime replaces (it also fakes `AbortSignal.timeout`, which the module never uses). */
export const FAKED = [
  "Date",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
] as const;

export class FakeTime {
  readonly #clock: ReturnType<typeof FakeTimers.install>;

  constructor(now = 0) {
    this.#clock = FakeTimers.install({ now, toFake: [...FAKED] });
  }

  /** The fake clock's time in milliseconds. */
  get now(): number {
    return this.#clock.now;
  }

  /** Fires every timer due within `ms`, in order, with no microtasks between them. */
  tick(ms = 0): void {
    this.#clock.tick(ms);
  }

  /** Lets queued microtasks run, through one real macrotask. */
  async runMicrotasks(): Promise<void> {
    await macrotask();
  }

  /** FakeTime's `tickAsync`: flush microtasks once, then `tick(ms)`. */
  async tickAsync(ms = 0): Promise<void> {
    await this.runMicrotasks();
    this.#clock.tick(ms);
  }

  /** FakeTime's `nextAsync`: flush microtasks, then jump to the next timer, if any. */
  async nextAsync(): Promise<boolean> {
    await this.runMicrotasks();
    if (this.#clock.countTimers() === 0) return false;
    this.#clock.next();
    return true;
  }

  /**
   * Moves to time `t` one timer at a time, flushing microtasks before each,
   * as a loop of FakeTime's `nextAsync` would; timers due at `t` and set
   * after this call stay pending.
   */
  async advanceTo(t: number): Promise<void> {
    let reached = false;
    setTimeout(() => reached = true, Math.max(0, t - this.now));
    while (!reached) {
      await this.runMicrotasks();
      this.#clock.next();
    }
    await this.runMicrotasks();
  }

  /** How many timers are pending. */
  countTimers(): number {
    return this.#clock.countTimers();
  }

  restore(): void {
    this.#clock.uninstall();
  }

  /** Restores the real clock at the end of a `using` block, as FakeTime does. */
  [Symbol.dispose](): void {
    this.restore();
  }
}

/**
 * Moves time on, one timer at a time, until `promise` settles, and returns
 * what it settled with: for calls that wait on a timer, such as `restart()`,
 * whose new run begins on a 0 ms timer.
 */
export async function settled<T>(time: FakeTime, promise: Promise<T>): Promise<T> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  while (!done && await time.nextAsync());
  return await promise;
}

/** Runs `fn` with fake time from 0 and restores the real clock afterwards, whatever happens. */
export async function withFakeTime(fn: (time: FakeTime) => Promise<void>): Promise<void> {
  const time = new FakeTime(0);
  try {
    await fn(time);
  } finally {
    time.restore();
  }
}
