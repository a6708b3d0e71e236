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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 2 ms of real time, for at most `limitMs`. */
async function waitFor(condition: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (let polls = 0; polls < limitMs; polls++) {
    if (condition()) return true;
    if (Date.now() > deadline) break;
    await sleep(2);
  }
  return condition();
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
    await supervisor.start();

    const third = await waitFor(() => {
      const status = supervisor.status()[0];
      return status?.attempt === 3 && status.state === "running";
    }, 2_000);
    check("attempt 3 is running within 2 s", third, true);
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
