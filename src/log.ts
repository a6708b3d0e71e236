import { dispose } from "./_dispose.ts";
import { describe } from "./_describe.ts";
import { _CLASSES } from "./events.ts";

/** How much an event matters, by the name of the method of a {@linkcode LevelLogger} it goes to. */
type Level = "info" | "warn" | "error";

/**
 * A logger with a method per level, as `console`, pino and winston have:
 * {@linkcode logEvents} sends each line to `error` for a service that gave
 * up, a run abandoned at stop and an escalation, to `warn` for a failed run,
 * and to `info` for the rest.
 */
export interface LevelLogger {
  /** Called with the line of a `start`, `ready`, `restart`, or `exit` that did not fail. */
  info(line: string): void;
  /** Called with the line of an `exit` whose outcome is `failed`. */
  warn(line: string): void;
  /** Called with the line of a `giveup`, a `stoptimeout` or an `escalate`. */
  error(line: string): void;
}

/**
 * Where {@linkcode logEvents} sends each event's line: a function, called
 * with the line alone (so `console.log` works as it is), or a
 * {@linkcode LevelLogger}, whose method for the event's level is called
 * with it (so `console` sends failures to stderr).
 */
export type LogSink = ((line: string) => void) | LevelLogger;

/** What {@linkcode logEvents} returns: the way to stop logging. */
export class LogSubscription {
  readonly #unsubscribe: () => void;

  /**
   * Made by {@linkcode logEvents}.
   *
   * @param unsubscribe Removes every listener it added.
   */
  constructor(unsubscribe: () => void) {
    this.#unsubscribe = unsubscribe;
  }

  /** Removes every listener `logEvents` added; no line is sent after it. Calling it again does nothing. */
  unsubscribe(): void {
    this.#unsubscribe();
  }

  /** The same as `unsubscribe()`, for `using`: this is `[Symbol.dispose]()`. */
  [dispose](): void {
    this.#unsubscribe();
  }
}

/** The longest event type, `stoptimeout`: lines of a log line up after it. */
const TYPE_WIDTH = 11;

/** A property, or `undefined` if reading it throws (a getter, a revoked `Proxy`, `null`). */
function get(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** Whether `value` has `key`, own or inherited; false where asking throws. */
function has(value: unknown, key: string): boolean {
  try {
    return key in (value as object);
  } catch {
    return false;
  }
}

/** A string as it is, anything else described without throwing. */
function text(value: unknown): string {
  return typeof value === "string" ? value : describe(value);
}

/**
 * Escapes line breaks and other control characters (C0 but tab, DEL, C1,
 * U+2028, U+2029) as `\n`, `\r` or `\u001b`: one event stays one line, and a
 * message cannot move a terminal's cursor or change its colours.
 */
function oneLine(line: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (
      (code < 0x20 && code !== 0x09) || (code >= 0x7f && code <= 0x9f) || code === 0x2028 ||
      code === 0x2029
    ) {
      const escaped = code === 0x0a
        ? "\\n"
        : code === 0x0d
        ? "\\r"
        : `\\u${code.toString(16).padStart(4, "0")}`;
      out += line.slice(from, i) + escaped;
      from = i + 1;
    }
  }
  return from === 0 ? line : out + line.slice(from);
}

/** ` run #2`, or nothing when the event carries no attempt. */
function run(event: Event): string {
  return has(event, "attempt") ? ` run #${text(get(event, "attempt"))}` : "";
}

/** `: Name: message` when the event carries an error, else nothing. */
function thrown(event: Event): string {
  return has(event, "error") ? `: ${describe(get(event, "error"))}` : "";
}

/** The milliseconds of a delay, whole: a fractional delay is rounded for display. */
function milliseconds(delay: unknown): string {
  return typeof delay === "number" ? String(Math.round(delay)) : text(delay);
}

