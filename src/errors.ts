/*
 * The keys, the same symbols in every copy of this module, that mark the
 * errors a supervisor acts on, on their prototypes. `instanceof` knows the
 * classes of one copy only, and a tree may mix copies (the ES module and
 * the CommonJS build, two bundles): a child supervisor of one copy stopped
 * for good rejects with its own `DoNotRestartError`.
 */
/** Marks a {@linkcode DoNotRestartError} of any copy. */
export const _DO_NOT_RESTART: unique symbol = Symbol.for("@janus/supervisor.DoNotRestartError");
/** Marks an {@linkcode EscalateError} of any copy. */
export const _ESCALATE: unique symbol = Symbol.for("@janus/supervisor.EscalateError");

/**
 * Whether `value` is an error of any copy of this module that `key` marks;
 * false where asking throws (a revoked `Proxy`, a hostile trap).
 */
export function _marked(value: unknown, key: symbol): boolean {
  try {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[key] === true;
  } catch {
    return false;
  }
}

/**
 * Throw or reject with this from a service's `run` to say "I failed, and
 * restarting me will not help": the service goes to state `failed` and is not
 * restarted, whatever its restart policy.
 *
 * @example Stop retrying on a configuration error
 * ```ts
 * import { DoNotRestartError, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ restartPolicy: "always" });
 * supervisor.add("config", () => {
 *   throw new DoNotRestartError("missing API key");
 * });
 * await supervisor.start();
 * await Promise.resolve();
 * assert.equal(supervisor.status()[0]?.state, "failed");
 * assert.equal(supervisor.status()[0]?.restarts, 0);
 * await supervisor.stop();
 * ```
 */
export class DoNotRestartError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DoNotRestartError";
  }

  static {
    Object.defineProperty(this.prototype, _DO_NOT_RESTART, { value: true });
  }
}

/**
 * The error a service gives up with when it would restart more than
 * `maxRestarts` times within `restartWindow` milliseconds. It is carried by
 * the `giveup` event and kept as the service's `lastError`; its `cause` is the
 * error of the run that crossed the limit.
 *
 * @example Reading why a service gave up
 * ```ts
 * import { RestartLimitError, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ maxRestarts: 0 });
 * const gaveUp = new Promise<RestartLimitError>((resolve) =>
 *   supervisor.addEventListener("giveup", (event) => resolve(event.error), { once: true })
 * );
 * supervisor.add("flaky", () => Promise.reject(new Error("boom")));
 * await supervisor.start();
 * const error = await gaveUp;
 * assert.equal(error.service, "flaky");
 * assert.equal(error.restarts, 0);
 * assert.equal((error.cause as Error).message, "boom");
 * await supervisor.stop();
 * ```
 */
export class RestartLimitError extends Error {
  /** The name of the service that gave up. */
  readonly service: string;
  /** How many restarts the service had made when it gave up. */
  readonly restarts: number;

  /**
   * Creates the error.
   *
   * @param service The name of the service that gave up.
   * @param restarts How many restarts it had made.
   * @param options `cause`: the error of the last run.
   */
  constructor(service: string, restarts: number, options?: ErrorOptions) {
    super(
      `Service '${service}' gave up after ${restarts} restart${restarts === 1 ? "" : "s"}`,
      options,
    );
    this.name = "RestartLimitError";
    this.service = service;
    this.restarts = restarts;
  }
}

/**
 * Throw or reject with this from a service's `run` to hand the failure to
 * the level above: a supervisor with `escalate: true` stops all its children
 * in reverse order and fails itself with this error (its `run()` rejects, or,
 * at the top, its `done` rejects), and its parent applies its own policy. A
 * supervisor without `escalate` treats it as any other failure.
 *
 * @example A failure no restart of this subtree can fix
 * ```ts
 * import { EscalateError, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ escalate: true });
 * supervisor.add("disk", () => {
 *   throw new EscalateError("disk full");
 * });
 * await supervisor.start();
 * await assert.rejects(supervisor.done, { name: "EscalateError", message: "disk full" });
 * ```
 */
export class EscalateError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EscalateError";
  }

  static {
    Object.defineProperty(this.prototype, _ESCALATE, { value: true });
  }
}

/**
 * The error a supervisor fails with when its children, together, restart more
 * than its `intensity` allows within its `period` (OTP's restart intensity):
 * it stops every child and fails, so the level above decides, whatever its
 * `escalate` option says. Its `cause` is the error of the run whose restart
 * crossed the limit.
 *
 * @example A pool whose upstream died
 * ```ts
 * import { RestartIntensityError, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const pool = new Supervisor({ intensity: 3, period: 1000, backoff: { initialDelay: 1 } });
 * for (const name of ["a", "b", "c", "d"]) {
 *   pool.add(name, () => Promise.reject(new Error("upstream gone")));
 * }
 * await pool.start();
 * const error = await pool.done.catch((error) => error);
 * assert.ok(error instanceof RestartIntensityError);
 * assert.equal(error.message, "Supervisor 'supervisor' restarted its children more than 3 times in 1000 ms");
 * ```
 */
export class RestartIntensityError extends Error {
  /** The name of the supervisor that failed. */
  readonly supervisor: string;
  /** Its `intensity`: the restarts it allows within `period`. */
  readonly intensity: number;
  /** Its `period`, in milliseconds. */
  readonly period: number;

  /**
   * Creates the error.
   *
   * @param supervisor The name of the supervisor.
   * @param intensity The restarts it allows within `period`.
   * @param period The window, in milliseconds.
   * @param options `cause`: the error of the run whose restart crossed it.
   */
  constructor(supervisor: string, intensity: number, period: number, options?: ErrorOptions) {
    super(
      `Supervisor '${supervisor}' restarted its children more than ${intensity} ` +
        `time${intensity === 1 ? "" : "s"} in ${period} ms`,
      options,
    );
    this.name = "RestartIntensityError";
    this.supervisor = supervisor;
    this.intensity = intensity;
    this.period = period;
  }
}
