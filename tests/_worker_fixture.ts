/**
 * The worker module of `worker_test.ts`: serves one run of `_worker_runs.ts`,
 * or one of the behaviours only a Worker can have. The test's factory posts
 * `{ behaviour }` before the supervisor's `start`, so it arrives first.
 *
 * Runs as a web Worker on Deno and Bun (the global scope is the port) and as
 * a `node:worker_threads` Worker on Node (compiled to `.js`, with
 * `parentPort`).
 */
import { parentPort } from "node:worker_threads";
import process from "node:process";
import { serveInWorker, type WorkerPort } from "../mod.ts";
import { type Run, RUNS } from "./_worker_runs.ts";

const g = globalThis as unknown as {
  postMessage?: (message: unknown) => void;
  addEventListener?: (type: string, listener: (event: MessageEvent) => void) => void;
  close?: () => void;
  __janusModuleRuns?: number;
};
const web = typeof g.postMessage === "function";
const port = (web ? globalThis : parentPort) as unknown as WorkerPort;
const post = (message: unknown) => port.postMessage(message);

// Counts the runs this module's memory has seen: always 1 in a fresh Worker.
g.__janusModuleRuns = (g.__janusModuleRuns ?? 0) + 1;

let behaviour = "";
const onData = (data: unknown) => {
  const wanted = (data as { behaviour?: unknown } | null)?.behaviour;
  if (typeof wanted === "string") behaviour = wanted;
};
if (web) g.addEventListener!("message", (event) => onData(event.data));
else parentPort!.on("message", onData);

/** Describes an abort reason for the test, as the worker's signal carries it. */
function describeReason(reason: unknown) {
  const r = reason as { name?: unknown; message?: unknown } | undefined;
  return {
    type: Object.prototype.toString.call(reason),
    name: typeof r === "object" ? r?.name : undefined,
    message: typeof r === "object" ? r?.message : String(reason),
  };
}

const ONLY_IN_A_WORKER: Readonly<Record<string, Run>> = {
  /** Ready, then never yields again: only terminate() ends it. */
  loop(_signal, { ready }) {
    post({ moduleRuns: g.__janusModuleRuns });
    ready();
    for (;;) { /* spin */ }
  },
  /** Reports its abort reason, then completes. */
  reportReason(signal, { ready }) {
    ready();
    return new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => {
        post({ reason: describeReason(signal.reason) });
        resolve();
      }, { once: true });
    });
  },
  /** Throws from a timer, outside the run. */
  uncaught() {
    setTimeout(() => {
      throw new SyntaxError("thrown from a timer");
    }, 0);
    return new Promise(() => {});
  },
  /** Rejects a promise nobody handles, outside the run. */
  unhandled() {
    setTimeout(() => {
      Promise.reject(new URIError("nobody handles this"));
    }, 0);
    return new Promise(() => {});
  },
  /** Ends its own worker: `close()` in a web worker that has one, else `process.exit(3)`. */
  exit() {
    setTimeout(() => {
      if (typeof g.close === "function") g.close();
      else process.exit(3);
    }, 0);
    return new Promise(() => {});
  },
  /** Fills its heap (run under Node's `resourceLimits`). */
  oom() {
    const hoard: string[][] = [];
    const grow = () => {
      for (let i = 0; i < 10_000; i++) hoard.push([`${i}`.repeat(50)]);
      setTimeout(grow, 0);
    };
    grow();
    return new Promise(() => {});
  },
};

serveInWorker((signal, context) => {
  const run = RUNS[behaviour] ?? ONLY_IN_A_WORKER[behaviour];
  if (!run) throw new Error(`no behaviour ${JSON.stringify(behaviour)}`);
  return run(signal, context);
}, web ? {} : { port });
