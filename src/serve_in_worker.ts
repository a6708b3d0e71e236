import { _invalid } from "./options.ts";
import type { RunContext } from "./service.ts";
import {
  decode,
  encode,
  KEY,
  kindOf,
  type Message,
  postSafely,
  stringified,
} from "./_worker_wire.ts";

/**
 * The worker's end of the channel to its {@linkcode WorkerService}: a web
 * worker's global scope (`self`), which {@linkcode serveInWorker} uses by
 * default, or Node's `parentPort` from `node:worker_threads`, which must be
 * passed as `port`.
 */
export interface WorkerPort {
  /** Sends a message to the supervisor's side. */
  postMessage(message: unknown): void;
  /** Node's `MessagePort` (preferred when present: it keeps the thread alive). */
  on?(type: "message", listener: (value: unknown) => void): unknown;
  /** Stops listening, on Node's `MessagePort`. */
  off?(type: "message", listener: (value: unknown) => void): unknown;
  /** A web worker's global scope. */
  addEventListener?(type: "message", listener: (event: MessageEvent) => void): void;
  /** Stops listening, on a web worker's global scope. */
  removeEventListener?(type: "message", listener: (event: MessageEvent) => void): void;
}

/** How {@linkcode serveInWorker} reaches its supervisor. */
export interface ServeInWorkerOptions {
  /**
   * The channel to the supervisor: on Node, `parentPort` from
   * `node:worker_threads`. Elsewhere the worker's global scope, by default.
   */
  readonly port?: WorkerPort;
}

/** The run function a worker serves: the same as a service's `run`. */
export type RunFunction = (signal: AbortSignal, context: RunContext) => Promise<void> | void;

/** The ports that serve a run already: one run per worker. */
const served = new WeakSet<object>();

/**
 * Runs `run` inside a Worker on behalf of a {@linkcode WorkerService}: call
 * it once, at the top of the worker module. The same `run(signal, context)`
 * works in-process and in a Worker, unchanged:
 *
 * - `signal` aborts when the supervisor stops the run, with its reason (its
 *   string, where the reason cannot be cloned);
 * - `context.attempt` is the supervisor's; `context.ready()` reaches the
 *   supervisor as `ready`;
 * - `run` resolving is a completed run, and throwing or rejecting a failed
 *   one, with the error's `name`, `message`, `stack` and `cause` carried
 *   across; an uncaught error or unhandled rejection anywhere in the worker
 *   fails the run too, and so does calling `close()`.
 *
 * Messages of the protocol carry the key `"@janus/supervisor"`; the
 * worker's own messages pass untouched both ways.
 *
 * @example A worker module (Deno, Bun, browsers)
 * ```ts ignore
 * // feed_worker.ts, started with
 * // new WorkerService("feed", () => new Worker(new URL("./feed_worker.ts", import.meta.url), { type: "module" }))
 * import { serveInWorker } from "@janus/supervisor";
 *
 * serveInWorker(async (signal, { attempt, ready }) => {
 *   const socket = new WebSocket("wss://feed.example");
 *   signal.addEventListener("abort", () => socket.close(), { once: true });
 *   await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
 *   ready();
 *   await new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
 *   if (!signal.aborted) throw new Error(`feed closed (attempt ${attempt})`);
 * });
 * ```
 *
 * @example The same on Node, with `node:worker_threads`
 * ```ts ignore
 * // feed_worker.mjs, started with
 * // new WorkerService("feed", () => new Worker(new URL("./feed_worker.mjs", import.meta.url)))
 * // where Worker comes from node:worker_threads.
 * import { parentPort } from "node:worker_threads";
 * import { serveInWorker } from "@janus/supervisor";
 *
 * serveInWorker(async (signal) => {
 *   // … the same run as above
 * }, { port: parentPort });
 * ```
 *
 * @example Outside a worker, without a port
 * ```ts
 * import { serveInWorker } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * // Outside a worker, with no port, it says what it needs.
 * assert.throws(() => serveInWorker(() => {}), TypeError);
 * ```
 *
 * @param run Does the service's work, as a service's `run` does.
 * @param options `port`: the channel to the supervisor, on Node.
 */
export function serveInWorker(run: RunFunction, options?: ServeInWorkerOptions): void {
  const where = "serve in worker";
  if (typeof run !== "function") _invalid(where, "run", "a function", run, "type");
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    _invalid(where, "options", "an object", options, "type");
  }
  const given = options?.port;
  const port: WorkerPort | undefined = given ??
    (inWorkerScope() ? globalThis as unknown as WorkerPort : undefined);
  if (port === undefined) {
    _invalid(
      where,
      "options.port",
      "given outside a web worker (on Node: parentPort from node:worker_threads)",
      given,
      "type",
    );
  }
  if (typeof port.postMessage !== "function") {
    _invalid(where, "options.port", "an object with postMessage", port, "type");
  }
  const useOn = typeof port.on === "function";
  if (!useOn && typeof port.addEventListener !== "function") {
    _invalid(where, "options.port", "an object with on or addEventListener", port, "type");
  }
  if (served.has(port)) {
    throw new Error("Cannot serve in worker twice: this port already serves a run");
  }
  served.add(port);
  new Server(port, useOn, run, given === undefined);
}

