import type { Alarm } from "./_alarm.ts";
import type { Link } from "./_link.ts";
import type { Input, Intent, Phase, Transition } from "./_lifecycle.ts";
import type { _ResolvedOptions } from "./options.ts";
import type { _RestartWindow } from "./restart_limit.ts";
import type { Service } from "./service.ts";

/**
 * One supervised service and everything its supervisor knows of it. Its
 * `phase` and `intent` are written in one place only: where the supervisor
 * commits what the transition table decided.
 */
export interface Child {
  readonly name: string;
  /**
   * The service object, or for a service added by name the bare `run`
   * function (no object made for it): a service object is never a function.
   */
  readonly service: Service | Service["run"];
  readonly options: _ResolvedOptions;
  /** Its supervisor, for the handlers of its runs and timers. */
  readonly owner: object;
  /** Set when the service is a supervisor (of this copy of the module or another). */
  readonly sub: Link | undefined;
  phase: Phase;
  intent: Intent | undefined;
  attempt: number;
  ready: boolean;
  /** The live run's controller, until the run settles (abandoned or not). */
  controller: AbortController | undefined;
  startedAt: number;
  /**
   * What watches its runs' promises while it has no history (bound functions),
   * made at its first run if it has none then.
   */
  onFulfilled: (() => void) | undefined;
  onRejected: ((error: unknown) => void) | undefined;
  /** What it gathers once a run ended or a call asked for it: none for a service that only runs. */
  past: Past | undefined;
}

/**
 * What a service gathers once it has a history: a run that ended, or a
 * `remove()` or `restart()` call. Made on first use, so that a service that
 * only runs costs none of it.
 */
export interface Past {
  /** Restarts made or scheduled. */
  restarts: number;
  /** Whether the restart now pending was counted (and announced). */
  counted: boolean;
  /** Restarts since the backoff was last reset: the n of the formula. */
  step: number;
  /** The times of recent restarts; made at the first restart. */
  window: _RestartWindow | undefined;
  /** Whether `lastError` is set: a run failed, or it gave up. */
  failed: boolean;
  /** What the last failed run threw, or the `RestartLimitError` it gave up with. */
  lastError: unknown;
  /** The pending restart's timer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The delay of the restart last scheduled, for its `restart` event. */
  delay: number;
  failures: number;
  completions: number;
  giveups: number;
  /** When the last run ended (`Date.now()`), if one did. */
  lastExitAt: number | undefined;
  /** `restart()` calls waiting for the next run to begin. */
  restarters: { resolve(): void; reject(error: Error): void }[] | undefined;
  /** `remove()` calls waiting for the service to be forgotten. */
  removers: (() => void)[] | undefined;
  /** What its runs' promises and its restart timers call once it has a history: closures, made together. */
  onFulfilled: (() => void) | undefined;
  onRejected: ((error: unknown) => void) | undefined;
  onTimer: (() => void) | undefined;
}

/** The history of `child`, made when first needed. */
export function pastOf(child: Child): Past {
  return child.past ??= {
    restarts: 0,
    counted: false,
    step: 0,
    window: undefined,
    failed: false,
    lastError: undefined,
    timer: undefined,
    delay: 0,
    failures: 0,
    completions: 0,
    giveups: 0,
    lastExitAt: undefined,
    restarters: undefined,
    removers: undefined,
    onFulfilled: undefined,
    onRejected: undefined,
    onTimer: undefined,
  };
}

/** What the startup, the shutdown and the group restarts use of their supervisor. */
export interface Host {
  readonly name: string;
  readonly alarm: Alarm<object>;
  /** The children, in the order they were added. */
  children(): IterableIterator<Child>;
  /**
   * Asks the transition table what `input` does to `child`, commits it and
   * carries out its effects. `reason`: the abort reason, for an input that
   * aborts; `until`: the latest end of the wait for the aborted run.
   */
  apply(child: Child, input: Input, reason?: unknown, until?: number): Transition | undefined;
  /**
   * Makes the wait for `child`'s aborted run end by `until` at the latest (a
   * child supervisor is told it as its deadline).
   */
  bound(child: Child, until: number): void;
  /** Runs `step` once the current change is done, after the calls queued before it. */
  next(step: () => void): void;
  /**
   * Records `count` restarts against the supervisor's intensity; `false`
   * (and the supervisor fails, `trigger`'s error its cause) when they would
   * exceed it.
   */
  admit(count: number, trigger: Child): boolean;
  /** Whether calls made by user code wait in the mailbox. */
  queued(): boolean;
}
