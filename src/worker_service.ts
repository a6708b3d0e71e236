import { _invalid, _MAX_TIMER_DELAY, _validateName, _validatePolicy } from "./options.ts";
import type { RestartPolicy, RunContext, Service } from "./service.ts";
import {
  decode,
  describe,
  encode,
  KEY,
  kindOf,
  type Message,
  postSafely,
  revive,
  stringified,
} from "./_worker_wire.ts";

/**
 * A web `Worker` as {@linkcode WorkerService} uses it: Deno's, Bun's and
 * browsers' `new Worker(url, { type: "module" })` all are one. Its `close`
 * event (Bun fires one when the worker exits) is listened to where it exists.
 */
export interface WebWorkerLike {
  /** Sends a message to the worker. */
  postMessage(message: unknown): void;
  /** Ends the worker at once, whatever it is running. */
  terminate(): void;
  /** Listens to `message`, `error`, `messageerror` and `close`. */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Stops listening. */
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * A `Worker` of Node's `node:worker_threads` as {@linkcode WorkerService}
 * uses it: an `EventEmitter` with `message`, `error`, `messageerror` and
 * `exit` events, whose `terminate()` returns a promise.
 */
export interface NodeWorkerLike {
  /** Sends a message to the worker. */
  postMessage(message: unknown): void;
  /** Ends the worker at once; the promise settles once its thread has exited. */
  terminate(): unknown;
  /** Listens to `message`, `error`, `messageerror` and `exit`. */
  on(type: string, listener: (value: unknown) => void): unknown;
  /** Stops listening. */
  off(type: string, listener: (value: unknown) => void): unknown;
}

/**
 * Anything a {@linkcode WorkerService} can run in: a web `Worker` (Deno, Bun,
 * browsers) or a `node:worker_threads` `Worker` (Node), told apart by
 * whether it has `addEventListener`.
 */
export type WorkerLike = WebWorkerLike | NodeWorkerLike;

/**
 * How a {@linkcode WorkerService} runs.
 */
export interface WorkerServiceOptions {
  /**
   * How long, in milliseconds, a stopped run's worker may take to end on its
   * own after its signal aborted, before it is terminated. Keep it below the
   * service's `stopTimeout` (5000 ms by default), so that the supervisor
   * never has to abandon the run. 0 terminates it at once (OTP's
   * `brutal_kill`).
   *
   * @default {1000}
   */
  readonly grace?: number;
  /**
   * When to restart the service, as a {@linkcode Service}'s own
   * `restartPolicy`: the `ServiceOptions` given to `add()` win over it.
   */
  readonly restartPolicy?: RestartPolicy;
}

/** The defaults of {@linkcode WorkerServiceOptions}, defined once. */
export const _WORKER_DEFAULTS: Readonly<{ grace: number }> = Object.freeze({ grace: 1000 });

const OPTION_KEYS: readonly string[] = ["grace", "restartPolicy"];

/** The events each kind of worker is listened to for. */
const WEB_EVENTS = ["message", "error", "messageerror", "close"] as const;
const NODE_EVENTS = ["message", "error", "messageerror", "exit"] as const;

/**
 * A {@linkcode Service} whose every run happens in a Worker of its own, made
 * fresh for the run by `create`, and **terminated** when it will not stop:
 * Erlang/OTP's `brutal_kill` after the shutdown time, for JavaScript. A run
 * stuck in `while (true) {}` or in a library that ignores its signal is
 * killed after `grace`, reported `stopped`, and never left running beside
 * the next one; each restart starts from clean memory.
 *
 * The worker module runs the service's code with {@linkcode serveInWorker}.
 * What happens in the worker reaches the supervisor as it would in-process:
 *
 * - `run` resolves: the run **completed**; it throws or rejects: it
 *   **failed**, with an `Error` of the same `name`, `message` and `stack`
 *   (`DoNotRestartError` and `EscalateError` are recognised by name and act
 *   as they do in-process);
 * - an uncaught error or unhandled rejection in the worker, a worker that
 *   fails to load, a message that cannot be deserialized (`messageerror`),
 *   a worker that exits or closes on its own, or one that runs out of memory
 *   (Node's `resourceLimits`): the run **failed**;
 * - `context.ready()` in the worker: the run is ready (`ready` event,
 *   `waitReady`);
 * - the run's signal aborts: the worker's signal aborts with the same reason
 *   (its string, where it cannot be cloned); the worker has `grace`
 *   milliseconds to end, then is terminated, and the run ends **stopped**.
 *
 * Whichever way a run ends, its worker is terminated before the run settles
 * (on Node, once its thread has exited), and every listener is removed.
 *
 * `create` returns a web `Worker` or a `node:worker_threads` `Worker`; both
 * shapes are accepted as they are. It is the place to listen to messages of
 * your own, too. Which kind can be terminated in the middle of synchronous
 * code depends on the runtime: in browsers and on Bun the web `Worker`; on
 * Node (which has no global `Worker`) and on Deno the `node:worker_threads`
 * one (Deno's web `Worker` waits for its event loop, which a busy loop never
 * reaches; its `node:worker_threads` Worker is interrupted because
 * {@linkcode serveInWorker} holds a Web Lock). Cloudflare workerd and
 * Vercel's edge runtime have no `Worker`.
 *
 * @example A run that ignores its signal, terminated after its grace
 * ```ts
 * import { Supervisor, WorkerService } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * // The worker module: ready, then it never settles and never looks at its signal.
 * const source = `
 *   import { serveInWorker } from ${JSON.stringify(import.meta.resolve("@janus/supervisor"))};
 *   serveInWorker((signal, context) => {
 *     context.ready();
 *     return new Promise(() => {});
 *   });
 * `;
 * const url = `data:application/javascript,${encodeURIComponent(source)}`;
 *
 * const supervisor = new Supervisor({ waitReady: true });
 * supervisor.add(
 *   new WorkerService("stuck", () => new Worker(url, { type: "module" }), { grace: 50 }),
 * );
 * await supervisor.start(); // waits for context.ready() in the worker
 * assert.equal(supervisor.status()[0]?.ready, true);
 * // Terminated after 50 ms: stopped, not abandoned.
 * assert.deepEqual(await supervisor.stop(), { stopped: ["stuck"], timedOut: [] });
 * ```
 */
export class WorkerService implements Service {
  /** The service's name. */
  readonly name: string;
  /** The service's own restart policy, if one was given. */
  readonly restartPolicy?: RestartPolicy;
  readonly #create: () => WorkerLike;
  readonly #grace: number;

