/**
 * What {@linkcode WorkerService} and {@linkcode serveInWorker} say to each
 * other through `postMessage`, and how a thrown value or an abort reason
 * crosses the boundary.
 *
 * Every message is a plain object tagged with {@linkcode KEY}, so that the
 * messages a user's own code posts are told apart and left alone:
 *
 * - supervisor to worker: `start` (with the run's `attempt`), `stop` (with
 *   the encoded abort reason);
 * - worker to supervisor: `ready`, `end` (with `ok`, and the encoded error
 *   when the run failed), `exit` (the worker called `close()`).
 *
 * Structured clone keeps an `Error`'s `name`, `message` and `stack` on most
 * runtimes, but not everywhere (Node 20 clones a `DOMException` to `{}`),
 * and a value with a function in it does not clone at all. So errors are
 * sent as plain fields, read defensively, and rebuilt on the other side.
 *
 * @module
 */
import { _DO_NOT_RESTART, _ESCALATE, _marked, DoNotRestartError, EscalateError } from "./errors.ts";

/** The tag of every message of the protocol. */
export const KEY = "@janus/supervisor";

/** How deep a chain of `cause`s is carried. */
const MAX_CAUSES = 8;

/** An error as plain fields. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Rebuilt as a `DOMException` (an abort reason, most often). */
  readonly dom?: true;
  /**
   * It was a `DoNotRestartError` or an `EscalateError` (a subclass with a
   * name of its own included): the class does not cross, this does.
   */
  readonly kind?: "doNotRestart" | "escalate";
  readonly cause?: Wire;
}

/** A thrown value or an abort reason on its way across. */
export type Wire = { readonly error: WireError } | { readonly value: unknown };

/** A message of the protocol, tagged. */
export type Message =
  | { readonly [KEY]: "start"; readonly attempt: number }
  | { readonly [KEY]: "stop"; readonly reason: Wire }
  | { readonly [KEY]: "ready" }
  | { readonly [KEY]: "end"; readonly ok: true }
  | { readonly [KEY]: "end"; readonly ok: false; readonly error: Wire }
  | { readonly [KEY]: "exit" };

/** The message's kind when it is one of ours, else `undefined`; never throws. */
export function kindOf(data: unknown): string | undefined {
  try {
    if (typeof data !== "object" || data === null) return undefined;
    const kind = (data as Record<string, unknown>)[KEY];
    return typeof kind === "string" ? kind : undefined;
  } catch {
    return undefined;
  }
}

/** `read()`, or `undefined` where reading throws (a hostile getter). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function isErrorLike(value: object): boolean {
  return attempt(() =>
    value instanceof Error ||
    (typeof DOMException === "function" && value instanceof DOMException) ||
    Object.prototype.toString.call(value) === "[object Error]" ||
    Object.prototype.toString.call(value) === "[object DOMException]"
  ) === true;
}

/** `String(value)`, or a placeholder for a value that cannot be printed. */
export function describe(value: unknown): string {
  return attempt(() => String(value)) ?? "[a value that cannot be printed]";
}

/**
 * A thrown value or an abort reason as something `postMessage` can carry:
 * an error as its fields (and its causes, up to {@linkcode MAX_CAUSES});
 * anything else as it is, for structured clone to copy.
 */
export function encode(value: unknown, depth = 0): Wire {
  if ((typeof value === "object" && value !== null) && isErrorLike(value)) {
    const text = (read: () => unknown) => {
      const got = attempt(read);
      return typeof got === "string" ? got : undefined;
    };
    const error = value as Error;
    const name = text(() => error.name) ?? "Error";
    const message = text(() => error.message) ?? "";
    const stack = text(() => error.stack);
    const dom = attempt(() =>
      typeof DOMException === "function" && value instanceof DOMException
    ) === true;
    // Marked, not `instanceof`: the run may throw the errors of another copy.
    const kind = _marked(value, _DO_NOT_RESTART)
      ? "doNotRestart" as const
      : _marked(value, _ESCALATE)
      ? "escalate" as const
      : undefined;
    const hasCause = attempt(() => "cause" in error) === true;
    const cause = hasCause && depth < MAX_CAUSES
      ? encode(attempt(() => error.cause), depth + 1)
      : undefined;
    return {
      error: {
        name,
        message,
        ...(stack === undefined ? {} : { stack }),
        ...(dom ? { dom: true } : {}),
        ...(kind === undefined ? {} : { kind }),
        ...(cause === undefined ? {} : { cause }),
      },
    };
  }
  return { value };
}

/** The same wire with every value that is not an error replaced by its string. */
export function stringified(wire: Wire): Wire {
  if ("value" in wire) return { value: describe(wire.value) };
  const cause = wire.error.cause;
  return cause === undefined ? wire : { error: { ...wire.error, cause: stringified(cause) } };
}

/**
 * Posts `message` through `post`; when structured clone refuses it (a value
 * with a function in it), posts `fallback()` instead. Returns whether either
 * went.
 */
export function postSafely(
  post: (message: Message) => void,
  message: Message,
  fallback: () => Message,
): boolean {
  try {
    post(message);
    return true;
  } catch {
    try {
      post(fallback());
      return true;
    } catch {
      return false;
    }
  }
}

/** Gives `error` the `stack` it had on the other side, where the runtime allows it. */
function withStack<T extends Error>(error: T, stack: string | undefined): T {
  if (stack !== undefined) {
    try {
      Object.defineProperty(error, "stack", {
        value: stack,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    } catch { /* a runtime that refuses keeps the local stack */ }
  }
  return error;
}

/**
 * Rebuilds what {@linkcode encode} sent: an `Error` with the same `name`,
 * `message`, `stack` and `cause`. The class does not cross a structured clone,
 * so `DoNotRestartError` and `EscalateError` (and their subclasses) are
 * recognised by the `kind` encode() noted, or else by their name, and
 * a `DOMException` comes back as one.
 */
export function decode(wire: unknown, depth = 0): unknown {
  if (typeof wire !== "object" || wire === null) return wire;
  if ("value" in wire) return (wire as { value: unknown }).value;
  const fields = (wire as { error?: unknown }).error;
  if (typeof fields !== "object" || fields === null) return undefined;
  const { name, message, stack, dom, kind, cause } = fields as Partial<WireError>;
  // A worker's message is data it made: a cyclic or endless cause chain stops
  // where encode() stops.
  const options = cause === undefined || depth >= MAX_CAUSES
    ? undefined
    : { cause: decode(cause, depth + 1) };
  const text = typeof message === "string" ? message : "";
  if (dom && typeof DOMException === "function") {
    return withStack(new DOMException(text, typeof name === "string" ? name : "Error"), stack);
  }
  return revive(
    kind === "doNotRestart" ? "DoNotRestartError" : kind === "escalate" ? "EscalateError" : name,
    text,
    stack,
    options,
    name,
  );
}

/** An error of the right class for `name`: ours for our domain errors, else an `Error`. */
export function revive(
  name: unknown,
  message: string,
  stack: string | undefined,
  options?: ErrorOptions,
  shown: unknown = name,
): Error {
  const error = name === "DoNotRestartError"
    ? new DoNotRestartError(message, options)
    : name === "EscalateError"
    ? new EscalateError(message, options)
    : new Error(message, options);
  if (typeof shown === "string" && error.name !== shown) error.name = shown;
  return withStack(error, stack);
}
