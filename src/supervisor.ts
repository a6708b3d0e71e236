import { _backoffDelay } from "./backoff.ts";
import { DoNotRestartError, RestartLimitError } from "./errors.ts";
import {
  ExitEvent,
  type ExitOutcome,
  GiveupEvent,
  RestartEvent,
  StartEvent,
  StopTimeoutEvent,
  type SupervisorEventMap,
} from "./events.ts";
import {
  _invalid,
  type _ResolvedOptions,
  _resolveOptions,
  _validateOptions,
  _validatePolicy,
  type ServiceOptions,
  type SupervisorOptions,
} from "./options.ts";
import { _RestartWindow } from "./restart_limit.ts";
import type { Service } from "./service.ts";

/**
 * Where a service is in its life:
 *
 * - `running`: a run is live;
 * - `backing_off`: the run ended and a restart waits out its delay;
 * - `completed`: the run completed and the policy does not restart it;
 * - `failed`: the run failed and will not be restarted (policy `never`, a
 *   {@linkcode DoNotRestartError}, or the restart limit);
 * - `stopping`: `stop()` aborted the run and waits for it to settle (a run
 *   abandoned after its `stopTimeout` stays here until it settles);
 * - `stopped`: not started yet, or stopped by `stop()`.
 */
export type ServiceState =
  | "running"
  | "backing_off"
  | "completed"
  | "failed"
  | "stopping"
  | "stopped";

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
  /** How many restarts have been scheduled. */
  readonly restarts: number;
  /**
   * What the last failed run threw, or the {@linkcode RestartLimitError} the
   * service gave up with. Absent while no run has failed.
   */
  readonly lastError?: unknown;
}

/** What {@linkcode Supervisor.stop} reports, each list in stop order. */
export interface StopReport {
  /**
   * The services that were running or waiting to restart when `stop()` was
   * called and are now at rest.
   */
  readonly stopped: string[];
  /**
   * The services whose run did not settle within its `stopTimeout` after its
   * signal was aborted, and was abandoned.
   */
  readonly timedOut: string[];
}

/** One supervised service and everything the supervisor knows of it. */
interface _Child {
  readonly service: Service;
  readonly options: _ResolvedOptions;
  readonly window: _RestartWindow;
  state: ServiceState;
  attempt: number;
  restarts: number;
  /** Restarts since the backoff was last reset: the n of the formula. */
  backoffStep: number;
  lastError: { readonly error: unknown } | undefined;
  /** The live run's controller; kept for an abandoned run until it settles. */
  controller: AbortController | undefined;
  /** Settles (never rejects) when the live run has settled and been handled. */
  settled: Promise<void> | undefined;
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Keeps long-running async services alive: starts each one, notices when
 * its run ends, restarts it as its policy says with exponential backoff up
 * to a restart limit, and stops them all gracefully, in reverse order, each
 * within its `stopTimeout`.
 *
 * Lifecycle events (`start`, `exit`, `restart`, `giveup`, `stoptimeout`) are
 * dispatched on the supervisor, which is an `EventTarget`. A listener that
 * throws never changes what the supervisor does.
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
export class Supervisor extends EventTarget {
  readonly #options: SupervisorOptions;
  readonly #random: () => number;
  readonly #children = new Map<string, _Child>();
  #started = false;
  #stopped = false;
  #stopping: Promise<StopReport> | undefined;

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
    this.#random = options.random ?? (() => Math.random());
  }

