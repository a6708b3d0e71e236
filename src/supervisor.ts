import { _backoffDelay } from "./backoff.ts";
import { DoNotRestartError, EscalateError, RestartLimitError } from "./errors.ts";
import {
  _withPrefix,
  EscalateEvent,
  ExitEvent,
  type ExitOutcome,
  GiveupEvent,
  ReadyEvent,
  RestartEvent,
  StartEvent,
  StopTimeoutEvent,
  type SupervisorEventMap,
} from "./events.ts";
import {
  _DEFAULTS,
  _invalid,
  type _ResolvedOptions,
  _resolveOptions,
  _validateOptions,
  _validatePolicy,
  type ServiceOptions,
  type Strategy,
  type SupervisorOptions,
} from "./options.ts";
import type { ServiceMetrics } from "./metrics.ts";
import { _RestartWindow } from "./restart_limit.ts";
import type { RestartPolicy, RunContext, Service } from "./service.ts";

/**
 * Where a service is in its life:
 *
 * - `running`: a run is live;
 * - `backing_off`: the run ended and a restart waits out its delay (or waits
 *   for its group to be restarted);
 * - `completed`: the run completed and the policy does not restart it;
 * - `failed`: the run failed and will not be restarted (policy `never`, a
 *   {@linkcode DoNotRestartError}, or the restart limit);
 * - `stopping`: the supervisor aborted the run and waits for it to settle (a
 *   run abandoned after its `stopTimeout` stays here until it settles);
 * - `stopped`: not started yet, or stopped.
 */
export type ServiceState =
  | "running"
  | "backing_off"
  | "completed"
  | "failed"
  | "stopping"
  | "stopped";

/**
 * Where a supervisor itself is in its life: `idle` before `start()` or
 * `run()`, `starting` while it starts its children, `running`, `stopping`
 * while it stops them, `stopped` afterwards, and `failed` after it escalated
 * or a service failed before it was ready.
 */
export type SupervisorState = "idle" | "starting" | "running" | "stopping" | "stopped" | "failed";

/**
 * A snapshot of one service, as {@linkcode Supervisor.status} reports it.
 */
export interface ServiceStatus {
  /** The service's name. */
  readonly name: string;
  /** Where the service is in its life. */
  readonly state: ServiceState;
  /** The number of the current or last run: 0 before the first. */
  readonly attempt: number;
  /** How many restarts have been made or scheduled. */
  readonly restarts: number;
  /** Whether the current run called `context.ready()`. */
  readonly ready: boolean;
  /**
   * What the last failed run threw, or the {@linkcode RestartLimitError} the
   * service gave up with. Absent while no run has failed.
   */
  readonly lastError?: unknown;
  /** For a child supervisor: the status of its own children. */
  readonly children?: ServiceStatus[];
}

/** What {@linkcode Supervisor.stop} reports, each list in stop order. */
export interface StopReport {
  /**
   * The services that were running or waiting to restart when the shutdown
   * began and are now at rest.
   */
  readonly stopped: string[];
  /**
   * The services whose run did not settle within its `stopTimeout` (or the
   * `shutdownTimeout`) after its signal was aborted, and was abandoned.
   */
  readonly timedOut: string[];
}

/** One supervised service and everything the supervisor knows of it. */
interface _Child {
  readonly name: string;
  readonly service: Service;
  readonly options: _ResolvedOptions;
  /** The times of recent restarts; made at the first restart. */
  window: _RestartWindow | undefined;
  state: ServiceState;
  attempt: number;
  restarts: number;
  /** Restarts since the backoff was last reset: the n of the formula. */
  backoffStep: number;
  lastError: { readonly error: unknown } | undefined;
  ready: boolean;
  /** The live run's controller; kept for an abandoned run until it settles. */
  controller: AbortController | undefined;
  /** Settles (never rejects) when the live run has settled and been handled. */
  settled: Promise<void> | undefined;
  startedAt: number;
  /** The pending restart's timer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Waits to be restarted with its group: its exits decide nothing. */
  grouped: boolean;
  /** The session the live run was launched in. */
  session: _Session | undefined;
  /** `start()` waits for this run to be ready: told how the wait ended. */
  readyWaiter: ((outcome: "ready" | "failed" | "stopped") => void) | undefined;
  removed: boolean;
  failures: number;
  completions: number;
  giveups: number;
  /** When the last run ended (`Date.now()`), if one did. */
  lastExitAt: number | undefined;
}

/** One `run()` of a supervisor: from starting its children to stopping them. */
interface _Session {
  /** No restart or start is made any more: the children are being stopped. */
  ending: boolean;
  /** Why it ends: the abort reason its children get. */
  reason: unknown;
  /** The reason came from this supervisor, not from its caller. */
  ownReason: boolean;
  /** Set when a child made it escalate. */
  escalation: { readonly service: string; readonly error: unknown } | undefined;
  /** Resolves when the session is told to end. */
  readonly ended: Promise<void>;
  end(reason: unknown, ownReason: boolean): void;
  /** The children whose pending restart was cancelled when it ended. */
  readonly cancelled: Set<_Child>;
  /** Waits to end when the session does; each removes itself when it ends first. */
  readonly cuts: Set<() => void>;
  /** The shutdown's report. */
  readonly report: Promise<StopReport>;
  setReport(report: Promise<StopReport>): void;
}

