/**
 * When a service is restarted after its run ends, as Erlang/OTP's restart
 * types and Kubernetes' `restartPolicy` put it:
 *
 * - `"always"`: after it fails and after it completes (OTP `permanent`);
 * - `"on_failure"`: only after it fails (OTP `transient`), the default;
 * - `"never"`: never (OTP `temporary`).
 *
 * A run that ends because the supervisor aborted its signal is never
 * restarted, whatever the policy.
 *
 * @example Choosing a policy
 * ```ts
 * import type { RestartPolicy } from "@janus/supervisor";
 *
 * const policy: RestartPolicy = "always";
 * ```
 */
export type RestartPolicy = "always" | "on_failure" | "never";

/** The restart policies, in the order the docs list them. */
export const RESTART_POLICIES: readonly RestartPolicy[] = Object.freeze([
  "always",
  "on_failure",
  "never",
]);

/**
 * What a run learns from the supervisor besides its signal.
 *
 * @example Doing first-run work only once
 * ```ts
 * import type { RunContext } from "@janus/supervisor";
 *
 * async function run(signal: AbortSignal, context: RunContext) {
 *   if (context.attempt === 1) console.log("first start");
 *   else console.log(`restart #${context.attempt - 1}`);
 * }
 * ```
 */
export interface RunContext {
  /** 1 on the first run of the service, one more on each restart. */
  readonly attempt: number;
  /**
   * Says this run is ready to serve: fires a `ready` event, shows in
   * `status()`, and lets `start()` go on to the next service when this one
   * was added with `waitReady`. Calling it again, or after the run ended,
   * does nothing.
   */
  ready(): void;
}

/**
 * A long-running task for a {@linkcode Supervisor} to keep alive: the port of
 * the Rust `JanusService` trait. The same object is run again on every
 * restart, so it may keep state across runs.
 *
 * `run` ends in one of three ways:
 *
 * - it throws or rejects (with anything, `Error` or not): the run **failed**;
 * - it returns or resolves: the run **completed**;
 * - it settles, either way, after its `signal` was aborted: the run was
 *   **stopped**, which is never a failure.
 *
 * A run should stop soon after `signal` aborts (pass it on to `fetch`,
 * timers, streams); one that does not is abandoned after its `stopTimeout`.
 *
 * @example A service object
 * ```ts
 * import { type Service, Supervisor } from "@janus/supervisor";
 *
 * class Heartbeat implements Service {
 *   readonly name = "heartbeat";
 *   readonly restartPolicy = "always";
 *   beats = 0;
 *   async run(signal: AbortSignal): Promise<void> {
 *     while (!signal.aborted) {
 *       this.beats++;
 *       await new Promise((resolve) => setTimeout(resolve, 10));
 *     }
 *   }
 * }
 *
 * const supervisor = new Supervisor().add(new Heartbeat());
 * await supervisor.start();
 * await supervisor.stop();
 * ```
 */
export interface Service {
  /** A unique, non-empty name within its supervisor. */
  readonly name: string;
  /**
   * When to restart the service. A policy given in the service's
   * {@linkcode ServiceOptions} wins over this one, and this one over the
   * supervisor's.
   *
   * @default {"on_failure"}
   */
  readonly restartPolicy?: RestartPolicy;
  /**
   * Does the service's work until it is done, fails, or `signal` aborts.
   *
   * @param signal Aborted when the supervisor stops the service; its
   * `reason` says why.
   * @param context What the supervisor tells the run.
   */
  run(signal: AbortSignal, context: RunContext): Promise<void> | void;
}
