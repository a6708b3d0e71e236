import { RESTART_POLICIES, type RestartPolicy } from "./service.ts";

/**
 * The exponential backoff between restarts, the formula of `@std/async`'s
 * `retry`: the n-th restart since the last reset waits
 * `min(maxDelay, initialDelay × multiplier^n) × (1 − jitter × random())`
 * milliseconds, n counting from 0.
 *
 * @example A faster, uncapped-by-jitter schedule: 100, 200, 400 … 5000 ms
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor({
 *   backoff: { initialDelay: 100, maxDelay: 5000, jitter: 0 },
 * });
 * ```
 */
export interface BackoffOptions {
  /**
   * The delay before the first restart, in milliseconds.
   *
   * @default {1000}
   */
  initialDelay?: number;
  /**
   * The longest delay, in milliseconds, before jitter.
   *
   * @default {60000}
   */
  maxDelay?: number;
  /**
   * How much each delay grows over the one before.
   *
   * @default {2}
   */
  multiplier?: number;
  /**
   * The share of each delay that is random, from 0 (none) to 1 (anywhere
   * between 0 and the full delay). Jitter only shortens a delay.
   *
   * @default {0.2}
   */
  jitter?: number;
}

/**
 * How one service is supervised. Given to {@linkcode Supervisor.add} it
 * overrides the supervisor's defaults for that service.
 *
 * @example A service with its own policy and limit
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor();
 * supervisor.add("poller", async () => {}, {
 *   restartPolicy: "always",
 *   maxRestarts: Infinity,
 *   backoff: { initialDelay: 250 },
 * });
 * ```
 */
export interface ServiceOptions {
  /**
   * When to restart the service. Precedence: this option, then the service's
   * own `restartPolicy`, then the supervisor's, then `"on_failure"`.
   *
   * @default {"on_failure"}
   */
  restartPolicy?: RestartPolicy;
  /**
   * The exponential backoff between restarts; each field falls back to the
   * supervisor's, then to its default.
   *
   * @default {{ initialDelay: 1000, maxDelay: 60000, multiplier: 2, jitter: 0.2 }}
   */
  backoff?: BackoffOptions;
  /**
   * A run that lasted at least this many milliseconds resets the backoff to
   * `initialDelay`.
   *
   * @default {2 × backoff.maxDelay}
   */
  resetAfter?: number;
  /**
   * The most restarts allowed within `restartWindow`; the restart that would
   * exceed it gives up instead. `Infinity` never gives up.
   *
   * @default {10}
   */
  maxRestarts?: number;
  /**
   * The sliding window, in milliseconds, over which `maxRestarts` counts.
   *
   * @default {600000}
   */
  restartWindow?: number;
  /**
   * How long `stop()` waits, in milliseconds, for the run to settle after its
   * signal was aborted, before it abandons the run. `Infinity` waits forever.
   *
   * @default {5000}
   */
  stopTimeout?: number;
  /**
   * Whether `start()` waits for this service to call `context.ready()` before
   * it starts the next one (systemd's `Type=notify`): `true` waits as long as
   * it takes, a number of milliseconds fails `start()` after that long. A run
   * that completes before it is ready counts as ready; one that fails, or
   * times out, fails `start()` once the services already started are stopped.
   *
   * @default {false}
   */
  waitReady?: boolean | number;
  /**
   * Whether the service's end may shut its supervisor down (OTP's
   * significant child), as the supervisor's `autoShutdown` says. It ends for
   * good when it completes without a restart to come, or fails without one
   * (policy `"never"`, a `DoNotRestartError`, or its restart limit). Only for
   * a service given to `add()`, under a supervisor whose `autoShutdown` is not
   * `"never"`; a service whose policy is `"always"` never ends, so cannot be
   * significant.
   *
   * @default {false}
   */
  significant?: boolean;
}

/**
 * How a supervisor restarts its children when one of them is restarted
 * after it failed (OTP's strategies):
 *
 * - `"one_for_one"`: only that child;
 * - `"one_for_all"`: every child is stopped, in reverse order, then all are
 *   started again in order;
 * - `"rest_for_one"`: that child and every child added after it.
 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** The strategies, in the order the docs list them. */
export const _STRATEGIES: readonly Strategy[] = Object.freeze([
  "one_for_one",
  "one_for_all",
  "rest_for_one",
]);

