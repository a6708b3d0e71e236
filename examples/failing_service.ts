/**
 * A short demo: a service that fails three times is restarted with
 * exponential backoff (200, 400, 800 ms), then runs until the supervisor
 * stops it. Run it with `deno task demo` (or `deno run examples/failing_service.ts`).
 */
import { Supervisor } from "../mod.ts";

const started = Date.now();
const at = () => `+${String(Date.now() - started).padStart(5)} ms`;

const supervisor = new Supervisor({ backoff: { initialDelay: 200, jitter: 0 } });
supervisor.addEventListener(
  "start",
  (e) => console.log(`${at()}  start    ${e.service} run #${e.attempt}`),
);
supervisor.addEventListener("exit", (e) => {
  const why = e.outcome === "failed" ? `: ${(e.error as Error).message}` : "";
  console.log(`${at()}  exit     ${e.service} run #${e.attempt} ${e.outcome}${why}`);
});
supervisor.addEventListener("restart", (e) => {
  console.log(`${at()}  restart  ${e.service} run #${e.attempt} in ${Math.round(e.delay)} ms`);
});

supervisor.add("market-feed", async (signal, { attempt }) => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (attempt <= 3) throw new Error(`connection reset (run ${attempt})`);
  console.log(`${at()}  market-feed is healthy`);
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
});

const healthy = supervisor.when("start", (e) => e.attempt === 4);
await supervisor.start();
await healthy;
await new Promise((resolve) => setTimeout(resolve, 300));
const report = await supervisor.stop();
console.log(`${at()}  stopped: ${JSON.stringify(report)}`);