  /**
   * Creates the service. Nothing runs until a supervisor starts it.
   *
   * @param name A unique, non-empty name within its supervisor.
   * @param create Makes a fresh worker for each run.
   * @param options The grace period and the restart policy.
   */
  constructor(name: string, create: () => WorkerLike, options?: WorkerServiceOptions) {
    const where = `create worker service ${JSON.stringify(describe(name))}`;
    if (typeof name !== "string") _invalid(where, "name", "a string", name, "type");
    _validateName(where, name);
    if (typeof create !== "function") _invalid(where, "create", "a function", create, "type");
    let grace: number = _WORKER_DEFAULTS.grace;
    let policy: RestartPolicy | undefined;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) {
        _invalid(where, "options", "an object", options, "type");
      }
      const given = { ...options };
      for (const key of Object.keys(given)) {
        if (OPTION_KEYS.includes(key)) continue;
        const hint = key === "stopTimeout"
          ? "it is a service option: pass it to add()"
          : `the options are ${OPTION_KEYS.map((k) => `'${k}'`).join(" and ")}`;
        throw new TypeError(`Cannot ${where} as '${key}' is not an option: ${hint}`);
      }
      if (given.grace !== undefined) {
        if (typeof given.grace !== "number") {
          _invalid(where, "grace", "a number", given.grace, "type");
        }
        if (!(given.grace >= 0 && given.grace <= _MAX_TIMER_DELAY)) {
          _invalid(where, "grace", `a number from 0 to ${_MAX_TIMER_DELAY}`, given.grace, "range");
        }
        grace = given.grace;
      }
      _validatePolicy(where, "restartPolicy", given.restartPolicy);
      policy = given.restartPolicy;
    }
    this.name = name;
    if (policy !== undefined) this.restartPolicy = policy;
    this.#create = create;
    this.#grace = grace;
  }

  /**
   * Runs the service once, in a fresh worker: settles when the worker's run
   * ends, or, after `signal` aborted, when the worker ended or was
   * terminated.
   *
   * @param signal Aborted when the supervisor stops the run.
   * @param context Its `attempt` is passed on; its `ready` is called when the
   * worker's run calls its own.
   */
  run(signal: AbortSignal, context: RunContext): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    let worker: WorkerLike;
    try {
      worker = this.#create();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isWorkerLike(worker)) {
      return Promise.reject(
        new TypeError(
          `Worker service '${this.name}' expected create() to return a Worker (with ` +
            `postMessage, terminate, and addEventListener or on): it returned ${describe(worker)}`,
        ),
      );
    }
    if (used.has(worker)) {
      return Promise.reject(
        new TypeError(
          `Worker service '${this.name}' expected create() to return a fresh Worker for each ` +
            "run: it returned one that already ran",
        ),
      );
    }
    used.add(worker);
    return new Promise<void>((resolve, reject) => {
      new Run(this.name, worker, signal, context, this.#grace, resolve, reject);
    });
  }
}