/**
 * How a {@linkcode Supervisor} supervises: defaults for every service it
 * holds, each of which {@linkcode ServiceOptions} may override.
 *
 * @example Defaults for every service, and a seeded random for jitter
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 *
 * const supervisor = new Supervisor({
 *   restartPolicy: "always",
 *   backoff: { initialDelay: 500, maxDelay: 30_000 },
 *   maxRestarts: 5,
 *   restartWindow: 60_000,
 *   random: () => 0.5,
 * });
 * ```
 */
export interface SupervisorOptions extends Omit<ServiceOptions, "significant"> {
  /**
   * The supervisor's name: its events reach a parent supervisor as
   * `name/service`.
   *
   * @default {"supervisor"}
   */
  name?: string;
  /**
   * Which children restart when one child is restarted after a failure.
   *
   * @default {"one_for_one"}
   */
  strategy?: Strategy;
  /**
   * When a child gives up (its restart limit) or throws an
   * {@linkcode EscalateError}: `true` stops every child in reverse order and
   * fails the supervisor (its `run()` rejects, its `done` rejects), so the
   * level above decides; `false` leaves the child `failed` and the others
   * running.
   *
   * @default {false}
   */
  escalate?: boolean;
  /**
   * The most a shutdown may take, in milliseconds: `stop()` settles within
   * this plus one timer tick, each service still bounded by its own
   * `stopTimeout`. Runs not stopped by then are abandoned and reported.
   * Kubernetes' default grace period.
   *
   * @default {30000}
   */
  shutdownTimeout?: number;
  /**
   * The most restarts of its children, all together, within `period` (OTP's
   * restart intensity): the restart that would exceed it is not made; the
   * supervisor stops every child and fails with a
   * {@linkcode RestartIntensityError}, so the level above decides, whatever
   * `escalate` says. Every restart its policy makes counts, each member of a
   * group restart included; `restart(name)` does not. `Infinity` never
   * fails.
   *
   * @default {Infinity}
   */
  intensity?: number;
  /**
   * The sliding window, in milliseconds, over which `intensity` counts.
   *
   * @default {5000}
   */
  period?: number;
  /**
   * How a shutdown stops the children: `"reverse"` one at a time in reverse
   * order of adding, each awaited before the next is aborted (OTP's order,
   * for services that depend on those added before them); `"together"` all
   * at once, each awaited up to its own `stopTimeout` (OTP's
   * `simple_one_for_one`, suture), for a pool of independent services that
   * must stop within the deadline however many there are.
   *
   * @default {"reverse"}
   */
  stopOrder?: StopOrder;
  /**
   * Whether the supervisor shuts itself down when its work is finished (OTP's
   * `auto_shutdown`): `"any_significant"` once any service added with
   * `significant: true` has ended for good, `"all_significant"` once all of
   * them have; `"never"` only when stopped. It then stops its other services
   * as `stop()` does and settles: `done` resolves, or rejects with the error
   * of a significant service that ended by failing; as a child, its run
   * completes, and its parent's policy applies.
   *
   * @default {"never"}
   */
  autoShutdown?: AutoShutdown;
  /**
   * The source of randomness for jitter: returns a number in [0, 1).
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/**
 * How a shutdown stops a supervisor's children: one at a time in reverse
 * order of adding, or all together.
 */
export type StopOrder = "reverse" | "together";

/** How {@linkcode Supervisor.start} starts a supervisor. */
export interface StartOptions {
  /**
   * Ties the supervisor to an outside signal (a request's, a test's, a
   * parent task's): aborting it stops the supervisor with `signal.reason`.
   * No listener stays on it once the supervisor is stopped.
   */
  signal?: AbortSignal;
}

/** How {@linkcode Supervisor.when} waits. */
export interface WhenOptions {
  /** Aborting it gives up the wait: the promise rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Reads the `signal` of a call's options, checked: `undefined`, or an
 * object with `aborted`, `addEventListener` and `removeEventListener`, as
 * every runtime's `AbortSignal` (of any realm) has.
 */
export function _signalOf(where: string, options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    _invalid(where, "options", "an object", options, "type");
  }
  refuseUnknown(where, "", options, ["signal"]);
  const signal = (options as { signal?: unknown }).signal;
  if (
    signal !== undefined &&
    (typeof signal !== "object" || signal === null ||
      typeof (signal as AbortSignal).addEventListener !== "function" ||
      typeof (signal as AbortSignal).removeEventListener !== "function" ||
      typeof (signal as AbortSignal).aborted !== "boolean")
  ) {
    _invalid(where, "signal", "an AbortSignal", signal, "type");
  }
  return signal as AbortSignal | undefined;
}

/**
 * When a supervisor shuts itself down: never on its own, or once any or all
 * of its significant services have ended for good.
 */
export type AutoShutdown = "never" | "any_significant" | "all_significant";

/** Every option of one service, resolved. */
export interface _ResolvedOptions {
  readonly restartPolicy: RestartPolicy;
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly resetAfter: number;
  readonly maxRestarts: number;
  readonly restartWindow: number;
  readonly stopTimeout: number;
  readonly waitReady: boolean | number;
  readonly significant: boolean;
}

/**
 * The defaults, defined once. `resetAfter` has none of its own: it is twice
 * the service's `maxDelay`.
 */
export const _DEFAULTS = Object.freeze(
  {
    restartPolicy: "on_failure",
    initialDelay: 1000,
    maxDelay: 60_000,
    multiplier: 2,
    jitter: 0.2,
    maxRestarts: 10,
    restartWindow: 600_000,
    stopTimeout: 5000,
    waitReady: false,
    name: "supervisor",
    strategy: "one_for_one",
    escalate: false,
    shutdownTimeout: 30_000,
    stopOrder: "reverse",
    autoShutdown: "never",
    significant: false,
    intensity: Infinity,
    period: 5000,
  } as const,
);

/** The longest delay the global timers honour (2^31 − 1 ms, about 24.8 days). */
export const _MAX_TIMER_DELAY = 2_147_483_647;

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  if (typeof value === "function") return "a function";
  return Object.prototype.toString.call(value);
}

