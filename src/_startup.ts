import type { Child, Host } from "./_child.ts";

/**
 * Readiness-ordered start, as systemd's `Type=notify`: the children start in
 * the order they were added, and a child added with `waitReady` must be
 * ready (or have completed) before the next one starts. Each start is one
 * step; a call queued by user code during a step (a `start` listener calling
 * `stop()`) is handled before the next step.
 */
export class Startup {
  readonly #host: Host;
  readonly #children: Child[];
  /** Each child's attempt when it joined the start: a later one ran in this session already. */
  readonly #attempts: number[];
  readonly #done: (error?: Error) => void;
  #index = 0;
  #over = false;
  /** The child whose readiness the start waits for. */
  waiting: Child | undefined;

  /**
   * @param host The supervisor.
   * @param children The children to start, in order; more may be appended.
   * @param done Told once: with nothing when every child started, with an
   * error when one failed or was not ready in time.
   */
  constructor(host: Host, children: Child[], done: (error?: Error) => void) {
    this.#host = host;
    this.#children = children;
    this.#attempts = children.map((child) => child.attempt);
    this.#done = done;
  }

  /** A child added while the start is under way starts in its turn. */
  append(child: Child): void {
    this.#children.push(child);
    this.#attempts.push(child.attempt);
  }

  /** Starts children until one must be waited for, or all have started. */
  next(): void {
    const children = this.#children;
    while (!this.#over && this.#index < children.length) {
      const child = children[this.#index]!;
      if (child.phase !== "removed") {
        // Started once per session: one that restart() ran early, and that
        // ended for good since, stays as it is.
        if (child.attempt === this.#attempts[this.#index]) this.#host.apply(child, "start");
        const waitReady = child.options.waitReady;
        // A live run (restart() came first, or an abandoned run waiting to
        // start afresh), or one about to begin, is waited for all the same.
        if (waitReady !== false && !child.ready && this.#willRun(child)) {
          this.waiting = child;
          if (waitReady !== true) this.#host.alarm.set(this, Date.now() + waitReady);
          return;
        }
      }
      this.#index++;
      // A call a listener or a run made meanwhile goes first.
      if (this.#host.queued()) return this.#host.next(() => this.next());
    }
    if (this.#over) return;
    this.#over = true;
    this.#done();
  }

  /** Whether this start has yet to reach `child`. */
  pending(child: Child): boolean {
    return !this.#over &&
      this.#children.indexOf(child, this.waiting ? this.#index + 1 : this.#index) !== -1;
  }

  /** The child waited for is ready, completed, or will not run again: go on. */
  proceed(child: Child): void {
    if (child !== this.waiting || this.#over) return;
    this.#stopWaiting();
    this.#index++;
    this.#host.next(() => this.next());
  }

  /** The child waited for failed before it was ready. */
  fail(child: Child): void {
    if (child !== this.waiting || this.#over) return;
    this.#finish(
      `service '${child.name}' failed before it was ready`,
      child.past?.failed ? { cause: child.past.lastError } : undefined,
    );
  }

  /** The wait for readiness timed out. */
  due(): void {
    const child = this.waiting;
    if (!child || this.#over) return;
    this.#finish(`service '${child.name}' was not ready within ${child.options.waitReady} ms`);
  }

  /** The session ends: nothing more is started. */
  cut(): void {
    this.#over = true;
    this.#stopWaiting();
  }

  #finish(why: string, options?: ErrorOptions): void {
    this.cut();
    this.#done(new Error(`Cannot start supervisor '${this.#host.name}' as ${why}`, options));
  }

  #stopWaiting(): void {
    this.waiting = undefined;
    this.#host.alarm.delete(this);
    this.#host.alarm.idle();
  }

  /** Whether a run of `child` is live or will begin without another call. */
  #willRun(child: Child): boolean {
    switch (child.phase) {
      case "running":
      case "claimed":
      case "backing_off":
      case "grouped":
        return true;
      case "stopping":
        return child.intent === "restart" ||
          (child.intent === "group" && child.options.restartPolicy !== "never");
      case "abandoned":
        return child.intent === "start";
      default:
        return false;
    }
  }
}
