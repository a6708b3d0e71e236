import type { RestartLimitError } from "./errors.ts";

/**
 * How a run ended: it returned or resolved (`completed`), threw or rejected
 * (`failed`), or settled after the supervisor aborted its signal
 * (`stopped`).
 */
export type ExitOutcome = "completed" | "failed" | "stopped";

/**
 * Fired when a run of a service begins, just before `run` is called.
 *
 * @example Logging starts
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("start", (event) => {
 *   console.log(`${event.service} run #${event.attempt}`);
 * });
 * ```
 */
export class StartEvent extends Event {
  /** The name of the service. */
  readonly service: string;
  /** Which run this is: 1 for the first, one more per restart. */
  readonly attempt: number;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param init `attempt`: which run this is.
   */
  constructor(service: string, init: { readonly attempt: number }) {
    super("start");
    this.service = service;
    this.attempt = init.attempt;
  }
}

/**
 * Fired when a run of a service settles.
 *
 * @example Logging failures
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("exit", (event) => {
 *   if (event.outcome === "failed") console.error(event.service, event.error);
 * });
 * ```
 */
export class ExitEvent extends Event {
  /** The name of the service. */
  readonly service: string;
  /** Which run ended. */
  readonly attempt: number;
  /** How it ended. */
  readonly outcome: ExitOutcome;
  /**
   * What the run threw or rejected with, when it did (a `stopped` run that
   * rejected with its signal's reason carries that reason).
   */
  // `declare`: no field at all unless the run threw, so `"error" in event`
  // tells a run that threw `undefined` from one that did not throw.
  declare readonly error?: unknown;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param init `attempt`: which run ended; `outcome`: how; `error`, present
   * only if the run threw: what it threw.
   */
  constructor(
    service: string,
    init: { readonly attempt: number; readonly outcome: ExitOutcome; readonly error?: unknown },
  ) {
    super("exit");
    this.service = service;
    this.attempt = init.attempt;
    this.outcome = init.outcome;
    if ("error" in init) (this as { error?: unknown }).error = init.error;
  }
}

/**
 * Fired when a restart is scheduled, before the backoff delay starts.
 *
 * @example Reading the backoff schedule
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("restart", (event) => {
 *   console.log(`${event.service} run #${event.attempt} in ${event.delay} ms`);
 * });
 * ```
 */
export class RestartEvent extends Event {
  /** The name of the service. */
  readonly service: string;
  /** The run that will start after the delay. */
  readonly attempt: number;
  /** The backoff delay, in whole milliseconds: what the timer waits. */
  readonly delay: number;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param init `attempt`: the run that will start; `delay`: in milliseconds.
   */
  constructor(service: string, init: { readonly attempt: number; readonly delay: number }) {
    super("restart");
    this.service = service;
    this.attempt = init.attempt;
    this.delay = init.delay;
  }
}

/**
 * Fired when a service reaches its restart limit and gives up; its state is
 * then `failed`.
 *
 * @example Alerting on a service that gave up
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("giveup", (event) => {
 *   console.error(event.error.message, event.error.cause);
 * });
 * ```
 */
export class GiveupEvent extends Event {
  /** The name of the service. */
  readonly service: string;
  /** Why: its `cause` is the error of the last run. */
  readonly error: RestartLimitError;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param init `error`: the error the service gave up with.
   */
  constructor(service: string, init: { readonly error: RestartLimitError }) {
    super("giveup");
    this.service = service;
    this.error = init.error;
  }
}

/**
 * Fired during `stop()` when a run did not settle within its `stopTimeout`
 * after its signal was aborted. The run is abandoned: a promise cannot be
 * killed.
 *
 * @example Reporting a service that ignores its signal
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("stoptimeout", (event) => {
 *   console.warn(`${event.service} did not stop in time`);
 * });
 * ```
 */
export class StopTimeoutEvent extends Event {
  /** The name of the service. */
  readonly service: string;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param _init Nothing more: the same shape as the other events.
   */
  constructor(service: string, _init?: object) {
    super("stoptimeout");
    this.service = service;
  }
}

/**
 * Fired when a run says it is ready, by calling `context.ready()`.
 *
 * @example Logging readiness
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.addEventListener("ready", (event) => console.log(`${event.service} is ready`));
 * ```
 */
export class ReadyEvent extends Event {
  /** The name of the service. */
  readonly service: string;
  /** Which run is ready. */
  readonly attempt: number;

  /**
   * Creates the event.
   *
   * @param service The name of the service.
   * @param init `attempt`: which run is ready.
   */
  constructor(service: string, init: { readonly attempt: number }) {
    super("ready");
    this.service = service;
    this.attempt = init.attempt;
  }
}

/**
 * Fired when a supervisor with `escalate: true` has stopped all its
 * children because one of them gave up or threw an `EscalateError`; its
 * `run()` (or `done`) then rejects with `error`.
 *
 * @example Exiting when the top-level supervisor escalates
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor({ escalate: true });
 * supervisor.addEventListener("escalate", (event) => {
 *   console.error(`${event.service} escalated:`, event.error);
 * });
 * ```
 */
export class EscalateEvent extends Event {
  /** The name of the child that caused the escalation. */
  readonly service: string;
  /** The error the supervisor fails with. */
  readonly error: unknown;

  /**
   * Creates the event.
   *
   * @param service The name of the child that caused it.
   * @param init `error`: the error the supervisor fails with.
   */
  constructor(service: string, init: { readonly error: unknown }) {
    super("escalate");
    this.service = service;
    this.error = init.error;
  }
}

/** The classes of the events a supervisor fires, by type, each built as `new Class(service, init)`. */
export const _CLASSES: Readonly<Record<string, new (service: string, init: never) => Event>> = {
  start: StartEvent,
  exit: ExitEvent,
  restart: RestartEvent,
  giveup: GiveupEvent,
  stoptimeout: StopTimeoutEvent,
  ready: ReadyEvent,
  escalate: EscalateEvent,
};

/**
 * The same event for a parent supervisor, with `prefix` before the service
 * name: an event's own fields are the init of its copy. Found by its type, so
 * an event from a child of another copy of this module (ESM, CommonJS) is
 * carried on as one of this copy's classes.
 */
export function _withPrefix(event: Event, prefix: string): Event | undefined {
  const Class = Object.hasOwn(_CLASSES, event.type) ? _CLASSES[event.type] : undefined;
  if (!Class) return undefined;
  return new Class(prefix + (event as Event & { service: string }).service, event as never);
}

/**
 * The events a {@linkcode Supervisor} fires, by type, for typed listeners.
 *
 * @example A typed listener
 * ```ts
 * import type { SupervisorEventMap } from "@janus/supervisor";
 *
 * function onRestart(event: SupervisorEventMap["restart"]) {
 *   console.log(event.delay);
 * }
 * ```
 */
export interface SupervisorEventMap {
  /** A run begins. */
  start: StartEvent;
  /** A run settled. */
  exit: ExitEvent;
  /** A restart was scheduled. */
  restart: RestartEvent;
  /** A service reached its restart limit. */
  giveup: GiveupEvent;
  /** A run did not stop within its `stopTimeout`. */
  stoptimeout: StopTimeoutEvent;
  /** A run called `context.ready()`. */
  ready: ReadyEvent;
  /** The supervisor stopped its children and fails, for its parent to decide. */
  escalate: EscalateEvent;
}
