/*
 * The public class: the API (about 1,000 lines, most of them its JSDoc and
 * examples), the mailbox, the session, and the executor of the table's
 * effects. They stay in one file on purpose: the effects change the class's
 * private state (its children, its session, its timers) in the order the
 * table decides, and a split would have to publish that state through a
 * host interface on the restart path. What does not need it lives in the
 * file named after it: the table (`_lifecycle.ts`), shutdown
 * (`_shutdown.ts`), group restarts (`_group.ts`), readiness-ordered start
 * (`_startup.ts`), bounded waits (`_alarm.ts`), a service's record
 * (`_child.ts`), trees across copies (`_link.ts`).
 */
import { Alarm } from "./_alarm.ts";
import { asyncDispose } from "./_dispose.ts";
import { type Child, type Host, type Past, pastOf } from "./_child.ts";
import { LINK, type Link, linkOf, type Mailbox } from "./_link.ts";
import { Groups } from "./_group.ts";
import {
  ABORT,
  ANNOUNCE,
  CANCEL,
  ENDED,
  ESCALATE,
  EXIT,
  type Facts,
  FAIL,
  FORGET,
  GIVEUP,
  type Input,
  INTENSITY,
  isLive,
  LAUNCH,
  LIMIT,
  PROCEED,
  publicState,
  READY,
  REJECT,
  RESOLVE,
  RESTART_NOW,
  SCHEDULE,
  STOPTIMEOUT,
  transition,
  TRIGGER,
  UNWAIT,
  WAIT,
} from "./_lifecycle.ts";
import { Shutdown, type StopReport } from "./_shutdown.ts";
import { Startup } from "./_startup.ts";
import { _backoffDelay } from "./backoff.ts";
import {
  _DO_NOT_RESTART,
  _ESCALATE,
  _marked,
  DoNotRestartError,
  RestartIntensityError,
  RestartLimitError,
} from "./errors.ts";
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
  _signalOf,
  _snapshot,
  _validateName,
  _validateOptions,
  _validatePolicy,
  type ServiceOptions,
  type StartOptions,
  type SupervisorOptions,
  type WhenOptions,
} from "./options.ts";
import type { ServiceMetrics } from "./metrics.ts";
import { _RestartWindow } from "./restart_limit.ts";
import type { RestartPolicy, RunContext, Service } from "./service.ts";

export type { StopReport };

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

/** One `run()` of a supervisor: from starting its children to stopping them. */
interface Session {
  /** Aborted when the session ends; its `reason` is what the children's signals get. */
  readonly controller: AbortController;
  /** The reason came from this supervisor, not from its caller. */
  own: boolean;
  /** Set when a child made it escalate. */
  escalation: { readonly service: string; readonly error: unknown } | undefined;
  /** Set when a `waitReady` child failed, or was not ready in time. */
  startError: { readonly error: unknown } | undefined;
  /** Set when it shuts itself down: the error of the significant child that failed first. */
  significantError: { readonly error: unknown } | undefined;
  /** The session will end for good: `#end` was called, or an automatic shutdown is queued. */
  closing: boolean;
  /** The caller's signal, and what listens to it. */
  readonly signal: AbortSignal | undefined;
  /** Set by a parent before the shutdown begins: it must end by then. */
  hurryAt: number;
  readonly onAbort: () => void;
  readonly context: RunContext | undefined;
  /** Settle the promise `run()` returned. */
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Handles the messages queued while one was handled, then frees the mailbox.
 * A message that throws (a bug of this module) does not stop the others; the
 * first error surfaces once all are handled.
 */
function _drain(box: Mailbox): void {
  const queue = box.queue;
  let failure: { error: unknown } | undefined;
  while (box.head < queue.length) {
    const next = queue[box.head]!;
    queue[box.head++] = undefined!;
    try {
      next();
    } catch (error) {
      failure ??= { error };
    }
  }
  queue.length = 0;
  box.head = 0;
  box.busy = false;
  if (failure) throw failure.error;
}

/*
 * What the runs' promises and the restart timers call, made once per
 * service and allocating nothing when called. Until a service has a history
 * (most services: they only run), its promises call functions bound to its
 * record, the smallest there are (48 B each on V8, against 56 B for a
 * closure and 48 B for their context). Once it has one, they and its timers
 * call closures kept in it: with closures a restart took 6-12% less time on
 * Bun (JSC), the same on V8. Set in the class's static block, which can
 * reach its private methods.
 */
let _fulfilled: (this: Child) => void;
let _rejected: (this: Child, error: unknown) => void;
/** Makes the closures of `past` that the runs and restart timers of a service with a history call. */
let _watch: (child: Child, past: Past) => void;
/** `ready()` of the run `attempt` of `child`. */
let _ready: (child: Child, attempt: number) => void;

/**
 * What a run learns from its supervisor. `ready` is made each time it is
 * asked for (a run that never calls it costs no function), and works when
 * taken out of the context (`{ ready }`): it is bound to this run, which its
 * number tells apart from the service's other runs.
 */
class _RunContext implements RunContext {
  readonly attempt: number;
  readonly #child: Child;

  constructor(attempt: number, child: Child) {
    this.attempt = attempt;
    this.#child = child;
  }

