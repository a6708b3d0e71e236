/**
 * The restart limit: at most `maxRestarts` restarts within any sliding
 * window of `restartWindow` milliseconds. A pure structure over the times of
 * past restarts; it keeps at most `maxRestarts` of them, so its memory is
 * bounded however long a service keeps restarting.
 */
export class _RestartWindow {
  /** The most restarts within `window`. */
  readonly maxRestarts: number;
  /** The window, in milliseconds. */
  readonly window: number;
  /** Times of the restarts still inside the window, oldest first. */
  readonly #times: number[] = [];

  constructor(maxRestarts: number, window: number) {
    this.maxRestarts = maxRestarts;
    this.window = window;
  }

  /**
   * Asks to restart at time `now`. Records the restart and returns `true`
   * when it is within the limit; returns `false`, recording nothing, when it
   * would be restart number `maxRestarts + 1` within the window.
   */
  admit(now: number): boolean {
    if (!this.allows(now)) return false;
    this.record(now);
    return true;
  }

  /** Whether a restart at time `now` would be within the limit; records nothing. */
  allows(now: number): boolean {
    if (this.maxRestarts === Infinity) return true;
    const times = this.#times;
    while (times.length > 0 && now - times[0]! >= this.window) times.shift();
    return times.length < this.maxRestarts;
  }

  /** How many restarts at time `now` would still be within the limit. */
  room(now: number): number {
    if (this.maxRestarts === Infinity) return Infinity;
    this.allows(now);
    return this.maxRestarts - this.#times.length;
  }

  /** Records a restart at time `now` (after {@linkcode allows} said yes). */
  record(now: number): void {
    if (this.maxRestarts !== Infinity) this.#times.push(now);
  }

  /** Forgets every recorded restart. */
  clear(): void {
    this.#times.length = 0;
  }
}