/**
 * Formats one lifecycle event as one line of text: its type, padded so the
 * lines of a log line up, the path of the service (`feeds/binance` for a
 * child of the child supervisor `feeds`), then what happened:
 *
 * | Event         | Line                                                                   |
 * | ------------- | ---------------------------------------------------------------------- |
 * | `start`       | `start       feeds/binance run #2`                                     |
 * | `ready`       | `ready       feeds/binance run #2`                                     |
 * | `exit`        | `exit        feeds/binance run #2 failed: Error: connection reset`     |
 * | `restart`     | `restart     feeds/binance run #3 in 2000 ms`                          |
 * | `giveup`      | `giveup      feeds/binance after 5 restarts: Error: connection reset`  |
 * | `stoptimeout` | `stoptimeout feeds/binance`                                            |
 * | `escalate`    | `escalate    feeds/binance: EscalateError: disk full`                  |
 *
 * An `exit` shows its outcome (`completed`, `failed`, `stopped`) and, when
 * the run threw, what it threw; a `giveup` shows the restarts made and the
 * last run's error (its `RestartLimitError`'s `cause`). An error shows as
 * `name: message`, any other thrown value as `String(value)`. Line breaks
 * and other control characters in names and messages are escaped (`\n`,
 * `\u001b`), so one event is always one line. Any other event shows its
 * type, then its `service`, `attempt` and `error` where it has them.
 *
 * It never throws: an error whose `name`, `message` or `toString` throws,
 * an object without a prototype or a revoked `Proxy` is described as well as
 * it can be. There is no timestamp: the sink adds its own, or its logger
 * does.
 *
 * @example Lines of a failing feed
 * ```ts
 * import { ExitEvent, formatEvent, RestartEvent } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const failed = new ExitEvent("feeds/binance", {
 *   attempt: 2,
 *   outcome: "failed",
 *   error: new Error("connection reset"),
 * });
 * assert.equal(formatEvent(failed), "exit        feeds/binance run #2 failed: Error: connection reset");
 *
 * const restart = new RestartEvent("feeds/binance", { attempt: 3, delay: 2000 });
 * assert.equal(formatEvent(restart), "restart     feeds/binance run #3 in 2000 ms");
 * ```
 *
 * @param event An event a supervisor fired.
 * @returns The line, without a line break.
 */
export function formatEvent(event: Event): string {
  const type = text(get(event, "type"));
  let details = has(event, "service") ? ` ${text(get(event, "service"))}` : "";
  switch (type) {
    case "start":
    case "ready":
      details += run(event);
      break;
    case "exit":
      // An event made by user code may lack its fields: only those it has are shown.
      details += run(event) + (has(event, "outcome") ? ` ${text(get(event, "outcome"))}` : "") +
        thrown(event);
      break;
    case "restart":
      details += run(event) +
        (has(event, "delay") ? ` in ${milliseconds(get(event, "delay"))} ms` : "");
      break;
    case "giveup": {
      const limit = get(event, "error");
      const restarts = get(limit, "restarts");
      details += typeof restarts === "number" && has(limit, "cause")
        ? ` after ${restarts} restart${restarts === 1 ? "" : "s"}: ${describe(get(limit, "cause"))}`
        : thrown(event);
      break;
    }
    case "stoptimeout":
      break;
    case "escalate":
      details += thrown(event);
      break;
    default:
      details += run(event) + thrown(event);
  }
  return oneLine(details === "" ? type : type.padEnd(TYPE_WIDTH) + details);
}

/** The level of an event, as {@linkcode LevelLogger} tells. */
function level(event: Event): Level {
  switch (text(get(event, "type"))) {
    case "giveup":
    case "stoptimeout":
    case "escalate":
      return "error";
    case "exit":
      return get(event, "outcome") === "failed" ? "warn" : "info";
    default:
      return "info";
  }
}

function ignore(): void {}