/**
 * Whether this code runs in a web worker's global scope: an instance of
 * `WorkerGlobalScope` where the runtime defines it (browsers, Deno); else a
 * global `postMessage` with no `window` or `document` (Bun, whose main
 * thread looks the same, so there a missing port is not caught).
 */
function inWorkerScope(): boolean {
  const g = globalThis as Record<string, unknown>;
  try {
    if (typeof g.WorkerGlobalScope === "function") {
      return globalThis instanceof (g.WorkerGlobalScope as new () => unknown);
    }
  } catch {
    return false;
  }
  return typeof g.postMessage === "function" && typeof g.addEventListener === "function" &&
    typeof g.window === "undefined" && typeof g.document === "undefined";
}

/**
 * Resolves once this worker holds a Web Lock of its own, for as long as it
 * lives, or at once where there are no Web Locks (or they are refused). Deno
 * interrupts a `node:worker_threads` Worker stuck in a synchronous loop on
 * `terminate()` only when it holds a lock; elsewhere holding one is harmless,
 * and it is released when the worker ends.
 */
function holdLock(): Promise<void> {
  type Locks = { request(name: string, callback: () => Promise<void>): Promise<unknown> };
  let locks: Locks | undefined;
  try {
    locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
  } catch {
    return Promise.resolve();
  }
  if (typeof locks?.request !== "function") return Promise.resolve();
  return new Promise((resolve) => {
    try {
      const name = `@janus/supervisor/worker/${Date.now()}/${Math.random()}`;
      locks.request(name, () => {
        resolve();
        return new Promise<void>(() => {});
      }).then(() => resolve(), () => resolve());
    } catch {
      resolve();
    }
  });
}

/** The worker's side of one run. */
class Server {
  readonly #port: WorkerPort;
  readonly #run: RunFunction;
  readonly #controller = new AbortController();
  readonly #onValue = (value: unknown) => this.#message(value);
  readonly #onEvent = (event: MessageEvent) => this.#message(event.data);
  readonly #held = holdLock();
  #started = false;
  #ended = false;
  #ready = false;

  constructor(port: WorkerPort, useOn: boolean, run: RunFunction, isScope: boolean) {
    this.#port = port;
    this.#run = run;
    if (useOn) port.on!("message", this.#onValue);
    else port.addEventListener!("message", this.#onEvent);
    if (isScope) this.#watchScope();
  }

  #post(message: Message): boolean {
    return postSafely(
      (m) => this.#port.postMessage(m),
      message,
      () =>
        message[KEY] === "end" && !message.ok
          ? { ...message, error: stringified(message.error) }
          : message,
    );
  }

  /** A web worker's uncaught errors and `close()` end the run as failed. */
  #watchScope(): void {
    const scope = globalThis as unknown as {
      addEventListener(type: string, listener: (event: Event) => void): void;
      close?: () => void;
    };
    scope.addEventListener("error", (event) => {
      event.preventDefault();
      this.#fail((event as ErrorEvent).error ?? (event as ErrorEvent).message);
    });
    scope.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      this.#fail((event as PromiseRejectionEvent).reason);
    });
    const close = scope.close;
    if (typeof close === "function") {
      scope.close = () => {
        if (!this.#ended) {
          this.#ended = true;
          this.#post({ [KEY]: "exit" });
        }
        close.call(scope);
      };
    }
  }

  #message(data: unknown): void {
    switch (kindOf(data)) {
      case "start": {
        if (this.#started || this.#ended) return;
        this.#started = true;
        const attempt = (data as { attempt?: unknown }).attempt;
        this.#held.then(() => this.#start(typeof attempt === "number" ? attempt : 1));
        return;
      }
      case "stop":
        if (!this.#controller.signal.aborted) {
          this.#controller.abort(decode((data as { reason?: unknown }).reason));
        }
        return;
    }
  }

  #start(attempt: number): void {
    const context: RunContext = {
      attempt,
      ready: () => {
        if (this.#ready || this.#ended) return;
        this.#ready = true;
        this.#post({ [KEY]: "ready" });
      },
    };
    let result: unknown;
    try {
      result = this.#run(this.#controller.signal, context);
    } catch (error) {
      return this.#fail(error);
    }
    Promise.resolve(result).then(
      () => this.#finish({ [KEY]: "end", ok: true }),
      (error) => this.#fail(error),
    );
  }

  #fail(error: unknown): void {
    this.#finish({ [KEY]: "end", ok: false, error: encode(error) });
  }

  #finish(message: Message): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#post(message);
  }
}
