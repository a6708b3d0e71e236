/**
 * The exponential backoff, as a pure function so it can be tested as a whole
 * sequence. The formula is `@std/async`'s `retry`:
 * `min(maxDelay, initialDelay × multiplier^n) × (1 − jitter × random)`.
 *
 * @param n Restarts since the last reset, from 0.
 * @param options The resolved backoff options.
 * @param random A number in [0, 1).
 * @returns The delay in whole milliseconds, as a timer waits it (the
 * formula's value rounded down): never above `maxDelay`, never below
 * `(1 − jitter)` of the ceiling rounded down.
 */
export function _backoffDelay(
  n: number,
  options: {
    readonly initialDelay: number;
    readonly maxDelay: number;
    readonly multiplier: number;
    readonly jitter: number;
  },
  random: number,
): number {
  // `multiplier ** n` grows to Infinity for large n; `Math.min` caps it, and
  // `0 × Infinity` (initialDelay 0) is NaN, so the zero case is taken first.
  const ceiling = options.initialDelay === 0
    ? 0
    : Math.min(options.maxDelay, options.initialDelay * options.multiplier ** n);
  // A `random` that strays outside [0, 1] must not push the delay past its bounds.
  const r = Math.min(1, Math.max(0, Number.isFinite(random) ? random : 0));
  return Math.floor(ceiling * (1 - options.jitter * r));
}
