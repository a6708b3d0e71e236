/**
 * The runtime smoke scenario for the runtimes that only a bundle reaches:
 * Vercel's `@edge-runtime/vm` (no `process`, `Deno`, `Bun` or `require`; no
 * `AbortSignal.any` or `CustomEvent`) and Cloudflare's workerd. `run.mjs`
 * bundles it with the built `npm/esm/mod.js` and runs it there.
 *
 * Real time, short delays: a service fails on its first two runs, then
 * waits for its signal; the restarts wait 5 ms and 10 ms; `stop()` stops it.
 *
 * @module
 */
import { Supervisor } from "@janus/supervisor";

/** One assertion's outcome. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What the scenario reports: its checks, and what the runtime's globals look like. */
export interface ScenarioReport {
  readonly checks: Check[];
  readonly globals: Record<string, string>;
}

/** JSON with sorted keys, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  ) ?? "undefined";
}

/** Waits for `promise` for at most `limitMs` of real time: whether it resolved in time. */
async function within(limitMs: number, wait: (signal: AbortSignal) => Promise<unknown>) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limitMs);
  try {
    await wait(controller.signal);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the scenario; never throws (a throw is reported as a failed check). */
export async function runScenario(): Promise<ScenarioReport> {
  const checks: Check[] = [];
  const check = (name: string, actual: unknown, expected: unknown) => {
    const [a, e] = [canonical(actual), canonical(expected)];
    checks.push({ name, ok: a === e, detail: a === e ? "" : `expected ${e}, got ${a}` });
  };
  const globals: Record<string, string> = {};
  for (const name of ["process", "Deno", "Bun", "require", "CustomEvent", "EventTarget"]) {
    globals[name] = typeof (globalThis as Record<string, unknown>)[name];
  }
  globals["AbortSignal.any"] = typeof (AbortSignal as unknown as Record<string, unknown>)["any"];

  try {
    const supervisor = new Supervisor({ backoff: { initialDelay: 5, jitter: 0 } });
    const delays: number[] = [];
    supervisor.addEventListener("restart", (event) => delays.push(event.delay));
    supervisor.add("feed", async (signal, { attempt }) => {
      if (attempt <= 2) throw new Error(`run ${attempt} failed`);
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    });
    const third = within(
      2_000,
      (signal) => supervisor.when("start", (event) => event.attempt === 3, { signal }),
    );
    await supervisor.start();
    check("attempt 3 is running within 2 s", await third, true);
    check("the service is running", supervisor.status()[0]?.state, "running");
    check("restart events carry the delays [5, 10]", delays, [5, 10]);
    const status = supervisor.status()[0];
    check(
      "status() reports attempt 3 after 2 restarts",
      { attempt: status?.attempt, restarts: status?.restarts },
      { attempt: 3, restarts: 2 },
    );
    check(
      "stop() reports the service stopped and none timed out",
      await supervisor.stop(),
      { stopped: ["feed"], timedOut: [] },
    );
    check("the service is stopped after stop()", supervisor.status()[0]?.state, "stopped");
  } catch (error) {
    const detail = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
    checks.push({ name: "the scenario runs without throwing", ok: false, detail });
  }
  return { checks, globals };
}