/** Throws a `TypeError` (wrong type) or `RangeError` (out of range) naming `option`. */
export function _invalid(
  where: string,
  option: string,
  expected: string,
  value: unknown,
  type: "type" | "range",
): never {
  const message = `Cannot ${where} as '${option}' must be ${expected}: current value is ${
    show(value)
  }`;
  throw type === "type" ? new TypeError(message) : new RangeError(message);
}

function number(
  where: string,
  option: string,
  value: unknown,
  check: (n: number) => boolean,
  expected: string,
): void {
  if (value === undefined) return;
  if (typeof value !== "number") _invalid(where, option, "a number", value, "type");
  if (Number.isNaN(value) || !check(value)) _invalid(where, option, expected, value, "range");
}

/** The options of one service, by name. */
const SERVICE_KEYS: readonly string[] = [
  "restartPolicy",
  "backoff",
  "resetAfter",
  "maxRestarts",
  "restartWindow",
  "stopTimeout",
  "waitReady",
  "significant",
];
/** The options only a supervisor takes. */
const SUPERVISOR_KEYS: readonly string[] = [
  ...SERVICE_KEYS.filter((key) => key !== "significant"),
  "name",
  "strategy",
  "escalate",
  "shutdownTimeout",
  "stopOrder",
  "intensity",
  "period",
  "autoShutdown",
  "random",
];
const BACKOFF_KEYS: readonly string[] = ["initialDelay", "maxDelay", "multiplier", "jitter"];

/** How many single-letter edits turn `a` into `b` (Levenshtein), case aside. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * What users of p-retry, cockatiel and `@std/async` call our options, and
 * options at the wrong level.
 */
const ALIASES: Readonly<Record<string, string>> = {
  retries: "maxRestarts",
  maxRetries: "maxRestarts",
  maxAttempts: "maxRestarts",
  attempts: "maxRestarts",
  minTimeout: "backoff.initialDelay",
  maxTimeout: "backoff.maxDelay",
  factor: "backoff.multiplier",
  exponent: "backoff.multiplier",
  randomize: "backoff.jitter",
  initialDelay: "backoff.initialDelay",
  maxDelay: "backoff.maxDelay",
  multiplier: "backoff.multiplier",
  jitter: "backoff.jitter",
  timeout: "stopTimeout",
};