/** Every Worker a run was given: a Worker runs once. */
const used = new WeakSet<object>();

function isWorkerLike(value: unknown): value is WorkerLike {
  try {
    if (typeof value !== "object" || value === null) return false;
    const w = value as Record<string, unknown>;
    if (typeof w.postMessage !== "function" || typeof w.terminate !== "function") return false;
    return (typeof w.addEventListener === "function" &&
      typeof w.removeEventListener === "function") ||
      (typeof w.on === "function" && typeof w.off === "function");
  } catch {
    return false;
  }
}

/** An `ErrorEvent`'s fields, where the event is one. */
function errorEventError(name: string, event: unknown): unknown {
  const read = <T>(get: () => T): T | undefined => {
    try {
      return get();
    } catch {
      return undefined;
    }
  };
  const e = event as { error?: unknown; message?: unknown; filename?: unknown; lineno?: unknown };
  const error = read(() => e.error);
  if (typeof error === "object" && error !== null) return fromNode(error);
  const message = read(() => e.message);
  if (typeof message === "string" && message !== "") {
    // Deno and browsers say `Uncaught TypeError: boom`: keep the name it names.
    const named = /^(?:Uncaught (?:\(in promise\) )?)?([A-Za-z_$][\w$]*): ([\s\S]*)$/
      .exec(message);
    const filename = read(() => e.filename);
    const lineno = read(() => e.lineno);
    const at = typeof filename === "string" && filename !== ""
      ? `\n    at ${filename}${typeof lineno === "number" && lineno > 0 ? `:${lineno}` : ""}`
      : "";
    return named && /(?:Error|Exception)$/.test(named[1]!)
      ? revive(named[1], named[2]!, `${named[1]}: ${named[2]}${at}`)
      : revive("Error", `Worker of service '${name}' failed: ${message}`, undefined);
  }
  return revive(
    "Error",
    `Worker of service '${name}' failed to load or raised an error the runtime did not describe`,
    undefined,
  );
}

/** An error from Node's `error` event: ours again when it is one of our domain errors by name. */
function fromNode(error: unknown): unknown {
  let name: unknown;
  try {
    name = (error as Error).name;
  } catch {
    return error;
  }
  if (name !== "DoNotRestartError" && name !== "EscalateError") return error;
  try {
    const e = error as Error;
    return revive(name, String(e.message), typeof e.stack === "string" ? e.stack : undefined);
  } catch {
    return error;
  }
}

/**
 * One run in one worker: listens to the worker and to the run's signal until
 * the run ends, then terminates the worker, removes every listener and timer,
 * and settles.
 */