/** A new session; `onEnd` runs synchronously when it is told to end. */
function _newSession(onEnd: (session: _Session) => void): _Session {
  let ended!: () => void;
  let setReport!: (report: Promise<StopReport>) => void;
  const session: _Session = {
    ending: false,
    reason: undefined,
    ownReason: false,
    escalation: undefined,
    ended: new Promise<void>((resolve) => ended = resolve),
    end(reason, ownReason) {
      if (session.ending) return;
      session.ending = true;
      session.reason = reason;
      session.ownReason = ownReason;
      onEnd(session);
      for (const cut of session.cuts) cut();
      ended();
    },
    cancelled: new Set(),
    cuts: new Set(),
    report: new Promise<StopReport>((resolve) => setReport = resolve),
    setReport: (report) => setReport(report),
  };
  return session;
}

/** An abort reason the supervisor gives on its own: says why, and stays an `AbortError`. */
function _abortReason(message: string): DOMException {
  return new DOMException(message, "AbortError");
}

/**
 * Keeps long-running async services alive: starts each one, notices when
 * its run ends, restarts it as its policy says with exponential backoff up
 * to a restart limit, and stops them all gracefully, in reverse order, each
 * within its `stopTimeout`.
 *
 * A supervisor is itself a {@linkcode Service}, so supervisors nest into a
 * tree: add one to another and it is started, stopped and restarted as a
 * unit, with its events reaching the parent as `child/service`.
 *
 * Lifecycle events (`start`, `ready`, `exit`, `restart`, `giveup`,
 * `stoptimeout`, `escalate`) are dispatched on the supervisor, which is an
 * `EventTarget`. A listener that throws never changes what it does.
 *
 * @example Restarting a failing service with backoff
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ backoff: { initialDelay: 1, jitter: 0 } });
 * const delays: number[] = [];
 * supervisor.addEventListener("restart", (event) => delays.push(event.delay));
 *
 * let runs = 0;
 * let healthy!: () => void;
 * const isHealthy = new Promise<void>((resolve) => healthy = resolve);
 * supervisor.add("flaky", async (signal) => {
 *   if (++runs < 4) throw new Error(`run ${runs} failed`);
 *   healthy();
 *   await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
 * });
 *
 * await supervisor.start();
 * await isHealthy;
 * assert.deepEqual(delays, [1, 2, 4]);
 * assert.deepEqual(await supervisor.stop(), { stopped: ["flaky"], timedOut: [] });
 * ```
 */
export class Supervisor extends EventTarget implements Service {
  /** The supervisor's name, as its parent knows it. */
  readonly name: string;
  /**
   * A supervisor has no restart policy of its own: as a child it is
   * restarted as its parent's options say (`"on_failure"` by default), so a
   * subtree that escalates is restarted and one that stops is not.
   */
  readonly restartPolicy?: RestartPolicy;
  readonly #options: SupervisorOptions;
  readonly #strategy: Strategy;
  readonly #escalate: boolean;
  readonly #shutdownTimeout: number;
  readonly #random: () => number;
  readonly #children = new Map<string, _Child>();
  /** The options of services added without their own, by their own policy. */
  readonly #resolved = new Map<string, _ResolvedOptions>();
  /** The event types someone listens to here; a type once listened to stays. */
  readonly #listened = new Set<string>();
  #parent: Supervisor | undefined;
  #state: SupervisorState = "idle";
  #session: _Session | undefined;
  /** Group restarts, one at a time, as OTP's supervisor handles one exit at a time. */
  #groupRestarts: Promise<void> = Promise.resolve();
  /** The timer of the group restart waiting out its delay, and who it starts. */
  #groupTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #groupPending = new Set<_Child>();
  /** Children restart() is stopping in order to start them again. */
  readonly #restarting = new Set<_Child>();
  /** Set once `start()` was called: what it returns. */
  #startup: Promise<void> | undefined;
  #stopped = false;
  #stopping: Promise<StopReport> | undefined;
  /** Set by a parent that is shutting down: this shutdown must end by then. */
  #deadlineAt: number | undefined;
  /** The deadline of the shutdown under way. */
  #deadline: _Deadline | undefined;
  #lastReport: Promise<StopReport> | undefined;
  readonly #done: Promise<void>;
  #settleDone!: (error?: { error: unknown }) => void;

