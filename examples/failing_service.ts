/**
 * A short demo: a service that fails three times is restarted with
 * exponential backoff (200, 400, 800 ms), then runs until the supervisor
 * stops it. Run it with `deno task demo:restart` (or `deno run examples/failing_service.ts`).
 */
import { logEvents, Supervisor } from "../mod.ts";

const started = Date.now();
const at = () => `+${String(Date.now() - started).padStart(5)} ms`;

const supervisor = new Supervisor({ backoff: { initialDelay: 200, jitter: 0 } });
// One line per event, each after the time since the start.
logEvents(supervisor, (line) => console.log(`${at()}  ${line}`));

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