class Run {
  readonly #name: string;
  readonly #worker: WorkerLike;
  readonly #signal: AbortSignal;
  readonly #context: RunContext;
  readonly #grace: number;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  readonly #web: boolean;
  readonly #onAbort = () => this.#stop();
  readonly #onWeb = (event: Event) => this.#webEvent(event);
  readonly #onNode: Record<(typeof NODE_EVENTS)[number], (value: unknown) => void> = {
    message: (value) => this.#message(value),
    error: (value) => this.#end(false, fromNode(value)),
    messageerror: () => this.#end(false, this.#messageError()),
    exit: (code) => this.#end(false, this.#exited(code)),
  };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;

  constructor(
    name: string,
    worker: WorkerLike,
    signal: AbortSignal,
    context: RunContext,
    grace: number,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#name = name;
    this.#worker = worker;
    this.#signal = signal;
    this.#context = context;
    this.#grace = grace;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#web = typeof (worker as WebWorkerLike).addEventListener === "function";
    try {
      if (this.#web) {
        for (const type of WEB_EVENTS) {
          (worker as WebWorkerLike).addEventListener(type, this.#onWeb);
        }
      } else {
        for (const type of NODE_EVENTS) (worker as NodeWorkerLike).on(type, this.#onNode[type]);
      }
      signal.addEventListener("abort", this.#onAbort, { once: true });
      this.#post({ [KEY]: "start", attempt: context.attempt });
      // create() may have aborted the signal already, before anything listened.
      if (signal.aborted) this.#stop();
    } catch (error) {
      this.#end(false, error);
    }
  }

  #post(message: Message): void {
    this.#worker.postMessage(message);
  }

  #webEvent(event: Event): void {
    switch (event.type) {
      case "message":
        return this.#message((event as MessageEvent).data);
      case "error":
        // Unhandled, Deno would end this process with the worker's error.
        event.preventDefault();
        return this.#end(false, errorEventError(this.#name, event));
      case "messageerror":
        return this.#end(false, this.#messageError());
      case "close":
        return this.#end(false, this.#exited((event as Event & { code?: unknown }).code));
    }
  }

  #message(data: unknown): void {
    switch (kindOf(data)) {
      case "ready":
        if (!this.#ended) this.#context.ready();
        return;
      case "end": {
        const end = data as { ok?: unknown; error?: unknown };
        return end.ok === true ? this.#end(true, undefined) : this.#end(false, decode(end.error));
      }
      case "exit":
        return this.#end(false, this.#exited(undefined));
    }
  }

  #messageError(): Error {
    return revive(
      "Error",
      `Worker of service '${this.#name}' sent a message that could not be deserialized`,
      undefined,
    );
  }

  #exited(code: unknown): Error {
    const how = typeof code === "number" ? ` with code ${code}` : "";
    return revive(
      "Error",
      `Worker of service '${this.#name}' exited on its own${how} before its run ended`,
      undefined,
    );
  }

  /** The run's signal aborted: pass the stop on, and terminate the worker after the grace. */
  #stop(): void {
    if (this.#ended) return;
    const reason = encode(this.#signal.reason);
    const sent = postSafely(
      (message) => this.#post(message),
      { [KEY]: "stop", reason },
      () => ({ [KEY]: "stop", reason: stringified(reason) }),
    );
    if (!sent || this.#grace === 0) return this.#end(true, undefined);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#end(true, undefined);
    }, this.#grace);
  }

  /** The run is over: terminate the worker, then drop every listener and settle. */
  #end(ok: boolean, error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#signal.removeEventListener("abort", this.#onAbort);
    let terminated: unknown;
    try {
      terminated = this.#worker.terminate();
    } catch { /* already gone */ }
    const settle = () => {
      this.#unlisten();
      if (ok) this.#resolve();
      else this.#reject(error);
    };
    if (isThenable(terminated)) {
      // Node: its events may come until the thread has exited, so listen till then.
      Promise.resolve(terminated).then(settle, settle);
    } else {
      settle();
    }
  }

  #unlisten(): void {
    try {
      if (this.#web) {
        for (const type of WEB_EVENTS) {
          (this.#worker as WebWorkerLike).removeEventListener(type, this.#onWeb);
        }
      } else {
        for (const type of NODE_EVENTS) {
          (this.#worker as NodeWorkerLike).off(type, this.#onNode[type]);
        }
      }
    } catch { /* a worker that refuses keeps its listeners; it is terminated */ }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (typeof value === "object" || typeof value === "function") && value !== null &&
      typeof (value as PromiseLike<unknown>).then === "function";
  } catch {
    return false;
  }
}
