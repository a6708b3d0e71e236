/**
 * Keeps long-running async services alive inside one process: starts them,
 * notices when they exit, restarts them by policy with exponential backoff
 * and a restart limit, and stops them gracefully. Web standards only
 * (`AbortSignal`, `EventTarget`, the global timers), zero dependencies, and
 * correct under fake time.
 *
 * @example A service that fails twice, then runs until stopped
 * ```ts
 * import { Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor({ backoff: { initialDelay: 10, jitter: 0 } });
 * const log: string[] = [];
 * supervisor.addEventListener("exit", (e) => log.push(`${e.service}#${e.attempt} ${e.outcome}`));
 * supervisor.addEventListener("restart", (e) => log.push(`restart in ${e.delay} ms`));
 *
 * supervisor.add("feed", async (signal, { attempt }) => {
 *   if (attempt <= 2) throw new Error("connection reset");
 *   await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
 * });
 * await supervisor.start();
 * while (supervisor.status()[0]?.attempt !== 3) {
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 * }
 *
 * const report = await supervisor.stop();
 * assert.deepEqual(report, { stopped: ["feed"], timedOut: [] });
 * assert.deepEqual(log, [
 *   "feed#1 failed",
 *   "restart in 10 ms",
 *   "feed#2 failed",
 *   "restart in 20 ms",
 *   "feed#3 stopped",
 * ]);
 * ```
 *
 * @module
 */

export { Supervisor } from "./src/supervisor.ts";
export type { ServiceState, ServiceStatus, StopReport, SupervisorState } from "./src/supervisor.ts";
export type { RestartPolicy, RunContext, Service } from "./src/service.ts";
export type {
  AutoShutdown,
  BackoffOptions,
  ServiceOptions,
  StartOptions,
  StopOrder,
  Strategy,
  SupervisorOptions,
  WhenOptions,
} from "./src/options.ts";
export {
  DoNotRestartError,
  EscalateError,
  RestartIntensityError,
  RestartLimitError,
} from "./src/errors.ts";
export { type ServiceMetrics, toPrometheus } from "./src/metrics.ts";
export { healthHandler } from "./src/health.ts";
export {
  formatEvent,
  type LevelLogger,
  logEvents,
  type LogSink,
  type LogSubscription,
} from "./src/log.ts";
export {
  EscalateEvent,
  ExitEvent,
  type ExitOutcome,
  GiveupEvent,
  ReadyEvent,
  RestartEvent,
  StartEvent,
  StopTimeoutEvent,
  type SupervisorEventMap,
} from "./src/events.ts";
export {
  type NodeWorkerLike,
  type WebWorkerLike,
  type WorkerLike,
  WorkerService,
  type WorkerServiceOptions,
} from "./src/worker_service.ts";
export {
  type RunFunction,
  serveInWorker,
  type ServeInWorkerOptions,
  type WorkerPort,
} from "./src/serve_in_worker.ts";