/**
 * Throws a `TypeError` for a key of `given` that is not one of `known`
 * (a misspelt option is otherwise silently ignored in JavaScript), naming
 * it and the nearest known one.
 */
function refuseUnknown(where: string, prefix: string, given: object, known: readonly string[]) {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const cannot = `Cannot ${where} as '${prefix}${key}' is not an option`;
    if (prefix === "" && known === SERVICE_KEYS && SUPERVISOR_KEYS.includes(key)) {
      throw new TypeError(`${cannot} of a service: it is one of the supervisor`);
    }
    if (prefix === "" && known === SUPERVISOR_KEYS && SERVICE_KEYS.includes(key)) {
      throw new TypeError(`${cannot} of a supervisor: it is one of a service, given to add()`);
    }
    const alias = prefix === "" && known.includes("maxRestarts") ? ALIASES[key] : undefined;
    const nearest = alias ??
      prefix + known.reduce((best, k) => distance(key, k) < distance(key, best) ? k : best);
    throw new TypeError(`${cannot}: did you mean '${nearest}'?`);
  }
}

/**
 * The options a caller gave, read once: a copy of its own properties (and of
 * `backoff`'s), so that getters, or a caller changing its object later,
 * cannot change what was checked.
 */
export function _snapshot<T extends ServiceOptions>(options: T | undefined): T | undefined {
  if (typeof options !== "object" || options === null) return options;
  const copy = { ...options };
  const backoff = copy.backoff;
  if (typeof backoff === "object" && backoff !== null) copy.backoff = { ...backoff };
  return copy;
}

/**
 * Checks the options a caller gave, before anything is registered. `where`
 * says what was being done, for the message ("create supervisor"); `kind`
 * which options are known.
 */
export function _validateOptions(
  where: string,
  options: unknown,
  kind: "supervisor" | "service",
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    _invalid(where, "options", "an object", options, "type");
  }
  refuseUnknown(where, "", options, kind === "supervisor" ? SUPERVISOR_KEYS : SERVICE_KEYS);
  const o = options as SupervisorOptions;
  const timeout = (n: number) => n > 0 && (n <= _MAX_TIMER_DELAY || n === Infinity);
  const timeoutText = `a positive number up to ${_MAX_TIMER_DELAY}, or Infinity`;
  _validatePolicy(where, "restartPolicy", o.restartPolicy);
  if (o.backoff !== undefined) {
    if (typeof o.backoff !== "object" || o.backoff === null) {
      _invalid(where, "backoff", "an object", o.backoff, "type");
    }
    const b = o.backoff;
    refuseUnknown(where, "backoff.", b, BACKOFF_KEYS);
    const delay = (n: number) => n >= 0 && n <= _MAX_TIMER_DELAY;
    const delayText = `a number of milliseconds from 0 to ${_MAX_TIMER_DELAY}`;
    number(where, "backoff.initialDelay", b.initialDelay, delay, delayText);
    number(where, "backoff.maxDelay", b.maxDelay, delay, delayText);
    number(where, "backoff.multiplier", b.multiplier, (n) => n >= 1 && n < Infinity, "at least 1");
    number(where, "backoff.jitter", b.jitter, (n) => n >= 0 && n <= 1, "between 0 and 1");
  }
  number(where, "resetAfter", o.resetAfter, (n) => n >= 0, "a non-negative number");
  number(
    where,
    "maxRestarts",
    o.maxRestarts,
    (n) => n === Infinity || (Number.isInteger(n) && n >= 0),
    "a non-negative integer or Infinity",
  );
  number(where, "restartWindow", o.restartWindow, (n) => n > 0, "a positive number");
  number(where, "stopTimeout", o.stopTimeout, timeout, timeoutText);
  if (o.random !== undefined && typeof o.random !== "function") {
    _invalid(where, "random", "a function", o.random, "type");
  }
  const w = o.waitReady;
  const waitText = `true, false or a positive number of milliseconds up to ${_MAX_TIMER_DELAY}`;
  if (w !== undefined && typeof w !== "boolean" && typeof w !== "number") {
    _invalid(where, "waitReady", waitText, w, "type");
  }
  if (typeof w === "number") {
    number(where, "waitReady", w, (n) => n > 0 && n <= _MAX_TIMER_DELAY, waitText);
  }
  if (o.name !== undefined) {
    if (typeof o.name !== "string") _invalid(where, "name", "a string", o.name, "type");
    _validateName(where, o.name);
  }
  if (o.strategy !== undefined && !_STRATEGIES.includes(o.strategy)) {
    _invalid(
      where,
      "strategy",
      `one of "one_for_one", "one_for_all", "rest_for_one"`,
      o.strategy,
      "range",
    );
  }
  if (o.escalate !== undefined && typeof o.escalate !== "boolean") {
    _invalid(where, "escalate", "a boolean", o.escalate, "type");
  }
  number(where, "shutdownTimeout", o.shutdownTimeout, timeout, timeoutText);
  number(
    where,
    "intensity",
    o.intensity,
    (n) => n === Infinity || (Number.isInteger(n) && n >= 0),
    "a non-negative integer or Infinity",
  );
  number(where, "period", o.period, (n) => n > 0 && n < Infinity, "a positive number");
  if (o.stopOrder !== undefined && o.stopOrder !== "reverse" && o.stopOrder !== "together") {
    _invalid(where, "stopOrder", `one of "reverse", "together"`, o.stopOrder, "range");
  }
  const auto = o.autoShutdown;
  if (
    auto !== undefined && auto !== "never" && auto !== "any_significant" &&
    auto !== "all_significant"
  ) {
    _invalid(
      where,
      "autoShutdown",
      `one of "never", "any_significant", "all_significant"`,
      auto,
      "range",
    );
  }
  const significant = (o as ServiceOptions).significant;
  if (significant !== undefined && typeof significant !== "boolean") {
    _invalid(where, "significant", "a boolean", significant, "type");
  }
}

