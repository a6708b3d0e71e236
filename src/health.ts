import { describe } from "./_describe.ts";
import { type ServiceMetrics, toPrometheus } from "./metrics.ts";
import type { Supervisor } from "./supervisor.ts";

/** The content type of the Prometheus text exposition format 0.0.4. */
const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One service in the JSON body of `/healthz` and `/readyz`. */
interface _ServiceHealth {
  name: string;
  state: string;
  up: boolean;
  ready: boolean;
  restarts: number;
  lastError?: string;
}

/** A JSON body, as the health endpoints answer. */
function _json(body: unknown): string {
  return JSON.stringify(body, null, 2) + "\n";
}

/** Each service with its last error, by path, walking the tree as `metrics()` does. */
function _services(supervisor: Supervisor, metrics: ServiceMetrics[]): _ServiceHealth[] {
  const errors = new Map<string, unknown>();
  const walk = (statuses: ReturnType<Supervisor["status"]>, prefix: string) => {
    for (const s of statuses) {
      if ("lastError" in s) errors.set(prefix + s.name, s.lastError);
      if (s.children) walk(s.children, `${prefix}${s.name}/`);
    }
  };
  walk(supervisor.status(), "");
  return metrics.map((m) => ({
    name: m.name,
    state: m.state,
    up: m.up,
    ready: m.ready,
    restarts: m.restarts,
    ...(errors.has(m.name) ? { lastError: describe(errors.get(m.name)) } : {}),
  }));
}

/**
 * Whether a `waitReady` service is ready: its live run said so, or it is a
 * one-shot that completed. Services without `waitReady` never hold
 * readiness back.
 */
function _isReady(m: ServiceMetrics): boolean {
  return !m.waitReady || m.state === "completed" || (m.state === "running" && m.ready);
}

/**
 * A web-standard request handler for a supervisor's health, readiness and
 * metrics, for Kubernetes probes and Prometheus scrapes. It works as it is
 * with `Deno.serve`, `Bun.serve` and a Cloudflare Worker's `fetch`; Node
 * needs a small adapter (see the README).
 *
 * - `GET /healthz`: 200 unless a service is `failed` or the supervisor
 *   escalated (its state is `failed`), then 503 — for a liveness probe;
 * - `GET /readyz`: 200 while the supervisor is running and every service
 *   added with `waitReady` is ready, 503 while starting, stopping, or when
 *   one is not — for a readiness probe;
 * - `GET /metrics`: {@linkcode toPrometheus}'s text;
 * - `HEAD` as `GET`, with the same headers (`content-length` too), without
 *   a body; other methods 405; other paths 404.
 *
 * The first two answer with JSON: `{ status, state, services }`, each
 * service by its path with its state, whether it is up and ready, its
 * restarts and its last error.
 *
 * @example Probing a supervisor
 * ```ts
 * import { healthHandler, Supervisor } from "@janus/supervisor";
 * import assert from "node:assert/strict";
 *
 * const supervisor = new Supervisor().add("db", (signal) =>
 *   new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()))
 * );
 * const handle = healthHandler(supervisor);
 * assert.equal(handle(new Request("http://localhost/readyz")).status, 503); // not started
 * await supervisor.start();
 * assert.equal(handle(new Request("http://localhost/readyz")).status, 200);
 * assert.equal(handle(new Request("http://localhost/healthz")).status, 200);
 * assert.equal(handle(new Request("http://localhost/nope")).status, 404);
 * await supervisor.stop();
 * // Deno.serve({ port: 8080 }, healthHandler(supervisor));
 * ```
 *
 * @param supervisor The supervisor to report on.
 * @returns A `(request: Request) => Response` function.
 */
export function healthHandler(supervisor: Supervisor): (request: Request) => Response {
  return (request: Request): Response => {
    const path = new URL(request.url).pathname;
    if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics") {
      return new Response("Not Found\n", { status: 404 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    let status = 200;
    let body: string;
    let type: string;
    if (path === "/metrics") {
      body = toPrometheus(supervisor);
      type = PROMETHEUS_TYPE;
    } else {
      const metrics = supervisor.metrics();
      const state = supervisor.state;
      const ok = path === "/healthz"
        ? state !== "failed" && !metrics.some((m) => m.state === "failed")
        : state === "running" && metrics.every(_isReady);
      if (!ok) status = 503;
      body = _json({
        status: ok ? "ok" : path === "/healthz" ? "unhealthy" : "not ready",
        state,
        services: _services(supervisor, metrics),
      });
      type = "application/json; charset=utf-8";
    }
    const headers = new Headers({ "content-type": type, "cache-control": "no-store" });
    if (request.method === "GET") return new Response(body, { status, headers });
    // HEAD: GET's headers, the length GET would send included, and no body.
    headers.set("content-length", String(new TextEncoder().encode(body).byteLength));
    return new Response(null, { status, headers });
  };
}