  /**
   * Adds a service object. After `start()`, the service starts at once.
   *
   * @param service The service; the same object is run on every restart.
   * @param options Overrides of the supervisor's options for this service.
   * @returns The supervisor, for chaining.
   * @throws {TypeError | RangeError} The service or an option is invalid, or
   * the name is taken; nothing is registered.
   * @throws {Error} The supervisor is stopped.
   */
  add(service: Service, options?: ServiceOptions): this;
  /**
   * Adds a service given by its name and its `run` function. After
   * `start()`, the service starts at once.
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
    const resolved = _resolveOptions(where, this.#options, options ?? {}, service.restartPolicy);
    const child: _Child = {
      service,
      options: resolved,
      window: new _RestartWindow(resolved.maxRestarts, resolved.restartWindow),
      state: "stopped",
      attempt: 0,
      restarts: 0,
      backoffStep: 0,
      lastError: undefined,
      controller: undefined,
      settled: undefined,
      startedAt: 0,
      timer: undefined,
    };
    this.#children.set(name, child);
    if (this.#started) this.#launch(child);
    return this;
  }

  /**
   * Starts every service, in the order they were added. Services added later
   * start as they are added. Calling it again does nothing.
   *
   * @returns A promise that resolves once every service's first run began.
   * @throws {Error} The supervisor is stopped (the promise rejects).
   */
  start(): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(new Error("Cannot start supervisor as it is stopped"));
    }
    if (!this.#started) {
      this.#started = true;
      for (const child of this.#children.values()) {
        // A `start` listener or a run may have stopped the supervisor.
        if (this.#stopped) break;
        this.#launch(child);
      }
    }
    return Promise.resolve();
  }

  /**
   * Stops the supervisor for good. Pending restarts are cancelled at once;
   * then, one at a time and in reverse order of adding, each live run's
   * signal is aborted with `reason` and the run is awaited for up to its
   * `stopTimeout`. A run still pending then is abandoned, reported in
   * `timedOut`, and a `stoptimeout` event fires.
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

  /**
   * Reports every service, in the order they were added.
   *
   * @returns A fresh snapshot; changing it changes nothing.
   */
  status(): ServiceStatus[] {
    const result: ServiceStatus[] = [];
    for (const child of this.#children.values()) {
      const status = {
        name: child.service.name,
        state: child.state,
        attempt: child.attempt,
        restarts: child.restarts,
      };
      result.push(child.lastError ? { ...status, lastError: child.lastError.error } : status);
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

  /** Dispatches an event; a listener's error never reaches supervision. */
  #emit(event: Event): void {
    try {
      this.dispatchEvent(event);
    } catch {
      // Deno, Node and Bun report a listener's error themselves and never
      // throw here; an `EventTarget` that does must not derail a restart.
    }
  }

  /** Begins a run. Runs inside the restart timer's callback, not after it. */
  #launch(child: _Child): void {
    const controller = new AbortController();
    const attempt = ++child.attempt;
    child.timer = undefined;
    child.controller = controller;
    child.state = "running";
    child.startedAt = Date.now();
    this.#emit(new StartEvent(child.service.name, attempt));
    let result: unknown;
    try {
      result = child.service.run(controller.signal, { attempt });
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
    const name = child.service.name;
    const now = Date.now();
    let outcome: ExitOutcome;
    let next: Event | undefined;
    if (controller.signal.aborted) {
      outcome = "stopped";
      child.state = "stopped";
    } else {
      outcome = thrown ? "failed" : "completed";
      if (thrown) child.lastError = thrown;
      const policy = child.options.restartPolicy;
      const restart = !(thrown?.error instanceof DoNotRestartError) &&
        (policy === "always" || (policy === "on_failure" && thrown !== undefined));
      if (!restart) {
        child.state = thrown ? "failed" : "completed";
      } else if (this.#stopped) {
        // Shutting down: the restart the policy asks for is not made.
        child.state = "stopped";
      } else if (!child.window.admit(now)) {
        const error = new RestartLimitError(
          name,
          child.restarts,
          thrown ? { cause: thrown.error } : undefined,
        );
        child.lastError = { error };
        child.state = "failed";
        next = new GiveupEvent(name, error);
      } else {
        if (now - child.startedAt >= child.options.resetAfter) child.backoffStep = 0;
        const delay = _backoffDelay(child.backoffStep, child.options, this.#random());
        child.backoffStep++;
        child.restarts++;
        child.state = "backing_off";
        // The timer is set before any listener runs, so a listener that
        // calls `stop()` finds it and cancels it.
        child.timer = setTimeout(() => this.#launch(child), delay);
        next = new RestartEvent(name, attempt + 1, delay);
      }
    }
    this.#emit(new ExitEvent(name, attempt, outcome, thrown));
    if (next) this.#emit(next);
  }

  async #stop(reason: unknown): Promise<StopReport> {
    this.#stopped = true;
    const active: _Child[] = [];
    for (const child of [...this.#children.values()].reverse()) {
      if (child.timer !== undefined) {
        clearTimeout(child.timer);
        child.timer = undefined;
        child.state = "stopped";
        active.push(child);
      } else if (child.state === "running") {
        active.push(child);
      }
    }
    // Lets a run that is being launched right now (stop() called from a
    // `start` listener or from inside `run`) finish launching first.
    await Promise.resolve();
    const stopped: string[] = [];
    const timedOut: string[] = [];
    for (const child of active) {
      const { controller, settled } = child;
      if (controller && settled && !controller.signal.aborted) {
        child.state = "stopping";
        controller.abort(
          reason === undefined
            ? new DOMException("The supervisor is stopping", "AbortError")
            : reason,
        );
        if (!await _settlesWithin(settled, child.options.stopTimeout)) {
          timedOut.push(child.service.name);
          this.#emit(new StopTimeoutEvent(child.service.name));
          continue;
        }
      }
      stopped.push(child.service.name);
    }
    return { stopped, timedOut };
  }
}

/** Whether `promise` settles within `ms` milliseconds; clears its timer either way. */
function _settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  if (ms === Infinity) return promise.then(() => true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