/**
 * Checks a name: not empty, and without `/`, which separates the names of a
 * path (`feeds/binance`), so that no two services share a path.
 */
export function _validateName(where: string, name: string): void {
  if (name === "") _invalid(where, "name", "a non-empty string", name, "range");
  if (name.includes("/")) {
    _invalid(where, "name", "a string without '/', which separates paths", name, "range");
  }
}

/** Checks a restart policy, wherever it came from. */
export function _validatePolicy(where: string, option: string, value: unknown): void {
  if (value !== undefined && !RESTART_POLICIES.includes(value as RestartPolicy)) {
    _invalid(where, option, `one of "always", "on_failure", "never"`, value, "range");
  }
}

/**
 * Resolves one service's options: the service's options, then the service's
 * own policy (for `restartPolicy` only), then the supervisor's, then the
 * defaults. Checks what only the merged options can tell (`maxDelay` below
 * `initialDelay`).
 */
export function _resolveOptions(
  where: string,
  supervisor: SupervisorOptions,
  service: ServiceOptions,
  ownPolicy: RestartPolicy | undefined,
): _ResolvedOptions {
  const sb = supervisor.backoff ?? {};
  const b = service.backoff ?? {};
  const initialDelay = b.initialDelay ?? sb.initialDelay ?? _DEFAULTS.initialDelay;
  const maxDelay = b.maxDelay ?? sb.maxDelay ?? _DEFAULTS.maxDelay;
  if (maxDelay < initialDelay) {
    _invalid(
      where,
      "backoff.maxDelay",
      `at least 'backoff.initialDelay' (${initialDelay})`,
      maxDelay,
      "range",
    );
  }
  return {
    restartPolicy: service.restartPolicy ?? ownPolicy ?? supervisor.restartPolicy ??
      _DEFAULTS.restartPolicy,
    initialDelay,
    maxDelay,
    multiplier: b.multiplier ?? sb.multiplier ?? _DEFAULTS.multiplier,
    jitter: b.jitter ?? sb.jitter ?? _DEFAULTS.jitter,
    resetAfter: service.resetAfter ?? supervisor.resetAfter ?? 2 * maxDelay,
    maxRestarts: service.maxRestarts ?? supervisor.maxRestarts ?? _DEFAULTS.maxRestarts,
    restartWindow: service.restartWindow ?? supervisor.restartWindow ?? _DEFAULTS.restartWindow,
    stopTimeout: service.stopTimeout ?? supervisor.stopTimeout ?? _DEFAULTS.stopTimeout,
    waitReady: service.waitReady ?? supervisor.waitReady ?? _DEFAULTS.waitReady,
    significant: service.significant ?? _DEFAULTS.significant,
  };
}
