/**
 * A CPU-bound service in a Worker, killed when it wedges: run it with
 * `deno task demo:worker` (or `deno run --allow-read examples/worker_demo.ts`;
 * `bun examples/worker_demo.ts` runs it as it is).
 *
 * A watchdog restarts the service when a run that has reported progress
 * stops reporting it for 300 ms. Run 1 fails and is restarted after 200 ms; run 2 wedges, the
 * watchdog asks for a restart, the Worker ignores its signal and is
 * terminated after its 250 ms grace, reported `stopped`, and run 3 starts in a
 * fresh Worker; `stop()` then ends run 3, which stops on its own.
 *
 * @module
 */
import { Worker as NodeWorker } from "node:worker_threads";
import { Supervisor, type WorkerLike, WorkerService } from "../mod.ts";

const started = Date.now();
const at = () => `+${String(Date.now() - started).padStart(5)} ms`;
const say = (line: string) => console.log(`${at()}  ${line}`);

const supervisor = new Supervisor({ backoff: { initialDelay: 200, jitter: 0 } });
supervisor.addEventListener("start", (e) => say(`start    ${e.service} run #${e.attempt}`));
supervisor.addEventListener("exit", (e) => {
  const why = e.error instanceof Error ? `: ${e.error.name}: ${e.error.message}` : "";
  say(`exit     ${e.service} run #${e.attempt} ${e.outcome}${why}`);
});
supervisor.addEventListener(
  "restart",
  (e) => say(`restart  ${e.service} run #${e.attempt} in ${Math.round(e.delay)} ms`),
);

/** When the current run last reported progress; undefined until it first does. */
/** When the current run last reported progress; undefined until it first does. */
let lastProgress: number | undefined;
let workers = 0;
let terminated = 0;
const url = new URL("./worker_crunch.ts", import.meta.url);

/**
 * A fresh Worker for each run. Deno's web Worker cannot be terminated while
 * it spins (denoland/deno#35657), its `node:worker_threads` one can; Bun's is
 * the other way round (oven-sh/bun#12616). Both kinds serve the same module.
 */
function create(): WorkerLike {
  workers++;
  lastProgress = undefined;
  // The factory is where a program listens to its worker's own messages.
  const onData = (data: { progress?: unknown } | null) => {
    if (typeof data?.progress === "number") lastProgress = Date.now();
  };
  if ("Deno" in globalThis) {
    const worker = new NodeWorker(url);
    worker.on("message", onData);
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      terminated++;
      return terminate();
    };
    return worker;
  }
  const worker = new Worker(url, { type: "module" });
  worker.addEventListener("message", (event) => onData(event.data));
  const terminate = worker.terminate.bind(worker);
  worker.terminate = () => {
    terminated++;
    terminate();
  };
  return worker;
}

supervisor.add(new WorkerService("crunch", create, { grace: 250 }));

await supervisor.start();

// The watchdog: a run that went quiet for 300 ms is wedged.
await new Promise<void>((resolve) => {
  const watch = setInterval(() => {
    const status = supervisor.status()[0];
    if (status?.state !== "running" || lastProgress === undefined) return;
    if (Date.now() - lastProgress < 300) return;
    say(`watchdog: no progress from run #${status.attempt} for 300 ms, restarting it`);
    clearInterval(watch);
    supervisor.restart("crunch").then(resolve, resolve);
  }, 50);
});

await new Promise((resolve) => setTimeout(resolve, 500));
const report = await supervisor.stop();
say(`stop()   ${JSON.stringify(report)}`);
say(`workers  ${workers} made, ${terminated} terminated`);