  get ready(): () => void {
    const child = this.#child;
    const attempt = this.attempt;
    return () => _ready(child, attempt);
  }
}

/** An abort reason the supervisor gives on its own: says why, and stays an `AbortError`. */
function _abortReason(message: string): DOMException {
  return new DOMException(message, "AbortError");
}

/** A signal's reason; what its getter throws, if it throws. */
function _reasonOf(signal: AbortSignal): unknown {
  try {
    return signal.reason;
  } catch (error) {
    return error;
  }
}

/**
 * What `ask()` returns, or `otherwise` when it throws: for what another copy
 * of the module (or an impostor carrying its key) answers through a link.
 */
function _ask<T>(ask: () => T, otherwise: T): T {
  try {
    return ask();
  } catch {
    return otherwise;
  }
}

/** Effects before the events (they never come with `schedule`). */
const _BEFORE = WAIT | UNWAIT | CANCEL | LIMIT | RESTART_NOW | TRIGGER | ESCALATE | INTENSITY |
  ENDED | FORGET | STOPTIMEOUT;
/** Events after `restart`, and the abort. */
const _NOTIFY = GIVEUP | READY | ABORT;

/** The types of the events a supervisor fires. */
const _EVENT_TYPES: readonly string[] = [
  "start",
  "ready",
  "exit",
  "restart",
  "giveup",
  "stoptimeout",
  "escalate",
];

/** The most timer ticks a child supervisor shutting down is given past the deadline it was told. */
const _MAX_GRACE_TICKS = 64;

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
 * Every request (`add`, `remove`, `restart`, `start`, `stop`) and every
 * happening (a run settling, a timer firing, `ready()`) is a message handled
 * one at a time, each to completion. A call made from user code the
 * supervisor is running (a listener, a `run`) waits for the change under way
 * to be done, and then has the effect it would have had a moment later.
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
  readonly #escalate: boolean;
  readonly #shutdownTimeout: number;
  readonly #stopTogether: boolean;
  readonly #autoShutdown: "never" | "any_significant" | "all_significant";
  /** The restarts of all the children within `period`; none when `intensity` is Infinity. */
  readonly #intensity: _RestartWindow | undefined;
  readonly #random: () => number;
  readonly #children = new Map<string, Child>();
  /** Names of services whose `add` waits in the mailbox. */
  readonly #reserved = new Set<string>();
  /** Names `remove()` was called for, and how many times, until it is handled. */
  readonly #removing = new Map<string, number>();
  /** The options of services added without their own, by their own policy. */
  readonly #resolved = new Map<string, _ResolvedOptions>();
  /** The event types someone listens to here; a type once listened to stays. */
  readonly #listened = new Set<string>();
  readonly #host: Host;
  readonly #alarm: Alarm<object>;
  /** The extra ticks given to child supervisors past their deadline, by child. */
  readonly #graces = new Map<Child, number>();
  /** Group restarts, for the strategies that make them. */
  readonly #groups: Groups | undefined;
  /** The facts of the decision being made, filled in before the table is asked. */
  readonly #facts: Facts = {
    outcome: "completed",
    restart: false,
    escalates: false,
    escalate: false,
    live: false,
    admitted: false,
    group: false,
    never: false,
    intense: false,
    significant: false,
    awaited: false,
  };
  /**
   * Its own mailbox: the messages (each a call to make) queued while another
   * is handled. A child supervisor uses its root's instead (`#mailbox()`).
   */
  readonly #box: Mailbox = { queue: [], head: 0, busy: false, direct: undefined };
  /** Whether the run being handled failed, what it threw, and how it ended, for its events. */
  #failed = false;
  #error: unknown;
  #outcome: ExitOutcome = "completed";
  /** How its parent and its children reach it; made when it is first linked. */
  #link: Link | undefined;
  #state: SupervisorState = "idle";
  #session: Session | undefined;
  #startup: Startup | undefined;
  #shutdown: Shutdown | undefined;
  /** Set once `start()` was called: what it returns. */
  #started: Promise<void> | undefined;
  /** Stopped for good: `stop()` was called, or the run `start()` made is over. */
  #stopped = false;
  #stopping: Promise<StopReport> | undefined;
  #stopResolve: ((report: StopReport) => void) | undefined;
  #lastReport: StopReport | undefined;
  /** Takes the listener `start({ signal })` put on its signal off it. */
  #unlisten: (() => void) | undefined;
  /** Called when the session ends, with its failure: what `when()` waits on. */
  #waiters: Set<(failure: { readonly error: unknown } | undefined) => void> | undefined;
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
    // Read once: a caller's getters, or its changing its object later, change nothing here.
    options = _snapshot(options)!;
    _validateOptions(where, options, "supervisor");
    this.#options = options;
    _resolveOptions(where, this.#options, {}, undefined);
    this.name = options.name ?? _DEFAULTS.name;
    const strategy = options.strategy ?? _DEFAULTS.strategy;
    this.#escalate = options.escalate ?? _DEFAULTS.escalate;
    this.#shutdownTimeout = options.shutdownTimeout ?? _DEFAULTS.shutdownTimeout;
    this.#stopTogether = (options.stopOrder ?? _DEFAULTS.stopOrder) === "together";
    this.#autoShutdown = options.autoShutdown ?? _DEFAULTS.autoShutdown;
    const intensity = options.intensity ?? _DEFAULTS.intensity;
    this.#intensity = intensity === Infinity
      ? undefined
      : new _RestartWindow(intensity, options.period ?? _DEFAULTS.period);
    this.#random = options.random ?? (() => Math.random());
    this.#alarm = new Alarm((keys) => this.#post(() => this.#due(keys)));
    this.#host = {
      name: this.name,
      alarm: this.#alarm,
      children: () => this.#children.values(),
      apply: (child, input, reason, until) => this.#apply(child, input, reason, until),
      bound: (child, until) => this.#bound(child, until),
      next: (step) => this.#next(step),
      admit: (count, trigger) => {
        const window = this.#intensity;
        if (!window) return true;
        const now = Date.now();
        if (window.room(now) >= count) {
          for (let i = 0; i < count; i++) window.record(now);
          return true;
        }
        this.#next(() => this.#overload(trigger));
        return false;
      },
      queued: () => {
        const box = this.#mailbox();
        return box.head < box.queue.length;
      },
    };
    this.#groups = strategy === "one_for_one" ? undefined : new Groups(
      this.#host,
      strategy,
      (message) => this.#post(message),
      (child, delay) => this.#announce(child, delay),
    );
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
    // A service added by name is kept as its bare `run` function.
    let service: Service | Service["run"];
    let name: unknown;
    let options: ServiceOptions | undefined;
    let run: unknown;
    if (typeof serviceOrName === "string") {
      name = serviceOrName;
      service = run = runOrOptions as Service["run"];
      options = maybeOptions;
    } else {
      if (typeof serviceOrName !== "object" || serviceOrName === null) {
        _invalid("add service", "service", "a Service object or a name", serviceOrName, "type");
      }
      service = serviceOrName;
      name = serviceOrName.name;
      run = serviceOrName.run;
      options = runOrOptions as ServiceOptions | undefined;
    }
    if (typeof name !== "string") _invalid("add service", "name", "a string", name, "type");
    _validateName("add service", name);
    const where = `add service ${JSON.stringify(name)}`;
    if (typeof run !== "function") _invalid(where, "run", "a function", run, "type");
    // Refused from the moment stop() is called, as it would be a moment later;
    // and from the moment a supervisor start() started will end for good.
    if (this.#stopped || this.#stopping) {
      throw new Error(`Cannot ${where} as the supervisor is stopped`);
    }
    if (this.#started && this.#session?.closing) {
      throw new Error(`Cannot ${where} as the supervisor is stopping`);
    }
    // A name whose service a queued remove() is about to forget (it has no
    // live run) is free, as it would be a moment later.
    const holder = this.#children.get(name);
    const freed = holder !== undefined && this.#removing.has(name) && !isLive(holder.phase);
    if ((holder && !freed) || this.#reserved.has(name)) {
      _invalid(where, "name", "unique within the supervisor", name, "range");
    }
    const ownPolicy = typeof service === "function" ? undefined : service.restartPolicy;
    _validatePolicy(where, "service.restartPolicy", ownPolicy);
    options = _snapshot(options);
    _validateOptions(where, options, "service");
    // A supervisor of this copy of the module or of another (ESM and CommonJS).
    const sub = typeof service === "function" ? undefined : linkOf(service);
    if (sub) {
      for (let s: Link | undefined = this.#link_(); s; s = _ask(() => s!.parent, undefined)) {
        if (s === sub) throw new Error(`Cannot ${where} as it is this supervisor or its ancestor`);
      }
      if (_ask(() => sub.parent !== undefined, true)) {
        throw new Error(`Cannot ${where} as it already has a parent supervisor`);
      }
      if (_ask(() => sub.used, true)) {
        throw new Error(`Cannot ${where} as it was started or stopped on its own`);
      }
      // OTP gives a child supervisor all the time its own shutdown takes.
      const shutdownTimeout = _ask(() => sub.shutdownTimeout, undefined);
      if (shutdownTimeout !== undefined) options = { stopTimeout: shutdownTimeout, ...options };
    }
    // Services added without options of their own share one resolved object.
    const resolved = options === undefined || Object.keys(options).length === 0
      ? this.#sharedOptions(ownPolicy)
      : _resolveOptions(where, this.#options, options, ownPolicy);
    if (resolved.significant) {
      if (this.#autoShutdown === "never") {
        _invalid(where, "significant", `false while 'autoShutdown' is "never"`, true, "range");
      }
      if (resolved.restartPolicy === "always") {
        _invalid(
          where,
          "significant",
          `false for a service whose restart policy is "always", as it never ends`,
          true,
          "range",
        );
      }
    }
    const child: Child = {
      name,
      service,
      options: resolved,
      owner: this,
      sub,
      phase: "stopped",
      intent: undefined,
      attempt: 0,
      ready: false,
      controller: undefined,
      startedAt: 0,
      onFulfilled: undefined,
      onRejected: undefined,
      past: undefined,
    };
    if (sub) _ask(() => sub.parent = this.#link_(), undefined);
    this.#reserved.add(name);
    this.#post(() => this.#add(child));
    return this;
  }

  /**
   * Starts every service, in the order they were added; services added later
   * start as they are added. A service added with `waitReady` must call
   * `context.ready()` before the next one starts. Calling it again returns
   * the same promise.
   *
   * @example Tied to an outside signal
   * ```ts
   * import { Supervisor } from "@janus/supervisor";
   *
   * const controller = new AbortController();
   * const supervisor = new Supervisor();
   * supervisor.add("worker", (signal) =>
   *   new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())));
   * await supervisor.start({ signal: controller.signal });
   * controller.abort(new Error("request over")); // stops it, with that reason
   * await supervisor.done;
   * ```
   *
   * @param options `signal`: aborting it stops the supervisor, with
   * `signal.reason` as the reason every run's signal gets (see `stop()`).
   * @returns A promise that resolves once every service has started (and
   * every `waitReady` service is ready), or once the supervisor was stopped
   * while starting.
   * @throws {Error} The supervisor is stopped, runs as a child, or has a
   * parent (which starts it); or a `waitReady` service failed (or timed out)
   * before it was ready; or it escalated while starting. The services
   * already started are stopped first.
   * @throws {unknown} `signal` was aborted: its reason. Already aborted,
   * nothing is started and `start()` may be called again.
   * @throws {TypeError} `signal` is not an `AbortSignal`, or it is given to a
   * supervisor started before.
   */
  start(options?: StartOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    let aborted = false;
    try {
      signal = _signalOf(`start supervisor '${this.name}'`, options);
      aborted = signal?.aborted === true;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#stopped || this.#stopping) {
      return Promise.reject(new Error(`Cannot start supervisor '${this.name}' as it is stopped`));
    }
    if (this.#started) {
      return signal
        ? Promise.reject(
          new TypeError(
            `Cannot start supervisor '${this.name}' with a signal as it was started before: ` +
              `give the signal to the first start()`,
          ),
        )
        : this.#started;
    }
    if (this.#parent) {
      return Promise.reject(
        new Error(
          `Cannot start supervisor '${this.name}' as it is a child of supervisor ` +
            `'${this.#parent.name}', which starts and stops it`,
        ),
      );
    }
    if (this.#session) {
      return Promise.reject(
        new Error(`Cannot start supervisor '${this.name}' as it is running as a child`),
      );
    }
    if (aborted) return Promise.reject(_reasonOf(signal!));
    /** Set when the signal aborted: a start under way rejects with its reason, once stopped. */
    let cancelled: { readonly reason: unknown } | undefined;
    if (signal) {
      const onAbort = () => {
        const reason = _reasonOf(signal);
        cancelled = { reason };
        this.stop(reason);
      };
      try {
        signal.addEventListener("abort", onAbort, { once: true });
      } catch (error) {
        return Promise.reject(error); // nothing started, nothing to undo
      }
      this.#unlisten = () => signal.removeEventListener("abort", onAbort);
    }
    let started!: () => void;
    let failed!: (error: unknown) => void;
    this.#started = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    const ready = () => cancelled ? undefined : started();
    this.#post(() =>
      this.#begin(undefined, { attempt: 1, ready }, () => {
        // Stopped while starting: there is nothing left to start.
        if (cancelled) failed(cancelled.reason);
        else started();
        this.#settleDone();
      }, (error) => {
        failed(error);
        this.#settleDone({ error });
      })
    );
    return this.#started;
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
    if (this.#stopping) return this.#stopping;
    // The promise is kept before the stop is handled: an abort listener that
    // calls stop() again while it is handled gets this same promise.
    this.#stopping = new Promise<StopReport>((resolve) => this.#stopResolve = resolve);
    this.#post(() => this.#stop(reason));
    return this.#stopping;
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
   * @returns A promise that settles when the children are stopped. It
   * rejects at once with a `DoNotRestartError` when the supervisor is
   * stopped for good (its own `stop()` was called, or a run `start()` made
   * is over), so that a parent does not restart it.
   */
  run(signal: AbortSignal, context?: RunContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#post(() => this.#begin(signal, context, resolve, reject));
    });
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
  remove(name: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#removing.set(name, (this.#removing.get(name) ?? 0) + 1);
      this.#post(() => this.#remove(name, resolve, reject));
    });
  }

  /**
   * Restarts one service soon: aborts its current run, waits for it (up to
   * its `stopTimeout`), and starts a new run without backoff, on a 0 ms
   * timer as every restart. A pending restart is cancelled and made at once.
   * Counted as a restart, not a failure: neither the backoff nor the restart
   * limit moves.
   *
   * @param name The service's name.
   * @returns A promise that resolves once the new run has begun (under a
   * fake clock, after the 0 ms timer fired).
   * @throws {RangeError} No service has that name.
   * @throws {Error} The supervisor is not running (or stops before the new
   * run begins), the service is being removed, or its current run did not
   * stop within its `stopTimeout`.
   */
  restart(name: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#post(() => this.#restart(name, resolve, reject));
    });
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
        state: publicState(child.phase)!,
        restarts: child.past?.restarts ?? 0,
        failures: child.past?.failures ?? 0,
        completions: child.past?.completions ?? 0,
        giveups: child.past?.giveups ?? 0,
        up,
        uptime: up ? now - child.startedAt : 0,
        ...(child.past?.lastExitAt === undefined ? {} : { lastExitAt: child.past.lastExitAt }),
        ready: child.ready,
        waitReady: child.options.waitReady !== false,
      });
      const sub = child.service;
      const nested = child.sub && _ask(() => (sub as Supervisor).metrics(), undefined);
      if (Array.isArray(nested)) {
        for (const m of nested) result.push({ ...m, name: `${child.name}/${m.name}` });
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
      const sub = child.service;
      result.push({
        name: child.name,
        state: publicState(child.phase)!,
        attempt: child.attempt,
        restarts: child.past?.restarts ?? 0,
        ready: child.ready,
        ...(child.past?.failed ? { lastError: child.past.lastError } : {}),
        ...(child.sub ? { children: _ask(() => (sub as Supervisor).status(), []) } : {}),
      });
    }
    return result;
  }

  /**
   * Waits for one lifecycle event, here or in a child supervisor (whose
   * events arrive as `child/service`): resolves with the first event of
   * `type` that `filter` accepts, and leaves no listener behind. Waiting
   * starts at the call, so call it before what makes the event happen.
   *
   * @example Waiting for the third run, without polling
   * ```ts
   * import { Supervisor } from "@janus/supervisor";
   *
   * const supervisor = new Supervisor({ backoff: { initialDelay: 1 } });
   * supervisor.add("flaky", () => Promise.reject(new Error("boom")));
   * const third = supervisor.when("start", (event) => event.attempt === 3);
   * await supervisor.start();
   * const event = await third;
   * console.log(`${event.service} run #${event.attempt}`); // flaky run #3
   * await supervisor.stop();
   * ```
   *
   * @param type The event's type.
   * @param filter Which event: the first one it returns `true` for. Default:
   * the first one.
   * @param options `signal`: aborting it gives up the wait.
   * @returns The event.
   * @throws {Error} The supervisor stopped (or failed) first, or is stopped
   * already, or is a child supervisor that never ran, under a supervisor
   * stopped for good; a failure is the error's `cause`. A child supervisor stops
   * whenever its parent stops or restarts it.
   * @throws {unknown} `signal` was aborted: its reason; or what `filter` threw.
   * @throws {RangeError | TypeError} `type` is no event of a supervisor, or
   * `filter` or `options` is invalid.
   */
  when<K extends keyof SupervisorEventMap>(
    type: K,
    filter?: (event: SupervisorEventMap[K]) => boolean,
    options?: WhenOptions,
  ): Promise<SupervisorEventMap[K]> {
    const where = `wait for '${String(type)}'`;
    let signal: AbortSignal | undefined;
    try {
      if (!_EVENT_TYPES.includes(type)) {
        _invalid(
          where,
          "type",
          `one of ${_EVENT_TYPES.map((t) => `"${t}"`).join(", ")}`,
          type,
          "range",
        );
      }
      if (filter !== undefined && typeof filter !== "function") {
        _invalid(where, "filter", "a function", filter, "type");
      }
      signal = _signalOf(where, options);
      if (signal?.aborted) return Promise.reject(_reasonOf(signal));
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state === "stopped" || this.#state === "failed") {
      return Promise.reject(new Error(`Cannot ${where} as supervisor '${this.name}' is stopped`));
    }
    if (this.#session === undefined && this.#over()) {
      // A child supervisor that never ran, whose parent will never run it.
      return Promise.reject(
        new Error(
          `Cannot ${where} as supervisor '${this.name}' will not run: a supervisor above it ` +
            `is stopped for good`,
        ),
      );
    }
    return new Promise<SupervisorEventMap[K]>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.removeEventListener(type, listener);
        this.#waiters?.delete(onEnd);
        try {
          signal?.removeEventListener("abort", onAbort);
        } catch {
          // A caller's signal whose removeEventListener throws: its own affair.
        }
        outcome();
      };
      const listener = (event: SupervisorEventMap[K]) => {
        if (settled) return;
        let accepted: boolean;
        try {
          accepted = filter === undefined || !!filter(event);
        } catch (error) {
          return settle(() => reject(error));
        }
        if (accepted) settle(() => resolve(event));
      };
      const onAbort = () => settle(() => reject(_reasonOf(signal!)));
      const onEnd = (failure: { readonly error: unknown } | undefined) =>
        settle(() =>
          reject(
            new Error(
              `Cannot ${where} as supervisor '${this.name}' ${
                failure ? "failed" : "stopped"
              } first`,
              failure && { cause: failure.error },
            ),
          )
        );
      try {
        signal?.addEventListener("abort", onAbort, { once: true });
      } catch (error) {
        return reject(error);
      }
      this.addEventListener(type, listener);
      (this.#waiters ??= new Set()).add(onEnd);
    });
  }

  /**
   * Stops the supervisor, for `await using`: this is `[Symbol.asyncDispose]()`.
   *
   * @returns A promise that resolves once `stop()` has.
   */
  async [asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Listens for a lifecycle event, typed by its name.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As for `EventTarget.addEventListener`.
   */
  // The public signatures spell out the DOM's listener and options types:
  // the published .d.ts must compile with Node's types and no DOM lib.
  override addEventListener<K extends keyof SupervisorEventMap>(
    type: K,
    listener:
      | ((this: Supervisor, event: SupervisorEventMap[K]) => void)
      | { handleEvent(event: SupervisorEventMap[K]): void }
      | null,
    options?: boolean | {
      capture?: boolean;
      once?: boolean;
      passive?: boolean;
      signal?: AbortSignal;
    },
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
    listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null,
    options?: boolean | {
      capture?: boolean;
      once?: boolean;
      passive?: boolean;
      signal?: AbortSignal;
    },
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
    options?: boolean | { capture?: boolean },
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
    listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null,
    options?: boolean | { capture?: boolean },
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  // ─── The mailbox ────────────────────────────────────────────────────────

  /**
   * Handles a message (the call to make) now, or, when another is being
   * handled (this call comes from user code it runs), after it and those
   * queued before.
   */
  #post(message: () => void): void {
    const box = this.#mailbox();
    if (box.busy) {
      if (box.direct !== this) {
        box.queue.push(message);
        return;
      }
      // Its parent runs it: its run begins inside the parent's change.
      box.direct = undefined;
      message();
      return;
    }
    box.busy = true;
    try {
      message();
    } finally {
      if (box.head < box.queue.length) _drain(box);
      else box.busy = false;
    }
  }

  /** The mailbox of its tree: its root's. */
  #mailbox(): Mailbox {
    const parent = this.#link?.parent;
    if (parent === undefined) return this.#box;
    const box = _ask(() => parent.mailbox(), undefined);
    return typeof box === "object" && box !== null && Array.isArray(box.queue) ? box : this.#box;
  }

  /**
   * Runs `step` once the message being handled is done (its events fired),
   * after the calls queued before it: the next part of a change that goes
   * on (a group restart stopping its members, an escalation, the start going
   * on to the next service) is a message of its own.
   */
  #next(step: () => void): void {
    this.#mailbox().queue.push(step);
  }

  // ─── Requests ───────────────────────────────────────────────────────────

  #add(child: Child): void {
    this.#reserved.delete(child.name);
    const holder = this.#children.get(child.name);
    if (holder) {
      // Its name was being freed, but its service's run went live again
      // meanwhile: it is registered once that service is forgotten.
      (pastOf(holder).removers ??= []).push(() => this.#post(() => this.#add(child)));
      this.#reserved.add(child.name);
      return;
    }
    this.#children.set(child.name, child);
    if (!this.#live()) return;
    if (this.#startup) this.#startup.append(child);
    else this.#apply(child, "start");
  }

  #remove(name: string, resolve: () => void, reject: (error: unknown) => void): void {
    const queued = this.#removing.get(name)!;
    if (queued > 1) this.#removing.set(name, queued - 1);
    else this.#removing.delete(name);
    const child = this.#children.get(name);
    if (!child) return reject(this.#unknown("remove", name));
    (pastOf(child).removers ??= []).push(resolve);
    this.#apply(child, "remove", _abortReason(`Service '${name}' was removed`));
  }

  #restart(name: string, resolve: () => void, reject: (error: unknown) => void): void {
    const child = this.#children.get(name);
    if (!child) return reject(this.#unknown("restart", name));
    const cannot = (why: string) => reject(new Error(`Cannot restart service '${name}' as ${why}`));
    if (!this.#live()) return cannot("the supervisor is not running");
    if (child.phase === "stopping" && child.intent === "remove") {
      return cannot("it is being removed");
    }
    (pastOf(child).restarters ??= []).push({ resolve, reject });
    this.#apply(child, "restart", _abortReason(`Service '${name}' is being restarted`));
  }

  #begin(
    signal: AbortSignal | undefined,
    context: RunContext | undefined,
    resolve: () => void,
    reject: (error: unknown) => void,
  ): void {
    if (this.#session) {
      return reject(new Error(`Cannot run supervisor '${this.name}' as it is running`));
    }
    if (this.#stopped) {
      // Stopped for good (its own stop(), as a child too): a parent's policy
      // must not restart it, so the run fails for good.
      return reject(
        new DoNotRestartError(
          `Cannot run supervisor '${this.name}' as it is stopped for good`,
        ),
      );
    }
    const parent = this.#parent;
    if (parent && !(signal && _ask(() => parent.gave(this.name, signal) === true, false))) {
      return reject(
        new Error(
          `Cannot run supervisor '${this.name}' as it is a child of supervisor ` +
            `'${_ask(() => parent.name, "?")}', which runs it`,
        ),
      );
    }
    const session: Session = {
      controller: new AbortController(),
      own: false,
      escalation: undefined,
      startError: undefined,
      significantError: undefined,
      closing: false,
      signal,
      hurryAt: Infinity,
      onAbort: () =>
        this.#post(() => {
          if (this.#session === session) this.#end(signal!.reason, false);
        }),
      context,
      resolve,
      reject,
    };
    this.#session = session;
    this.#state = "starting";
    this.#intensity?.clear();
    for (const child of this.#children.values()) {
      const past = child.past;
      if (past) {
        past.step = 0;
        past.window?.clear();
      }
    }
    if (signal) {
      if (signal.aborted) return this.#end(signal.reason, false);
      signal.addEventListener("abort", session.onAbort, { once: true });
    }
    this.#startup = new Startup(
      this.#host,
      [...this.#children.values()],
      (error) => this.#startupOver(session, error),
    );
    this.#startup.next();
  }

  #stop(reason: unknown): void {
    this.#stopped = true;
    const session = this.#session;
    if (session) {
      if (reason === undefined) {
        this.#end(_abortReason(`Supervisor '${this.name}' is stopping`), true);
      } else {
        this.#end(reason, false);
      }
      return; // the report comes when the shutdown is over
    }
    if (this.#state === "idle") this.#state = "stopped";
    this.#release();
    this.#wake(undefined);
    this.#idleChildren();
    if (!this.#started) this.#settleDone();
    this.#stopResolve!(this.#lastReport ?? { stopped: [], timedOut: [] });
  }

  // ─── The session: start, end, shutdown ──────────────────────────────────

  /** Whether a session runs and is not ending. */
  #live(): boolean {
    return this.#state === "starting" || this.#state === "running";
  }

  /** The start is over: every child started, or one failed to. */
  #startupOver(session: Session, error: Error | undefined): void {
    this.#startup = undefined;
    if (error) {
      session.startError = { error };
      const reason = _abortReason(`Supervisor '${this.name}' failed to start`);
      return this.#next(() => this.#end(reason, true));
    }
    this.#state = "running";
    try {
      session.context?.ready();
    } catch {
      // A caller's own context; what it throws is its own affair.
    }
  }

  /**
   * Ends the session: no restart or start is made any more, pending
   * restarts are cancelled, and the shutdown begins.
   */
  #end(reason: unknown, own: boolean): void {
    const session = this.#session;
    if (!session || session.controller.signal.aborted) return;
    session.closing = true;
    session.own = own;
    session.controller.abort(reason);
    this.#state = "stopping";
    this.#startup?.cut();
    this.#startup = undefined;
    this.#groups?.clear();
    const cancelled = new Set<Child>();
    for (const child of this.#children.values()) {
      if (this.#apply(child, "cancel")?.phase === "stopped") cancelled.add(child);
    }
    const children = [...this.#children.values()].reverse()
      .filter((child) => cancelled.has(child) || isLive(child.phase));
    const deadline = Math.min(Date.now() + this.#shutdownTimeout, session.hurryAt);
    // A reason this supervisor made up says "stopping"; at the deadline it
    // says so. A caller's reason reaches every run unchanged.
    const lateReason = own
      ? _abortReason(`Supervisor '${this.name}' passed its shutdown deadline`)
      : reason;
    this.#shutdown = new Shutdown(
      this.#host,
      children,
      deadline,
      reason,
      lateReason,
      this.#stopTogether,
      (report) => this.#finish(session, report),
    );
    this.#shutdown.next();
  }

  /** The shutdown is over: the run `run()` (or `start()`) made settles. */
  #finish(session: Session, report: StopReport): void {
    this.#shutdown = undefined;
    this.#alarm.clear();
    session.signal?.removeEventListener("abort", session.onAbort);
    this.#session = undefined;
    this.#lastReport = report;
    // A supervisor that shut itself down because a significant child failed
    // fails at the top; as a child, its run completes (OTP's `shutdown`).
    const failure = session.startError ??
      (session.escalation ? { error: session.escalation.error } : undefined) ??
      (session.signal === undefined ? session.significantError : undefined);
    this.#state = failure ? "failed" : "stopped";
    if (this.#started) this.#stopped = true;
    if (this.#stopped) this.#stopResolve?.(report);
    if (session.signal === undefined) this.#release();
    if (session.escalation) {
      this.#emit(new EscalateEvent(session.escalation.service, session.escalation));
    }
    this.#wake(failure);
    this.#idleChildren();
    if (failure) session.reject(failure.error);
    else session.resolve();
  }

  /** The children, together, restarted more than `intensity` allows: the supervisor fails. */
  #overload(child: Child): void {
    const window = this.#intensity!;
    const past = child.past;
    this.#escalation(
      child,
      new RestartIntensityError(
        this.name,
        window.maxRestarts,
        window.window,
        past?.failed ? { cause: past.lastError } : undefined,
      ),
    );
  }

  #escalation(child: Child, error: unknown = child.past?.lastError): void {
    const session = this.#session;
    if (!session || session.controller.signal.aborted) return;
    session.escalation = { service: child.name, error };
    this.#end(
      _abortReason(`Supervisor '${this.name}' is escalating: '${child.name}' failed`),
      true,
    );
  }

  /**
   * A significant child ended for good: with `autoShutdown`, once any (by
   * itself) or the last of them has, the supervisor stops its other children
   * and itself. Decided within the change, so that `add()` refuses from then
   * on; the shutdown begins after it.
   */
  #ended(child: Child): void {
    const session = this.#session;
    if (!session || session.closing) return;
    const phase = child.phase;
    let first: Child | undefined;
    if (this.#autoShutdown === "any_significant") {
      // Stopped by its group restart or its restart(): it did not end by itself.
      if (phase === "stopped") return;
      if (phase === "failed") first = child;
    } else {
      for (const other of this.#children.values()) {
        if (!other.options.significant) continue;
        const its = other.phase;
        if (its === "failed") {
          if (!first || other.past!.lastExitAt! < first.past!.lastExitAt!) first = other;
        } else if (
          its !== "completed" && (its !== "stopped" || this.#startup?.pending(other) === true)
        ) {
          return; // it runs, or will
        }
      }
    }
    session.closing = true;
    if (first) session.significantError = { error: first.past?.lastError };
    const reason = _abortReason(
      `Supervisor '${this.name}' is shutting down: '${child.name}' ended`,
    );
    this.#next(() => this.#end(reason, true));
  }

  /** Bounded waits that ran out: readiness, or a run that would not stop. */
  #due(keys: object[]): void {
    for (const key of keys) {
      if (key === this.#startup) {
        this.#startup.due();
        continue;
      }
      const child = key as Child;
      if (this.#stillStopping(child)) {
        // A child supervisor was told this deadline, and its shutdown ends
        // within a timer tick of it per level below: one more tick, as long
        // as it is under way, up to a bound.
        const ticks = (this.#graces.get(child) ?? 0) + 1;
        if (ticks <= _MAX_GRACE_TICKS) {
          this.#graces.set(child, ticks);
          this.#alarm.set(child, Date.now() + 1);
          continue;
        }
      }
      this.#graces.delete(child);
      if (!this.#apply(child, "timeout")) continue;
      this.#shutdown?.done(child, true);
      this.#groups?.done(child);
    }
  }

  /**
   * Its parent stops the run on `signal`: the shutdown of the session on
   * that signal (under way or to come) must end by `at`.
   */
  #hurry(at: number, signal: AbortSignal): void {
    const session = this.#session;
    if (!session || session.signal !== signal) return;
    if (this.#shutdown) this.#shutdown.hurry(at);
    else session.hurryAt = Math.min(session.hurryAt, at);
  }

  /** The link of the parent that added it, if any. */
  get #parent(): Link | undefined {
    return this.#link?.parent;
  }

  /** It will never run again: stopped for good, or idle under a parent that will never run again. */
  #over(): boolean {
    if (this.#stopped) return true;
    const parent = this.#parent;
    return this.#session === undefined && parent !== undefined &&
      _ask(() => parent.over?.() === true, false);
  }

  /** This supervisor as its parent and its children see it, in any copy of the module. */
  #link_(): Link {
    // deno-lint-ignore no-this-alias
    const self = this;
    return this.#link ??= {
      name: this.name,
      shutdownTimeout: this.#shutdownTimeout,
      parent: undefined,
      get used() {
        return self.#session !== undefined || self.#stopped || self.#started !== undefined;
      },
      hurry: (at, signal) => this.#post(() => this.#hurry(at, signal)),
      runsOn: (signal) => this.#session?.signal === signal,
      timedOut: () => this.#lastReport?.timedOut ?? [],
      wants: (type) => this.#wants(type),
      emit: (event) => this.#emit(event),
      mailbox: () => this.#mailbox(),
      gave: (name, signal) => this.#children.get(name)?.controller?.signal === signal,
      idle: () => {
        if (this.#session) return;
        // Only when it will never run: a parent whose session ended may be
        // run again by its own parent, and this one with it. (A parent of an
        // older copy cannot say: it is taken at its word, as before.)
        const parent = this.#parent;
        const says = parent !== undefined && _ask(() => typeof parent.over === "function", false);
        if (says && !this.#over()) return;
        this.#wake(undefined);
        // Nor will its own children, down the tree.
        this.#idleChildren();
      },
      over: () => this.#over(),
    };
  }

  static {
    // Not a member of the class's type: the key of the link, shared by every copy.
    Object.defineProperty(Supervisor.prototype, LINK, {
      value(this: Supervisor) {
        return this.#link_();
      },
    });
  }

  // ─── One service: the table, its effects, its runs ──────────────────────

  /**
   * Asks the transition table what `input` does to `child`, commits the new
   * phase (the only place a phase is assigned), then carries out the
   * effects, user code last.
   */
  #apply(child: Child, input: Input, reason?: unknown, until = Infinity) {
    const facts = this.#facts;
    facts.awaited = this.#startup !== undefined && this.#startup.waiting === child;
    const next = transition(child.phase, child.intent, input, facts);
    if (next === undefined) return undefined;
    child.phase = next.phase;
    child.intent = next.intent;
    if (next.fx !== 0) this.#effects(child, next.fx, input, reason, until);
    return next;
  }

  /**
   * Carries out a decision's effects in the order of their bits. The restart
   * path (schedule, exit, restart, launch) is tested first; the others come
   * in three groups, each in bit order, that never overlap it out of order.
   */
  #effects(child: Child, fx: number, input: Input, reason: unknown, until: number): void {
    if (fx & _BEFORE) this.#prepare(child, fx, until);
    if (fx & SCHEDULE) {
      const past = child.past!;
      this.#intensity?.record(past.lastExitAt!);
      past.delay = this.#delay(child, past);
      past.restarts++;
      past.counted = true;
      this.#setTimer(child, past, past.delay);
    }
    if (fx & EXIT && this.#wants("exit")) {
      const init = { attempt: child.attempt, outcome: this.#outcome };
      this.#emit(new ExitEvent(child.name, this.#failed ? { ...init, error: this.#error } : init));
    }
    if (fx & ANNOUNCE && child.attempt > 0 && this.#wants("restart")) {
      const delay = child.past!.delay;
      this.#emit(new RestartEvent(child.name, { attempt: child.attempt + 1, delay }));
    }
    if (fx & _NOTIFY) this.#notify(child, fx, reason);
    if (fx & LAUNCH) this.#launch(child);
    if (fx & (PROCEED | FAIL) || (fx & (RESOLVE | REJECT) && child.past?.restarters)) {
      this.#settleCalls(child, fx, input);
    }
  }

  /** The effects before the events: waits, timers, the limit, groups, forgetting. */
  #prepare(child: Child, fx: number, until: number): void {
    if (fx & WAIT) {
      // A wait under way (remove() before the shutdown reached the service)
      // only moves earlier: it never waits past its own stopTimeout.
      this.#bound(child, Math.min(Date.now() + child.options.stopTimeout, until));
    }
    if (fx & UNWAIT) {
      this.#alarm.delete(child);
      this.#graces.delete(child);
      // A shutdown's waits follow one another on one timer; it clears it at its end.
      if (!this.#shutdown) this.#alarm.idle();
    }
    const past = child.past;
    if (fx & CANCEL && past?.timer !== undefined) {
      clearTimeout(past.timer);
      past.timer = undefined;
    }
    if (fx & LIMIT) {
      const past = pastOf(child);
      past.lastError = new RestartLimitError(
        child.name,
        past.restarts,
        this.#failed ? { cause: this.#error } : undefined,
      );
      past.failed = true;
      past.giveups++;
    }
    if (fx & RESTART_NOW) {
      // A service that never ran (restart() before start() reached it) is
      // started, on the same zero-delay timer, but not restarted.
      const past = pastOf(child);
      if (!past.counted && child.attempt > 0) past.restarts++;
      past.counted = child.attempt > 0;
      past.delay = 0;
      this.#setTimer(child, past, 0);
    }
    if (fx & TRIGGER) this.#groups!.trigger(child, this.#delay(child, child.past!));
    if (fx & ESCALATE) this.#next(() => this.#escalation(child));
    if (fx & INTENSITY) this.#next(() => this.#overload(child));
    if (fx & ENDED) this.#ended(child);
    if (fx & FORGET) this.#forget(child);
    if (fx & STOPTIMEOUT) this.#emit(new StopTimeoutEvent(child.name, {}));
  }

  /** The events after `restart`, and the abort. */
  #notify(child: Child, fx: number, reason: unknown): void {
    if (fx & GIVEUP) {
      this.#emit(
        new GiveupEvent(child.name, { error: child.past!.lastError as RestartLimitError }),
      );
    }
    if (fx & READY) {
      child.ready = true;
      this.#emit(new ReadyEvent(child.name, { attempt: child.attempt }));
    }
    if (fx & ABORT) {
      const controller = child.controller!;
      if (!controller.signal.aborted) controller.abort(reason);
    }
  }

  /** What goes on after: `restart()` callers, and the start. */
  #settleCalls(child: Child, fx: number, input: Input): void {
    const past = child.past;
    const restarters = past?.restarters;
    if (fx & (RESOLVE | REJECT) && restarters) {
      past!.restarters = undefined;
      const why = input === "remove"
        ? "it was removed"
        : input === "timeout"
        ? "its run did not stop within its stopTimeout"
        : "the supervisor is stopping";
      for (const { resolve, reject } of restarters) {
        if (fx & RESOLVE) resolve();
        else reject(new Error(`Cannot restart service '${child.name}' as ${why}`));
      }
    }
    if (fx & PROCEED) this.#startup?.proceed(child);
    if (fx & FAIL) this.#startup?.fail(child);
  }

  /**
   * Its run settled: the facts of how, then the table. A service has at most
   * one run that has not settled (runs never overlap; an abandoned run is
   * restarted only once it settles), so the run is the one `controller` is of.
   */
  #settle(child: Child, failed: boolean, error: unknown): void {
    const controller = child.controller;
    if (!controller) return;
    child.controller = undefined;
    child.ready = false;
    const now = Date.now();
    const past = pastOf(child);
    past.lastExitAt = now;
    const options = child.options;
    const policy = options.restartPolicy;
    const facts = this.#facts;
    facts.never = policy === "never";
    facts.significant = options.significant;
    let outcome: ExitOutcome = "stopped";
    // Its signal was aborted exactly when the phase says it is being stopped
    // (the supervisor aborts a run only by stopping it): Deno's AbortSignal
    // getters cost more than this read.
    const phase = child.phase;
    if (phase !== "stopping" && phase !== "abandoned" && phase !== "removed") {
      outcome = failed ? "failed" : "completed";
      if (failed) {
        past.failed = true;
        past.lastError = error;
        past.failures++;
      } else {
        past.completions++;
      }
      facts.outcome = outcome;
      facts.restart = (policy === "always" || (policy === "on_failure" && failed)) &&
        !(failed && _marked(error, _DO_NOT_RESTART));
      facts.escalate = this.#escalate;
      facts.escalates = this.#escalate && failed && _marked(error, _ESCALATE);
      facts.live = this.#live();
      facts.group = this.#groups !== undefined;
      // No limit, no window: a service that may restart forever keeps no times.
      facts.admitted = facts.restart && facts.live && (options.maxRestarts === Infinity ||
        (past.window ??= new _RestartWindow(options.maxRestarts, options.restartWindow))
          .allows(now));
      // A group counts its members when it knows them, as its timer is set.
      facts.intense = facts.admitted && !facts.group && this.#intensity !== undefined &&
        !this.#intensity.allows(now);
    }
    this.#outcome = outcome;
    this.#failed = failed;
    this.#error = error;
    const next = this.#apply(child, "settle");
    this.#failed = false;
    this.#error = undefined;
    if (!next) return;
    this.#shutdown?.done(child, false);
    this.#groups?.done(child);
  }

  /** Begins a run: inside the restart timer's callback, or where it is started. */
  #launch(child: Child): void {
    const controller = new AbortController();
    const attempt = ++child.attempt;
    child.controller = controller;
    child.ready = false;
    if (child.past) child.past.counted = false;
    child.startedAt = Date.now();
    if (this.#wants("start")) this.#emit(new StartEvent(child.name, { attempt }));
    const context = new _RunContext(attempt, child);
    let result: unknown;
    const service = child.service;
    // A child supervisor's run begins within this change, not after the
    // calls its start listeners made.
    const box = child.sub && this.#mailbox();
    if (box) box.direct = service;
    try {
      result = typeof service === "function"
        ? service(controller.signal, context)
        : service.run(controller.signal, context);
    } catch (error) {
      result = Promise.reject(error);
    }
    if (box) box.direct = undefined;
    let promise: Promise<unknown>;
    try {
      // Throws for a promise whose `constructor` getter throws.
      promise = Promise.resolve(result);
    } catch (error) {
      promise = Promise.reject(error);
    }
    const past = child.past;
    let onFulfilled: () => void;
    let onRejected: (error: unknown) => void;
    if (past === undefined) {
      onFulfilled = child.onFulfilled ??= _fulfilled.bind(child);
      onRejected = child.onRejected ??= _rejected.bind(child);
    } else {
      if (past.onRejected === undefined) _watch(child, past);
      onFulfilled = past.onFulfilled!;
      onRejected = past.onRejected!;
    }
    try {
      // The intrinsic `then`: a run cannot swap it for its own.
      Promise.prototype.then.call(promise, onFulfilled, onRejected);
    } catch (error) {
      // It throws before it watches anything for a promise whose species is
      // hostile: the run failed with that error.
      Promise.prototype.then.call(Promise.reject(error), onFulfilled, onRejected);
    }
  }

  static {
    _ready = (child, attempt) => {
      const self = child.owner as Supervisor;
      // Handled as a message, for the run it was given to only.
      self.#post(() => {
        if (child.attempt === attempt && child.controller !== undefined && !child.ready) {
          self.#apply(child, "ready");
        }
      });
    };
    _fulfilled = function () {
      (this.owner as Supervisor).#settled(this, false, undefined);
    };
    _rejected = function (error) {
      (this.owner as Supervisor).#settled(this, true, error);
    };
    _watch = (child, past) => {
      const self = child.owner as Supervisor;
      past.onFulfilled = () => self.#settled(child, false, undefined);
      past.onRejected = (error) => self.#settled(child, true, error);
      past.onTimer = () => self.#timed(child);
    };
  }

  /**
   * A run settled. When nothing else is being handled it is handled at
   * once, without a message made for it.
   */
  #settled(child: Child, failed: boolean, error: unknown): void {
    const box = this.#link === undefined ? this.#box : this.#mailbox();
    if (box.busy) return this.#later(child, failed, error);
    box.busy = true;
    try {
      this.#settle(child, failed, error);
    } finally {
      if (box.head < box.queue.length) _drain(box);
      else box.busy = false;
    }
  }

  #setTimer(child: Child, past: Past, delay: number): void {
    if (past.onTimer === undefined) _watch(child, past);
    past.timer = setTimeout(past.onTimer!, delay);
  }

  /** A restart timer fired: the one then pending. */
  #timed(child: Child): void {
    const timer = child.past!.timer;
    const box = this.#link === undefined ? this.#box : this.#mailbox();
    if (box.busy) return this.#later(child, false, undefined, timer, true);
    box.busy = true;
    try {
      this.#fire(child, timer);
    } finally {
      if (box.head < box.queue.length) _drain(box);
      else box.busy = false;
    }
  }

  /**
   * Queues a run's settling (or, with `timer`, a restart timer firing) while
   * another message is handled. A method of its own, so that the handlers of
   * the restart path allocate nothing when they run.
   */
  #later(child: Child, failed: boolean, error: unknown, timer?: unknown, fired?: boolean): void {
    if (fired) this.#post(() => this.#fire(child, timer));
    else this.#post(() => this.#settle(child, failed, error));
  }

  /** A restart timer fired: the next run begins, here, inside its callback. */
  #fire(child: Child, timer: unknown): void {
    // A timer that fired while a message was handled may be cleared since.
    const past = child.past!;
    if (timer === undefined || past.timer !== timer) return;
    past.timer = undefined;
    this.#apply(child, "timer");
  }

  /**
   * The delay of the restart being made after the run that just ended:
   * records it against the restart limit, resets the backoff after a long
   * run, and draws the jitter (a `random` that throws counts as no jitter).
   */
  #delay(child: Child, past: Past): number {
    const now = past.lastExitAt!;
    const options = child.options;
    past.window?.record(now);
    if (now - child.startedAt >= options.resetAfter) past.step = 0;
    let random = 0;
    try {
      random = this.#random();
    } catch {
      // No jitter.
    }
    return _backoffDelay(past.step++, options, random);
  }

  /** Counts (once) and announces a group member's restart, `delay` from now. */
  #announce(child: Child, delay: number): void {
    const past = pastOf(child);
    past.delay = delay;
    // One that never ran (restart() before start() reached it) starts with
    // its group, but is not restarted.
    if (child.attempt === 0) return;
    if (!past.counted) past.restarts++;
    past.counted = true;
    if (this.#wants("restart")) {
      this.#emit(new RestartEvent(child.name, { attempt: child.attempt + 1, delay }));
    }
  }

  /**
   * The wait for `child`'s aborted run ends by `until`, or earlier if it
   * already must. A child supervisor running on that run's signal is told
   * `until` as its shutdown's deadline.
   */
  #bound(child: Child, until: number): void {
    const current = this.#alarm.get(child);
    this.#alarm.set(child, current === undefined ? until : Math.min(current, until));
    const signal = child.controller?.signal;
    const link = child.sub;
    if (link && signal) _ask(() => link.hurry(until, signal), undefined);
  }

  /**
   * Whether `child` is a supervisor whose session, started on the signal of
   * the run being waited for, is still shutting down. Its run may be an
   * override of `run`; what counts is that this supervisor's own session
   * runs on that signal, so it honours the deadline it was told.
   */
  #stillStopping(child: Child): boolean {
    const signal = child.controller?.signal;
    const link = child.sub;
    return link !== undefined && signal !== undefined &&
      _ask(() => link.runsOn(signal) === true, false);
  }

  /** Takes the listener `start({ signal })` put on its signal off it. */
  #release(): void {
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    try {
      unlisten?.();
    } catch {
      // A caller's signal whose removeEventListener throws: its own affair.
    }
  }

  /** Tells the child supervisors not running that this session is over, for their `when()`. */
  #idleChildren(): void {
    for (const child of this.#children.values()) {
      const link = child.sub;
      if (link && !isLive(child.phase)) _ask(() => link.idle?.(), undefined);
    }
  }

  /** The session ended: every `when()` still waiting rejects. */
  #wake(failure: { readonly error: unknown } | undefined): void {
    const waiters = this.#waiters;
    if (!waiters || waiters.size === 0) return;
    for (const onEnd of [...waiters]) onEnd(failure);
  }

  #forget(child: Child): void {
    if (this.#children.get(child.name) === child) this.#children.delete(child.name);
    const link = child.sub;
    if (link) _ask(() => link.parent = undefined, undefined);
    const past = child.past;
    const removers = past?.removers;
    if (past) past.removers = undefined;
    for (const resolve of removers ?? []) resolve();
  }

  // ─── Events and helpers ─────────────────────────────────────────────────

  /**
   * Whether an event of `type` would reach a listener, here or above. Events
   * nobody listens to are not built: a crash loop pays nothing for them.
   */
  #wants(type: string): boolean {
    if (this.#listened.size === 0 && this.#link === undefined) return false;
    const parent = this.#parent;
    return this.#listened.has(type) ||
      (parent !== undefined && _ask(() => parent.wants(type) === true, false));
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
    if (!parent) return;
    let forwarded: Event | undefined;
    try {
      forwarded = _withPrefix(event, `${this.name}/`);
    } catch {
      // A listener redefined a field of the event with a getter that throws.
      return;
    }
    if (forwarded) _ask(() => parent.emit(forwarded), undefined);
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

  #unknown(action: string, name: string): RangeError {
    return new RangeError(
      `Cannot ${action} service ${JSON.stringify(name)} as no service has that name`,
    );
  }
}