/**
 * Sends every lifecycle event of `supervisor` to `sink` as one line of
 * {@linkcode formatEvent}: a function gets the line alone, a
 * {@linkcode LevelLogger} (such as `console`, the default) gets it through
 * its `info`, `warn` or `error` method by the event's level. The events of
 * child supervisors reach it too, their services by path (`feeds/binance`).
 * It listens to each event type once, and the returned subscription's
 * `unsubscribe()` (or the end of a `using` block) removes every listener it
 * added.
 *
 * The sink runs inside an event listener, and what it throws (or an async
 * sink rejects with) is caught and dropped with its line: the next event is
 * sent as usual, and supervision goes on. Logging must not be what ends a
 * supervised process, which an `EventTarget` listener's uncaught error does
 * by default in Deno and Node (see the README's Events section). A sink that
 * must know about its own failures catches them itself.
 *
 * @example Logging a supervisor's events, failures apart
 * ```ts
 * import { logEvents, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ backoff: { initialDelay: 10, jitter: 0 } });
 * const lines: string[] = [];
 * using _log = logEvents(supervisor, {
 *   info: (line) => lines.push(line),
 *   warn: (line) => lines.push(`WARN ${line}`),
 *   error: (line) => lines.push(`ERROR ${line}`),
 * });
 * // logEvents(supervisor) writes to console.info, console.warn and console.error;
 * // logEvents(supervisor, console.log) writes every line to console.log.
 *
 * supervisor.add("feed", async (signal, { attempt }) => {
 *   if (attempt === 1) throw new Error("connection reset");
 *   await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
 * });
 * await supervisor.start();
 * while (supervisor.status()[0]?.attempt !== 2) await new Promise((r) => setTimeout(r, 5));
 * await supervisor.stop();
 *
 * assert.deepEqual(lines, [
 *   "start       feed run #1",
 *   "WARN exit        feed run #1 failed: Error: connection reset",
 *   "restart     feed run #2 in 10 ms",
 *   "start       feed run #2",
 *   "exit        feed run #2 stopped",
 * ]);
 * ```
 *
 * @param supervisor The supervisor, or any `EventTarget` that fires its events.
 * @param sink A function called with each line, or a logger with `info`,
 * `warn` and `error` methods; `console` by default.
 * @returns The subscription: `unsubscribe()` it, or `using` it, to stop logging.
 */
export function logEvents(
  supervisor: EventTarget,
  sink?: LogSink,
): LogSubscription {
  if (
    typeof get(supervisor, "addEventListener") !== "function" ||
    typeof get(supervisor, "removeEventListener") !== "function"
  ) {
    throw new TypeError(
      `Cannot log events as 'supervisor' must be an EventTarget: current value is ${
        oneLine(describe(supervisor))
      }`,
    );
  }
  // Typed as a LevelLogger: the module's types do not depend on a lib that declares `console`.
  const to = sink === undefined
    ? (globalThis as unknown as { console: LevelLogger }).console
    : sink;
  const isLogger = typeof to !== "function" &&
    (["info", "warn", "error"] as const).every((name) => typeof get(to, name) === "function");
  if (typeof to !== "function" && !isLogger) {
    throw new TypeError(
      "Cannot log events as 'sink' must be a function or a logger with info, warn and error " +
        `methods: current value is ${oneLine(describe(sink))}`,
    );
  }
  let open = true;
  const listener = (event: Event): void => {
    if (!open) return;
    try {
      const line = formatEvent(event);
      // The method is read now: a logger (or console) patched later is used as it is then.
      const result: unknown = typeof to === "function" ? to(line) : to[level(event)](line);
      // An async sink: its rejection is contained as a throw is.
      if (result !== undefined) Promise.resolve(result).then(undefined, ignore);
    } catch {
      // Dropped with its line: see the doc above.
    }
  };
  const types = Object.keys(_CLASSES);
  const unsubscribe = (): void => {
    if (!open) return;
    open = false;
    for (const type of types) supervisor.removeEventListener(type, listener);
  };
  try {
    for (const type of types) supervisor.addEventListener(type, listener);
  } catch (error) {
    try {
      unsubscribe();
    } catch {
      // The error that stopped the subscription is the one to report.
    }
    throw error;
  }
  return new LogSubscription(unsubscribe);
}
