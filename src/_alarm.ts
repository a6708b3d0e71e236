/**
 * The one way the supervisor waits with a cut-off: bounded waits (a run to
 * stop, a service to be ready, a shutdown's deadline) share one timer, armed
 * for the earliest of them. A wait ends when its owner deletes it (what it
 * waited for happened) or when its time comes (`onDue` is told). The timer is
 * re-armed only when a wait must end earlier than it would fire, and kept
 * while waits follow one another, so stopping 100,000 services one after
 * another sets one timer, not 100,000.
 *
 * Timers are read at call time, so a fake clock installed after import
 * drives it.
 */
export class Alarm<K> {
  readonly #untils = new Map<K, number>();
  readonly #onDue: (keys: K[]) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /** @param onDue Told, in the order they were set, the waits whose time came. */
  constructor(onDue: (keys: K[]) => void) {
    this.#onDue = onDue;
  }

  /** Waits for `key` until `until` (`Date.now()` time; `Infinity` for no limit). */
  set(key: K, until: number): void {
    this.#untils.delete(key);
    this.#untils.set(key, until);
    if (until < this.#armedFor) this.#arm(until);
  }

  /** When the wait for `key` ends, if it is set. */
  get(key: K): number | undefined {
    return this.#untils.get(key);
  }

  /**
   * Ends the wait for `key`, if any. The timer stays armed (when it fires
   * with nothing due it is not re-armed), so waits that follow one another
   * share it; {@linkcode idle} clears it when nothing waits.
   */
  delete(key: K): void {
    this.#untils.delete(key);
  }

  /** Clears the timer if nothing waits any more. */
  idle(): void {
    if (this.#untils.size === 0) this.clear();
  }

  /** Ends every wait and clears the timer. */
  clear(): void {
    this.#untils.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #arm(until: number): void {
    if (until === Infinity) return;
    clearTimeout(this.#timer);
    this.#armedFor = until;
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.trunc(until - Date.now())));
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = Date.now();
    const due: K[] = [];
    let next = Infinity;
    for (const [key, until] of this.#untils) {
      if (until <= now) due.push(key);
      else if (until < next) next = until;
    }
    for (const key of due) this.#untils.delete(key);
    this.#arm(next);
    if (due.length > 0) this.#onDue(due);
  };
}