  /**
   * Creates a supervisor with defaults for the services it will hold.
   *
   * @param options Defaults for every service, and the source of jitter.
   * @throws {TypeError | RangeError} An option has the wrong type or value;
   * the message names it and shows the value.
   */
  constructor(options: SupervisorOptions = {}) {
    super();
    const where = "create supervisor";
    _validateOptions(where, options);
    // Copied, so a caller mutating its object later changes nothing here.
    this.#options = { ...options, ...(options.backoff ? { backoff: { ...options.backoff } } : {}) };
    _resolveOptions(where, this.#options, {}, undefined);
    this.name = options.name ?? _DEFAULTS.name;
    this.#strategy = options.strategy ?? _DEFAULTS.strategy;
    this.#escalate = options.escalate ?? _DEFAULTS.escalate;
    this.#shutdownTimeout = options.shutdownTimeout ?? _DEFAULTS.shutdownTimeout;
    this.#random = options.random ?? (() => Math.random());
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settleDone = (error) => error ? reject(error.error) : resolve();
    });
    // Nobody has to await `done`: its rejection is never reported unhandled.
    this.#done.catch(() => {});
  }

  /**
   * Settles when the supervisor started with `start()` is over: resolves
   * after `stop()`, rejects with the error when it escalated or a service
   * failed before it was ready. Exit non-zero on a rejection and let a
   * process manager restart the program. Never reported as an unhandled
   * rejection when nobody awaits it.
   *
   * @example Exiting non-zero on escalation
   * ```ts ignore
   * import { Supervisor } from "@janus/supervisor";
   *
   * const supervisor = new Supervisor({ escalate: true });
   * await supervisor.start();
   * supervisor.done.catch((error) => {
   *   console.error(error);
   *   Deno.exit(1);
   * });
   * ```
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Where the supervisor is in its life. */
  get state(): SupervisorState {
    return this.#state;
  }

  /**
   * Adds a service object. While the supervisor runs, the service starts at
   * once.
   *
   * @param service The service; the same object is run on every restart. A
   * `Supervisor` makes a tree.
   * @param options Overrides of the supervisor's options for this service.
   * @returns The supervisor, for chaining.
   * @throws {TypeError | RangeError} The service or an option is invalid, or
   * the name is taken; nothing is registered.
   * @throws {Error} The supervisor is stopped, or the service is a supervisor
   * that already has a parent, is running, or is this one or an ancestor.
   */
  add(service: Service, options?: ServiceOptions): this;
  /**
   * Adds a service given by its name and its `run` function. While the
   * supervisor runs, the service starts at once.
   *
   * @param name A unique, non-empty name.
   * @param run Does the service's work until it is done, fails, or `signal`
   * aborts.
   * @param options Overrides of the supervisor's options for this service.
   * @returns The supervisor, for chaining.
   * @throws {TypeError | RangeError} An argument or option is invalid, or the
   * name is taken; nothing is registered.
   * @throws {Error} The supervisor is stopped.
   */
  add(name: string, run: Service["run"], options?: ServiceOptions): this;
  add(
    serviceOrName: Service | string,
    runOrOptions?: Service["run"] | ServiceOptions,
    maybeOptions?: ServiceOptions,
  ): this {
    let service: Service;
    let options: ServiceOptions | undefined;
    if (typeof serviceOrName === "string") {
      const where = `add service ${JSON.stringify(serviceOrName)}`;
      if (typeof runOrOptions !== "function") {
        _invalid(where, "run", "a function", runOrOptions, "type");
      }
      service = { name: serviceOrName, run: runOrOptions };
      options = maybeOptions;
    } else {
      if (typeof serviceOrName !== "object" || serviceOrName === null) {
        _invalid("add service", "service", "a Service object or a name", serviceOrName, "type");
      }
      service = serviceOrName;
      options = runOrOptions as ServiceOptions | undefined;
    }
    const name: unknown = service.name;
    if (typeof name !== "string") _invalid("add service", "name", "a string", name, "type");
    if (name === "") _invalid("add service", "name", "a non-empty string", name, "range");
    const where = `add service ${JSON.stringify(name)}`;
    if (typeof service.run !== "function") {
      _invalid(where, "run", "a function", service.run, "type");
    }
    if (this.#stopped) throw new Error(`Cannot ${where} as the supervisor is stopped`);
    if (this.#children.has(name)) {
      _invalid(where, "name", "unique within the supervisor", name, "range");
    }
    _validatePolicy(where, "service.restartPolicy", service.restartPolicy);
    _validateOptions(where, options);
    if (service instanceof Supervisor) {
      if (service === this || service.#isAncestorOf(this)) {
        throw new Error(`Cannot ${where} as it is this supervisor or its ancestor`);
      }
      if (service.#parent) throw new Error(`Cannot ${where} as it already has a parent supervisor`);
      if (service.#session || service.#stopped) {
        throw new Error(`Cannot ${where} as it was started or stopped on its own`);
      }
      // OTP gives a child supervisor all the time its own shutdown takes.
      options = { stopTimeout: service.#shutdownTimeout, ...options };
    }
    // Services added without options of their own share one resolved object.
    const resolved = options === undefined || Object.keys(options).length === 0
      ? this.#sharedOptions(service.restartPolicy)
      : _resolveOptions(where, this.#options, options, service.restartPolicy);
    const child: _Child = {
      name,
      service,
      options: resolved,
      window: undefined,
      state: "stopped",
      attempt: 0,
      restarts: 0,
      backoffStep: 0,
      lastError: undefined,
      ready: false,
      controller: undefined,
      settled: undefined,
      startedAt: 0,
      timer: undefined,
      grouped: false,
      readyWaiter: undefined,
      session: undefined,
      removed: false,
      failures: 0,
      completions: 0,
      giveups: 0,
      lastExitAt: undefined,
    };
    if (service instanceof Supervisor) service.#parent = this;
    this.#children.set(name, child);
    if (this.#session && !this.#session.ending && this.#state !== "idle") this.#launch(child);
    return this;
  }

  /**
   * Starts every service, in the order they were added; services added later
   * start as they are added. A service added with `waitReady` must call
   * `context.ready()` before the next one starts. Calling it again returns
   * the same promise.
   *
   * @returns A promise that resolves once every service has started (and
   * every `waitReady` service is ready).
   * @throws {Error} The supervisor is stopped or running as a child, or a
   * `waitReady` service failed (or timed out) before it was ready; the
   * services already started are stopped first.
   */
  start(): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(new Error(`Cannot start supervisor '${this.name}' as it is stopped`));
    }
    if (this.#startup) return this.#startup;
    if (this.#session) {
      return Promise.reject(
        new Error(`Cannot start supervisor '${this.name}' as it is running as a child`),
      );
    }
    let started!: () => void;
    let failed!: (error: unknown) => void;
    this.#startup = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    // Its own run, never aborted: stop() ends it.
    this.run(new AbortController().signal, { attempt: 1, ready: () => started() }).then(
      () => {
        started(); // stopped while starting: there is nothing left to start
        this.#stopped = true;
        this.#settleDone();
      },
      (error: unknown) => {
        failed(error);
        this.#stopped = true;
        this.#settleDone({ error });
      },
    );
    return this.#startup;
  }

  /**
   * Stops the supervisor for good. Pending restarts are cancelled at once;
   * then, one at a time and in reverse order of adding, each live run's
   * signal is aborted with `reason` and the run is awaited for up to its
   * `stopTimeout`, all within `shutdownTimeout`. A run still pending then is
   * abandoned, reported in `timedOut`, and a `stoptimeout` event fires.
   *
   * Calling it again returns the same promise. Afterwards `add()` and
   * `start()` throw.
   *
   * @param reason The abort reason every run's signal gets, unchanged.
   * Default: a `DOMException` named `AbortError`.
   * @returns What was stopped and what was abandoned. It never rejects.
   */
  stop(reason?: unknown): Promise<StopReport> {
    return this.#stopping ??= this.#stop(reason);
  }

  async #stop(reason: unknown): Promise<StopReport> {
    this.#stopped = true;
    const session = this.#session;
    if (!session) {
      if (this.#state === "idle") this.#state = "stopped";
      if (!this.#startup) this.#settleDone();
      return this.#lastReport ?? { stopped: [], timedOut: [] };
    }
    if (reason === undefined) {
      session.end(_abortReason(`Supervisor '${this.name}' is stopping`), true);
    } else {
      session.end(reason, false);
    }
    return await session.report;
  }

  /**
   * Runs the supervisor as a service of another one (or of anything that
   * drives a {@linkcode Service}): starts the children, resolves once
   * `signal` aborted and they are stopped, and rejects when the supervisor
   * escalates or a `waitReady` child failed before it was ready. It may be
   * run again after it settled: each run starts the children afresh.
   *
   * @param signal Aborting it stops the children, with its reason.
   * @param context Its `ready()` is called once every child has started.
   * @returns A promise that settles when the children are stopped.
   */
  async run(signal: AbortSignal, context?: RunContext): Promise<void> {
    if (this.#session) throw new Error(`Cannot run supervisor '${this.name}' as it is running`);
    if (this.#stopped) throw new Error(`Cannot run supervisor '${this.name}' as it is stopped`);
    // A hurry that came after the last shutdown ended is not this one's.
    this.#deadlineAt = undefined;
    const session = _newSession((ending) => {
      // Pending restarts, a group's included, are cancelled the moment the
      // session ends; no child waits for a group any more.
      clearTimeout(this.#groupTimer);
      this.#groupTimer = undefined;
      this.#groupPending.clear();
      for (const child of this.#children.values()) {
        child.grouped = false;
        if (child.state !== "backing_off") continue;
        this.#cancelRestart(child);
        child.state = "stopped";
        ending.cancelled.add(child);
      }
    });
    this.#session = session;
    const onAbort = () => session.end(signal.reason, false);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    let startError: { error: unknown } | undefined;
    try {
      this.#state = "starting";
      for (const child of this.#children.values()) {
        child.backoffStep = 0;
        child.window?.clear();
      }
      startError = await this.#startChildren(session);
      if (!startError) {
        // Every child was started (and was ready, where it had to be), even
        // if one of them has already made the session end.
        context?.ready();
        if (!session.ending) this.#state = "running";
        await session.ended;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (startError) session.end(_abortReason(`Supervisor '${this.name}' failed to start`), true);
    this.#state = "stopping";
    const report = this.#shutdown(session);
    session.setReport(report);
    this.#lastReport = report;
    await report;
    this.#session = undefined;
    const failure = startError ??
      (session.escalation ? { error: session.escalation.error } : undefined);
    this.#state = failure ? "failed" : "stopped";
    if (session.escalation) {
      this.#emit(new EscalateEvent(session.escalation.service, session.escalation));
    }
    if (failure) throw failure.error;
  }

  /**
   * Stops one service (its signal aborted, awaited up to its `stopTimeout`)
   * and forgets it.
   *
   * @param name The service's name.
   * @returns A promise that resolves once the service is stopped or
   * abandoned, and forgotten.
   * @throws {RangeError} No service has that name.
   */
  async remove(name: string): Promise<void> {
    const child = this.#child("remove", name);
    child.removed = true;
    child.grouped = false;
    this.#groupPending.delete(child);
    this.#cancelRestart(child);
    const session = this.#session;
    const outcome = await this.#stopChild(child, _abortReason(`Service '${name}' was removed`));
    // Cut short by a shutdown, which stops the run within its deadline.
    if (outcome === "cut" && session) await session.report;
    if (this.#children.get(name) === child) this.#children.delete(name);
    if (child.service instanceof Supervisor) child.service.#parent = undefined;
  }

  /**
   * Restarts one service at once: aborts its current run, waits for it (up
   * to its `stopTimeout`), and starts a new run without backoff. A pending
   * restart is cancelled and made at once. Counted as a restart, not a
   * failure: neither the backoff nor the restart limit moves.
   *
   * @param name The service's name.
   * @returns A promise that resolves once the new run has begun.
   * @throws {RangeError} No service has that name.
   * @throws {Error} The supervisor is not running, or the current run did not
   * stop within its `stopTimeout`.
   */
  async restart(name: string): Promise<void> {
    const child = this.#child("restart", name);
    const session = this.#session;
    if (!session || session.ending) {
      throw new Error(`Cannot restart service '${name}' as the supervisor is not running`);
    }
    // A restart already scheduled (on its timer, or with its group) was
    // counted when it was; this one replaces it.
    const counted = child.timer !== undefined || this.#groupPending.delete(child);
    child.grouped = false;
    this.#cancelRestart(child);
    this.#restarting.add(child);
    try {
      const stopped = await this.#stopChild(
        child,
        _abortReason(`Service '${name}' is being restarted`),
      );
      if (session.ending) {
        throw new Error(`Cannot restart service '${name}' as the supervisor is stopping`);
      }
      if (stopped === "timeout") {
        throw new Error(
          `Cannot restart service '${name}' as its run did not stop within its stopTimeout`,
        );
      }
      if (child.removed || child.controller) return;
      if (!counted) child.restarts++;
      this.#emit(new RestartEvent(name, { attempt: child.attempt + 1, delay: 0 }));
      this.#launch(child);
    } finally {
      this.#restarting.delete(child);
    }
  }

  /**
   * Counts and gauges per service for monitoring, a child supervisor's
   * children included under their path (`feeds/binance`).
   * {@linkcode toPrometheus} renders them for a scrape.
   *
   * @returns A fresh snapshot, in the order services were added, each child
   * supervisor followed by its children.
   */
  metrics(): ServiceMetrics[] {
    const now = Date.now();
    const result: ServiceMetrics[] = [];
    for (const child of this.#children.values()) {
      const up = child.controller !== undefined;
      result.push({
        name: child.name,
        state: child.state,
        restarts: child.restarts,
        failures: child.failures,
        completions: child.completions,
        giveups: child.giveups,
        up,
        uptime: up ? now - child.startedAt : 0,
        ...(child.lastExitAt === undefined ? {} : { lastExitAt: child.lastExitAt }),
        ready: child.ready,
        waitReady: child.options.waitReady !== false,
      });
      if (child.service instanceof Supervisor) {
        for (const nested of child.service.metrics()) {
          result.push({ ...nested, name: `${child.name}/${nested.name}` });
        }
      }
    }
    return result;
  }

  /**
   * Reports every service, in the order they were added; a child supervisor
   * carries its children's status too.
   *
   * @returns A fresh snapshot; changing it changes nothing.
   */
  status(): ServiceStatus[] {
    const result: ServiceStatus[] = [];
    for (const child of this.#children.values()) {
      const status: ServiceStatus = {
        name: child.name,
        state: child.state,
        attempt: child.attempt,
        restarts: child.restarts,
        ready: child.ready,
        ...(child.lastError ? { lastError: child.lastError.error } : {}),
        ...(child.service instanceof Supervisor ? { children: child.service.status() } : {}),
      };
      result.push(status);
    }
    return result;
  }

  /**
   * Stops the supervisor, for `await using`.
   *
   * @returns A promise that resolves once `stop()` has.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Listens for a lifecycle event, typed by its name.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As for `EventTarget.addEventListener`.
   */
  override addEventListener<K extends keyof SupervisorEventMap>(
    type: K,
    listener:
      | ((this: Supervisor, event: SupervisorEventMap[K]) => void)
      | { handleEvent(event: SupervisorEventMap[K]): void }
      | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens for any event.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As for `EventTarget.addEventListener`.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (listener) this.#listened.add(type);
    super.addEventListener(type, listener, options);
  }

  /**
   * Stops listening for a lifecycle event.
   *
   * @param type The event's name.
   * @param listener The listener given to `addEventListener`.
   * @param options As for `EventTarget.removeEventListener`.
   */
  override removeEventListener<K extends keyof SupervisorEventMap>(
    type: K,
    listener:
      | ((this: Supervisor, event: SupervisorEventMap[K]) => void)
      | { handleEvent(event: SupervisorEventMap[K]): void }
      | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Stops listening for any event.
   *
   * @param type The event's name.
   * @param listener The listener given to `addEventListener`.
   * @param options As for `EventTarget.removeEventListener`.
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  /**
   * Whether an event of `type` would reach a listener, here or above. Events
   * nobody listens to are not built: a crash loop pays nothing for them.
   */
  #wants(type: string): boolean {
    const parent = this.#parent;
    return this.#listened.has(type) || (parent !== undefined && parent.#wants(type));
  }

  /** Dispatches an event here, then on the parent as `name/service`. */
  #emit(event: Event): void {
    try {
      this.dispatchEvent(event);
    } catch {
      // Deno, Node and Bun report a listener's error themselves and never
      // throw here; an `EventTarget` that does must not derail a restart.
    }
    const parent = this.#parent;
    if (parent) {
      const forwarded = _withPrefix(event, `${this.name}/`);
      if (forwarded) parent.#emit(forwarded);
    }
  }

  #sharedOptions(policy: RestartPolicy | undefined): _ResolvedOptions {
    const key = policy ?? "";
    let resolved = this.#resolved.get(key);
    if (!resolved) {
      resolved = Object.freeze(_resolveOptions("add service", this.#options, {}, policy));
      this.#resolved.set(key, resolved);
    }
    return resolved;
  }

  #isAncestorOf(other: Supervisor): boolean {
    for (let s = other.#parent; s; s = s.#parent) if (s === this) return true;
    return false;
  }

  #child(action: string, name: string): _Child {
    const child = this.#children.get(name);
    if (!child) {
      throw new RangeError(
        `Cannot ${action} service ${JSON.stringify(name)} as no service has that name`,
      );
    }
    return child;
  }

  /** Starts the children in order, waiting for those with `waitReady`. */
  async #startChildren(session: _Session): Promise<{ error: unknown } | undefined> {
    for (const child of [...this.#children.values()]) {
      if (session.ending) return undefined;
      if (child.removed) continue;
      const waitReady = child.options.waitReady;
      // A run already live (restart() was called, or a run abandoned by the
      // previous session that starts again when it settles) is not launched
      // again, but a waitReady one is still waited for.
      const live = child.controller !== undefined;
      if (waitReady === false) {
        if (!live) this.#launch(child);
        continue;
      }
      const until = waitReady === true ? Infinity : Date.now() + waitReady;
      let outcome: "ready" | "failed" | "stopped" | "timeout";
      let launch = !live;
      do {
        // A run aborted on the supervisor's own account (its group restarts,
        // restart()) is not ready: wait for the run that follows it.
        outcome = await new Promise((resolve) => {
          const done = (outcome: "ready" | "failed" | "stopped" | "timeout") => {
            clearTimeout(timer);
            session.cuts.delete(cut);
            child.readyWaiter = undefined;
            resolve(outcome);
          };
          const cut = () => done("stopped");
          child.readyWaiter = done;
          session.cuts.add(cut);
          const timer = until === Infinity
            ? undefined
            : setTimeout(() => done("timeout"), Math.max(0, until - Date.now()));
          if (launch) this.#launch(child);
        });
        launch = false;
      } while (
        outcome === "stopped" && !session.ending && !child.removed &&
        // Only a run that will be followed by another is waited past.
        ((child.grouped && child.options.restartPolicy !== "never") ||
          this.#restarting.has(child) || child.controller !== undefined)
      );
      if (outcome === "ready" || outcome === "stopped") continue;
      const why = outcome === "timeout"
        ? `was not ready within ${waitReady} ms`
        : "failed before it was ready";
      return {
        error: new Error(
          `Cannot start supervisor '${this.name}' as service '${child.name}' ${why}`,
          outcome === "failed" && child.lastError ? { cause: child.lastError.error } : undefined,
        ),
      };
    }
    return undefined;
  }

  /** Begins a run. Runs inside the restart timer's callback, not after it. */
  #launch(child: _Child): void {
    const controller = new AbortController();
    const attempt = ++child.attempt;
    child.timer = undefined;
    child.grouped = false;
    child.ready = false;
    child.controller = controller;
    child.session = this.#session;
    child.state = "running";
    child.startedAt = Date.now();
    if (this.#wants("start")) this.#emit(new StartEvent(child.name, { attempt }));
    const context: RunContext = {
      attempt,
      ready: () => {
        if (child.controller !== controller || child.ready || controller.signal.aborted) return;
        child.ready = true;
        this.#emit(new ReadyEvent(child.name, { attempt }));
        child.readyWaiter?.("ready");
      },
    };
    let result: unknown;
    try {
      result = child.service.run(controller.signal, context);
    } catch (error) {
      result = Promise.reject(error);
    }
    child.settled = Promise.resolve(result).then(
      () => this.#exit(child, controller, attempt, undefined),
      (error: unknown) => this.#exit(child, controller, attempt, { error }),
    );
  }

  /** Handles a settled run: decides the next state, then tells listeners. */
  #exit(
    child: _Child,
    controller: AbortController,
    attempt: number,
    thrown: { readonly error: unknown } | undefined,
  ): void {
    if (child.controller !== controller) return;
    child.controller = undefined;
    child.settled = undefined;
    child.ready = false;
    const name = child.name;
    const now = Date.now();
    child.lastExitAt = now;
    const policy = child.options.restartPolicy;
    const session = this.#session;
    const waiter = child.readyWaiter;
    let outcome: ExitOutcome;
    let next: Event | undefined;
    // A run abandoned by an earlier session of this supervisor (stopped, then
    // run() again) starts afresh as soon as it settles.
    const stale = session !== undefined && !session.ending && child.session !== session &&
      !child.removed;
    if (controller.signal.aborted) {
      outcome = "stopped";
      child.state = child.grouped && policy !== "never" && session && !session.ending
        ? "backing_off"
        : "stopped";
    } else {
      outcome = thrown ? "failed" : "completed";
      if (thrown) {
        child.lastError = thrown;
        child.failures++;
      } else {
        child.completions++;
      }
      const restart = !(thrown?.error instanceof DoNotRestartError) &&
        (policy === "always" || (policy === "on_failure" && thrown !== undefined));
      if (waiter && thrown) {
        // Failed before it was ready: `start()` fails, nothing restarts.
        child.state = "failed";
      } else if (this.#escalate && thrown?.error instanceof EscalateError) {
        child.grouped = false;
        child.state = "failed";
        this.#escalation(session, name, thrown.error);
      } else if (child.grouped && restart && session && !session.ending) {
        // Its group restart is under way: it starts again with the group.
        child.state = "backing_off";
      } else if (!restart) {
        child.grouped = false;
        child.state = thrown ? "failed" : "completed";
      } else if (!session || session.ending) {
        // Shutting down: the restart the policy asks for is not made.
        child.state = "stopped";
      } else if (
        !(child.window ??= new _RestartWindow(
          child.options.maxRestarts,
          child.options.restartWindow,
        ))
          .admit(now)
      ) {
        const error = new RestartLimitError(
          name,
          child.restarts,
          thrown ? { cause: thrown.error } : undefined,
        );
        child.lastError = { error };
        child.state = "failed";
        child.giveups++;
        next = new GiveupEvent(name, { error });
        if (this.#escalate) this.#escalation(session, name, error);
      } else {
        if (now - child.startedAt >= child.options.resetAfter) child.backoffStep = 0;
        const delay = _backoffDelay(child.backoffStep, child.options, this.#random());
        child.backoffStep++;
        child.state = "backing_off";
        if (this.#strategy === "one_for_one") {
          child.restarts++;
          // The timer is set before any listener runs, so a listener that
          // calls `stop()` finds it and cancels it.
          child.timer = setTimeout(() => this.#launch(child), _whole(delay));
          if (this.#wants("restart")) {
            next = new RestartEvent(name, { attempt: attempt + 1, delay });
          }
        } else {
          this.#restartGroup(session, child, delay);
        }
      }
    }
    if (this.#wants("exit")) {
      this.#emit(
        new ExitEvent(name, thrown ? { attempt, outcome, ...thrown } : { attempt, outcome }),
      );
    }
    if (next) this.#emit(next);
    if (stale && controller.signal.aborted && !child.grouped && !child.controller) {
      this.#launch(child);
    }
    waiter?.(outcome === "completed" ? "ready" : outcome);
  }

  #escalation(session: _Session | undefined, service: string, error: unknown): void {
    if (!session || session.ending) return;
    session.escalation = { service, error };
    session.end(_abortReason(`Supervisor '${this.name}' is escalating: '${service}' failed`), true);
  }

  /**
   * Restarts `trigger` with its group (`one_for_all`: every child;
   * `rest_for_one`: it and the children added after it): stops the others in
   * reverse order, waits out the trigger's delay on one timer, then starts
   * them all in order. Children with policy `never` are stopped, not
   * restarted.
   */
  #restartGroup(session: _Session, trigger: _Child, delay: number): void {
    const all = [...this.#children.values()];
    // Members: the trigger, the siblings its strategy names that are live or
    // waiting, and any sibling already waiting for an earlier group.
    const members = (this.#strategy === "one_for_all" ? all : all.slice(all.indexOf(trigger)))
      .filter((c) =>
        c === trigger || c.grouped || c.state === "running" || c.state === "backing_off"
      );
    for (const member of members) member.grouped = true;
    this.#groupRestarts = this.#groupRestarts.then(async () => {
      const reason = _abortReason(`Restarting with sibling '${trigger.name}' (${this.#strategy})`);
      for (const member of [...members].reverse()) {
        if (session.ending) return;
        if (member === trigger || member.removed || !member.grouped) continue;
        this.#cancelRestart(member);
        const stopped = await this.#stopChild(member, reason);
        if (stopped === "timeout") member.grouped = false; // abandoned: left out of the restart
      }
      if (session.ending) return;
      // An earlier group still waiting out its delay is merged into this one.
      clearTimeout(this.#groupTimer);
      const counted = new Set(this.#groupPending); // counted by the earlier group
      for (const member of members) this.#groupPending.add(member);
      const starting = [...this.#children.values()].filter((m) =>
        this.#groupPending.has(m) && m.grouped && !m.removed && !m.controller &&
        m.options.restartPolicy !== "never"
      );
      for (const member of this.#groupPending) {
        if (member.grouped && !starting.includes(member)) {
          member.grouped = false;
          if (member.state === "backing_off") member.state = "stopped";
        }
      }
      this.#groupPending.clear();
      for (const member of starting) this.#groupPending.add(member);
      for (const member of starting) if (!counted.has(member)) member.restarts++;
      this.#groupTimer = setTimeout(() => {
        this.#groupTimer = undefined;
        const pending = [...this.#groupPending];
        this.#groupPending.clear();
        for (const member of pending) {
          // restart() or remove() may have taken a member out meanwhile.
          if (!session.ending && member.grouped && !member.controller) this.#launch(member);
        }
      }, _whole(delay));
      for (const member of starting) {
        this.#emit(new RestartEvent(member.name, { attempt: member.attempt + 1, delay }));
      }
    });
  }

  /** Cancels a pending restart, if any. */
  #cancelRestart(child: _Child): void {
    if (child.timer !== undefined) {
      clearTimeout(child.timer);
      child.timer = undefined;
      if (child.state === "backing_off") child.state = "stopped";
    }
  }

  /**
   * Aborts a live run with `reason` (unless already aborted) and waits for it
   * up to its `stopTimeout` (and `deadline`). Fires `stoptimeout` and returns
   * `false` when the run is abandoned.
   */
  async #stopChild(
    child: _Child,
    reason: unknown,
    deadline?: _Deadline,
  ): Promise<"stopped" | "timeout" | "cut"> {
    const { controller, settled } = child;
    if (!controller || !settled) return "stopped";
    child.state = "stopping";
    // Outside a shutdown, the wait ends when the session does: the shutdown
    // then takes the run over, within its own deadline.
    const session = deadline ? undefined : this.#session;
    const service = child.service;
    const until = Math.min(Date.now() + child.options.stopTimeout, deadline?.at ?? Infinity);
    if (service instanceof Supervisor) {
      // A child supervisor bounds its own shutdown, so it is told the
      // deadline and awaited: no timer here races its own.
      service.#hurry(until);
      if (!controller.signal.aborted) controller.abort(reason);
      if (deadline) deadline.awaiting = service;
      const outcome = await _settlesWithin(settled, Infinity, session);
      if (deadline) deadline.awaiting = undefined;
      return outcome;
    }
    if (!controller.signal.aborted) controller.abort(reason);
    const outcome = deadline
      ? (await deadline.wait(settled, until) ? "stopped" : "timeout")
      : await _settlesWithin(settled, child.options.stopTimeout, session);
    if (outcome === "timeout") this.#emit(new StopTimeoutEvent(child.name, {}));
    return outcome;
  }

  /**
   * Stops every child: pending restarts at once, then live runs one at a
   * time in reverse order, within `shutdownTimeout`. At the deadline the
   * runs not yet reached are aborted together and given one timer tick.
   */
  async #shutdown(session: _Session): Promise<StopReport> {
    const active = [...this.#children.values()].reverse()
      .filter((child) => session.cancelled.has(child) || child.controller);
    // Lets a run being launched right now (stop() called from a `start`
    // listener or from inside `run`) finish launching first.
    await Promise.resolve();
    const deadline = _deadline(
      Date.now() + this.#shutdownTimeout,
      (child, at) => child.#hurry(at),
    );
    if (this.#deadlineAt !== undefined) deadline.moveTo(this.#deadlineAt);
    this.#deadlineAt = undefined;
    this.#deadline = deadline;
    // A reason this supervisor made up says "stopping"; at the deadline it
    // says so. A caller's reason reaches every run unchanged.
    const lateReason = session.ownReason
      ? _abortReason(`Supervisor '${this.name}' passed its shutdown deadline`)
      : session.reason;
    const stopped: string[] = [];
    const timedOut: string[] = [];
    const late: _Child[] = [];
    const nested = async (child: _Child) => {
      if (!(child.service instanceof Supervisor)) return;
      const report = await child.service.#lastReport;
      for (const name of report?.timedOut ?? []) timedOut.push(`${child.name}/${name}`);
    };
    for (const child of active) {
      if (Date.now() >= deadline.at) {
        if (child.controller) {
          child.state = "stopping";
          if (child.service instanceof Supervisor) child.service.#hurry(Date.now());
          if (!child.controller.signal.aborted) child.controller.abort(lateReason);
        }
        late.push(child);
        continue;
      }
      const outcome = await this.#stopChild(child, session.reason, deadline);
      (outcome === "stopped" ? stopped : timedOut).push(child.name);
      await nested(child);
    }
    deadline.clear();
    this.#deadline = undefined;
    if (late.length > 0) {
      // One timer tick for the runs aborted at the deadline. A child
      // supervisor is bounded by the deadline it was just given: awaited.
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const child of late) {
        if (child.service instanceof Supervisor && child.settled) await child.settled;
        if (child.controller) {
          timedOut.push(child.name);
          this.#emit(new StopTimeoutEvent(child.name, {}));
        } else {
          stopped.push(child.name);
        }
        await nested(child);
      }
    }
    return { stopped, timedOut };
  }

  /** Makes this supervisor's shutdown, under way or to come, end by `at`. */
  #hurry(at: number): void {
    if (this.#deadline) this.#deadline.moveTo(at);
    else this.#deadlineAt = Math.min(this.#deadlineAt ?? Infinity, at);
  }
}

/**
 * A delay as the timers take it: whole milliseconds, truncated as browsers
 * and Node do. Handing a timer `3e-7` is legal, but a timer that parses its
 * delay as a string (some fake clocks do) would wait 3 ms.
 */
function _whole(delay: number): number {
  return Math.trunc(delay);
}

/**
 * A shutdown's deadline, and its waits for runs to settle, one at a time.
 * They share one timer, re-armed only when it must fire earlier than it
 * would: stopping 100,000 services sets one timer, not 100,000.
 */
interface _Deadline {
  /** When the shutdown must end (`Date.now()` time); Infinity for never. */
  at: number;
  /** The child supervisor being awaited, to pass a moved deadline on to. */
  awaiting: Supervisor | undefined;
  /** Whether `settled` settles before `until` (a deadline move included). */
  wait(settled: Promise<void>, until: number): Promise<boolean>;
  /** Brings the deadline, and the current wait, forward to `at`. */
  moveTo(at: number): void;
  clear(): void;
}

function _deadline(at: number, hurry: (child: Supervisor, at: number) => void): _Deadline {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedFor = Infinity;
  let current: { until: number; done: (settled: boolean) => void } | undefined;
  const fire = () => {
    timer = undefined;
    armedFor = Infinity;
    const wait = current;
    if (!wait) return;
    if (Date.now() < wait.until) return arm(wait.until);
    current = undefined;
    wait.done(false);
  };
  const arm = (until: number) => {
    if (until === Infinity || armedFor <= until) return;
    clearTimeout(timer);
    armedFor = until;
    timer = setTimeout(fire, Math.max(0, until - Date.now()));
  };
  const deadline: _Deadline = {
    at,
    awaiting: undefined,
    wait(settled, until) {
      return new Promise((resolve) => {
        const wait = { until, done: resolve };
        current = wait;
        arm(until);
        settled.then(() => {
          if (current !== wait) return;
          current = undefined;
          resolve(true);
        });
      });
    },
    moveTo(at) {
      if (at >= deadline.at) return;
      deadline.at = at;
      if (current && at < current.until) {
        current.until = at;
        arm(at);
      }
      if (deadline.awaiting) hurry(deadline.awaiting, at);
    },
    clear() {
      clearTimeout(timer);
      timer = undefined;
      armedFor = Infinity;
      current = undefined;
    },
  };
  return deadline;
}

/**
 * How `promise` ends: it settles within `ms` milliseconds, or the timer
 * fires first, or `session` ends first. Clears its timer and its hook on the
 * session either way, so a long session does not collect one per wait.
 */
function _settlesWithin(
  promise: Promise<void>,
  ms: number,
  session: _Session | undefined,
): Promise<"stopped" | "timeout" | "cut"> {
  return new Promise((resolve) => {
    const finish = (outcome: "stopped" | "timeout" | "cut") => {
      clearTimeout(timer);
      session?.cuts.delete(cut);
      resolve(outcome);
    };
    const cut = () => finish("cut");
    const timer = ms === Infinity ? undefined : setTimeout(() => finish("timeout"), ms);
    session?.cuts.add(cut);
    promise.then(() => finish("stopped"));
    if (session?.ending) finish("cut");
  });
}
