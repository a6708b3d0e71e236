/**
 * What one supervisor needs of another, its parent or its child, reached by
 * a key that every copy of this module shares: the ES module and CommonJS
 * builds, two bundles, two versions. A child from another copy is then still
 * a child supervisor (its children in `metrics()`, its deadline honoured,
 * its events bubbling up), which `instanceof` and private fields cannot give.
 */
/**
 * The mailbox a tree of supervisors shares, its root's: while any of them
 * handles a message, a call into any of them waits its turn.
 */
export interface Mailbox {
  /** Messages waiting, from `head` on. */
  readonly queue: (() => void)[];
  head: number;
  /** A message is being handled. */
  busy: boolean;
  /** The child supervisor whose next message its parent delivers at once: its run beginning. */
  direct: object | undefined;
}

export interface Link {
  /** The supervisor's name. */
  readonly name: string;
  /** Its `shutdownTimeout`, the `stopTimeout` a parent gives it by default. */
  readonly shutdownTimeout: number;
  /** The link of its parent, set by the parent that adds it. */
  parent: Link | undefined;
  /** Whether it was started, runs, or was stopped on its own (so no parent may add it). */
  readonly used: boolean;
  /** Its run on `signal` was stopped: that run's shutdown must end by `at`. */
  hurry(at: number, signal: AbortSignal): void;
  /** Whether its session runs (or shuts down) on `signal`. */
  runsOn(signal: AbortSignal): boolean;
  /** What its last shutdown abandoned, by path. */
  timedOut(): readonly string[];
  /** Whether an event of `type` would reach a listener, there or above. */
  wants(type: string): boolean;
  /** Dispatches a child's event there (its `service` already a path), and on up. */
  emit(event: Event): void;
  /** The mailbox of its tree. */
  mailbox(): Mailbox;
  /** Whether `signal` is that of the run it gave its child named `name`. */
  gave(name: string, signal: AbortSignal): boolean;
  /**
   * Its parent's session ended with it not running (it never ran, or its
   * run is over): if it will never run again, what waits on it (and on its
   * children) for an event waits no more. Optional: an older copy of the
   * module may not have it.
   */
  idle?(): void;
  /**
   * Whether it will never run again: stopped for good, or not running under
   * a parent that will never run again. Optional, as `idle`.
   */
  over?(): boolean;
}

/** The key, the same symbol in every copy of this module. */
export const LINK: unique symbol = Symbol.for("@janus/supervisor.link");

/** The link of `value` when it is a supervisor of any copy; `undefined` otherwise. */
export function linkOf(value: unknown): Link | undefined {
  try {
    const link = (value as { [LINK]?: unknown })[LINK];
    return typeof link === "function" ? link.call(value) : undefined;
  } catch {
    // A service object with a hostile getter is no supervisor.
    return undefined;
  }
}
