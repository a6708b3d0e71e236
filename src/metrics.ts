import type { ServiceState, Supervisor } from "./supervisor.ts";

/**
 * Counters and gauges of one service, as {@linkcode Supervisor.metrics}
 * reports them.
 */
export interface ServiceMetrics {
  /** The service's name; a nested one's path, as `feeds/binance`. */
  readonly name: string;
  /** Where the service is in its life. */
  readonly state: ServiceState;
  /** Restarts made or scheduled. */
  readonly restarts: number;
  /** Runs that failed (threw or rejected before their signal aborted). */
  readonly failures: number;
  /** Runs that completed. */
  readonly completions: number;
  /** Times the service reached its restart limit. */
  readonly giveups: number;
  /** Whether a run is live. */
  readonly up: boolean;
  /** How long the live run has lasted, in milliseconds; 0 when none is. */
  readonly uptime: number;
  /** When the last run ended, in milliseconds since the epoch; absent before the first end. */
  readonly lastExitAt?: number;
  /** Whether the live run called `context.ready()`. */
  readonly ready: boolean;
  /** Whether the service was added with `waitReady`. */
  readonly waitReady: boolean;
}

const STATES: readonly ServiceState[] = [
  "running",
  "backing_off",
  "completed",
  "failed",
  "stopping",
  "stopped",
];

/** Escapes a label value as the exposition format asks: backslash, double quote, newline. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Renders a supervisor's metrics in the Prometheus text exposition format
 * 0.0.4, for a `/metrics` endpoint (serve it with the content type
 * `text/plain; version=0.0.4; charset=utf-8`). A function, not a method, so
 * a bundle that does not use it does not carry it.
 *
 * Series, each labelled `service` (a nested service by its path, as
 * `feeds/binance`):
 *
 * - `janus_supervisor_restarts_total` (counter): restarts made or scheduled;
 * - `janus_supervisor_failures_total` (counter): runs that failed;
 * - `janus_supervisor_giveups_total` (counter): restart limits reached;
 * - `janus_supervisor_service_up` (gauge): 1 while a run is live;
 * - `janus_supervisor_service_state` (gauge, also labelled `state`): 1 for
 *   the current state, 0 for the others.
 *
 * @example Rendering the metrics
 * ```ts
 * import { Supervisor, toPrometheus } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor().add("db", () => new Promise(() => {}));
 * await supervisor.start();
 * const text = toPrometheus(supervisor);
 * assert.match(text, /^janus_supervisor_restarts_total\{service="db"\} 0$/m);
 * assert.match(text, /^janus_supervisor_service_up\{service="db"\} 1$/m);
 * assert.match(text, /^janus_supervisor_service_state\{service="db",state="running"\} 1$/m);
 * ```
 *
 * @param supervisor The supervisor to render.
 * @returns The exposition text, ending with a newline.
 */
export function toPrometheus(supervisor: Supervisor): string {
  const metrics = supervisor.metrics();
  const lines: string[] = [];
  const family = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    value: (m: ServiceMetrics) => number,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const m of metrics) lines.push(`${name}{service="${label(m.name)}"} ${value(m)}`);
  };
  family(
    "janus_supervisor_restarts_total",
    "counter",
    "Restarts made or scheduled, per service.",
    (m) => m.restarts,
  );
  family(
    "janus_supervisor_failures_total",
    "counter",
    "Runs that failed, per service.",
    (m) => m.failures,
  );
  family(
    "janus_supervisor_giveups_total",
    "counter",
    "Times a service reached its restart limit.",
    (m) => m.giveups,
  );
  family(
    "janus_supervisor_service_up",
    "gauge",
    "1 while a run of the service is live.",
    (m) => m.up ? 1 : 0,
  );
  const state = "janus_supervisor_service_state";
  lines.push(
    `# HELP ${state} 1 for the state the service is in, 0 for the others.`,
    `# TYPE ${state} gauge`,
  );
  for (const m of metrics) {
    for (const s of STATES) {
      lines.push(`${state}{service="${label(m.name)}",state="${s}"} ${m.state === s ? 1 : 0}`);
    }
  }
  return lines.join("\n") + "\n";
}
