/**
 * Timer stand-ins for the benchmarks and the soak test.
 *
 * {@linkcode installZeroTimers} swaps the global `setTimeout` and
 * `clearTimeout` for a scheduler that runs the callback of a 0 ms timer as a
 * microtask: a restart that waits on a 0 ms timer then costs what the code
 * around the timer costs, not the runtime's ~1 ms timer floor. Longer timers
 * (the supervisor's `stopTimeout`, say) are real ones, so they still mean
 * "later". The supervisor reads `globalThis.setTimeout` at call time, so the
 * swap reaches it. The scheduler keeps no queue of its own (a 0 ms timer is
 * one object, referenced only by its microtask and by whoever holds the
 * handle), so it cannot grow however many timers go through it.
 *
 * {@linkcode countTimerCalls} wraps the real timers and counts the calls.
 *
 * @module
 */

type _Callback = (...args: unknown[]) => void;

/**
 * The handle of a timer set through the zero-cost scheduler; Node-style
 * `ref`/`unref` do nothing.
 */
class _ZeroTimer {
  callback: _Callback | undefined;
  readonly args: unknown[];
  /** The real timer behind a timer longer than 0 ms. */
  real: ReturnType<typeof setTimeout> | undefined;

  constructor(callback: _Callback, args: unknown[]) {
    this.callback = callback;
    this.args = args;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  hasRef(): boolean {
    return true;
  }
}

/** The installed zero-cost timers, and what went through them. */
export interface ZeroTimers extends Disposable {
  /** Timers set and neither fired nor cleared yet. */
  readonly pending: number;
  /** Timers set since installation. */
  readonly set: number;
  /** Of those, timers longer than 0 ms, left to the real `setTimeout`. */
  readonly setReal: number;
  /** Timers fired since installation. */
  readonly fired: number;
  /** Timers cleared before they fired. */
  readonly cleared: number;
  /** The most timers that were pending at once. */
  readonly maxPending: number;
  /** Puts the real `setTimeout` and `clearTimeout` back. */
  restore(): void;
}

/**
 * Replaces the global `setTimeout` and `clearTimeout` with zero-cost ones:
 * the callback of a timer of 0 ms (or no, a negative or a `NaN` delay) runs
 * as a microtask, in the order its timer was set; a longer timer is a real
 * one. `clearTimeout` cancels either if it has not run yet.
 *
 * @returns The counters and `restore()`; `using` restores at scope end.
 */
export function installZeroTimers(): ZeroTimers {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  let set = 0;
  let setReal = 0;
  let fired = 0;
  let cleared = 0;
  let maxPending = 0;
  const fire = (timer: _ZeroTimer) => {
    const callback = timer.callback;
    if (callback === undefined) return;
    timer.callback = undefined;
    fired++;
    if (timer.args.length === 0) callback();
    else callback(...timer.args);
  };
  const setTimeoutZero = (callback: unknown, delay?: unknown, ...args: unknown[]) => {
    if (typeof callback !== "function") {
      throw new TypeError("Cannot set zero-cost timer as 'callback' must be a function");
    }
    const timer = new _ZeroTimer(callback as _Callback, args);
    set++;
    maxPending = Math.max(maxPending, set - fired - cleared);
    // `!(delay > 0)`: undefined, negative and NaN delays are 0 ms, as in browsers.
    if (!(Number(delay) > 0)) {
      queueMicrotask(() => fire(timer));
    } else {
      setReal++;
      timer.real = realSetTimeout(() => fire(timer), Number(delay));
    }
    return timer;
  };
  const clearTimeoutZero = (timer: unknown) => {
    if (timer instanceof _ZeroTimer && timer.callback !== undefined) {
      timer.callback = undefined;
      if (timer.real !== undefined) realClearTimeout(timer.real);
      cleared++;
    }
  };
  globalThis.setTimeout = setTimeoutZero as unknown as typeof setTimeout;
  globalThis.clearTimeout = clearTimeoutZero as typeof clearTimeout;
  let installed = true;
  const restore = () => {
    if (!installed) return;
    installed = false;
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  };
  return {
    get pending() {
      return set - fired - cleared;
    },
    get set() {
      return set;
    },
    get setReal() {
      return setReal;
    },
    get fired() {
      return fired;
    },
    get cleared() {
      return cleared;
    },
    get maxPending() {
      return maxPending;
    },
    restore,
    [Symbol.dispose]: restore,
  };
}

/** Counts of calls to the global timers, from {@linkcode countTimerCalls}. */
export interface TimerCalls extends Disposable {
  /** Calls to `setTimeout` since the counter was installed or reset. */
  readonly setTimeout: number;
  /** Calls to `setInterval` since the counter was installed or reset. */
  readonly setInterval: number;
  /** Sets both counts to 0. */
  reset(): void;
  /** Puts the unwrapped timers back. */
  restore(): void;
}

/**
 * Wraps the global `setTimeout` and `setInterval` so that every call is
 * counted, then passed on to the real timer.
 *
 * @returns The counts and `restore()`; `using` restores at scope end.
 */
export function countTimerCalls(): TimerCalls {
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  let timeouts = 0;
  let intervals = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timeouts++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    intervals++;
    return realSetInterval(...args);
  }) as typeof setInterval;
  let installed = true;
  const restore = () => {
    if (!installed) return;
    installed = false;
    globalThis.setTimeout = realSetTimeout;
    globalThis.setInterval = realSetInterval;
  };
  return {
    get setTimeout() {
      return timeouts;
    },
    get setInterval() {
      return intervals;
    },
    reset() {
      timeouts = 0;
      intervals = 0;
    },
    restore,
    [Symbol.dispose]: restore,
  };
}
