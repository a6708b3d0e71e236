/**
 * The behaviours the test workers can have, served with `serveInWorker`:
 * every run of `_worker_runs.ts`, and those only a Worker can have (spin
 * forever, throw from a timer, end itself, fill its heap). The test's
 * factory posts `{ behaviour }` before the supervisor's `start`, so it
 * arrives first.
 *
 * Names no runtime: `_worker_fixture.ts` (Deno, Bun, Node) and
 * `browser/worker.ts` (Chromium) pass in the port and how to exit.
 */
import { serveInWorker, type WorkerPort } from "../mod.ts";
import { type Run, RUNS } from "./_worker_runs.ts";

/** What a worker module gives: its port to the supervisor, and how it ends itself. */
export interface WorkerGlue {
  /** `self` in a web worker, `parentPort` on Node. */
  readonly port: WorkerPort;
  /** Whether `port` is the global scope (then serveInWorker finds it itself). */
  readonly isScope: boolean;
  /** Ends this worker on its own. */
  readonly exit: () => void;
  /** The OS thread this worker runs on, where the runtime can tell (Linux's /proc). */
  readonly threadId?: () => string | undefined;
}

const g = globalThis as { __janusModuleRuns?: number };

/** Describes an abort reason for the test, as the worker's signal carries it. */
function describeReason(reason: unknown) {
  const r = reason as { name?: unknown; message?: unknown } | undefined;
  return {
    type: Object.prototype.toString.call(reason),
    name: typeof r === "object" ? r?.name : undefined,
    message: typeof r === "object" ? r?.message : String(reason),
  };
}

/** Serves the behaviour the test asks for. Call once, at the top of the worker module. */
export function serveBehaviours(glue: WorkerGlue): void {
  const post = (message: unknown) => glue.port.postMessage(message);
  // Counts the runs this module's memory has seen: always 1 in a fresh Worker.
  g.__janusModuleRuns = (g.__janusModuleRuns ?? 0) + 1;

  let behaviour = "";
  /** Where a spinning loop counts its turns, when the test shares memory to watch it. */
  let spins: Int32Array | undefined;
  const onData = (data: unknown) => {
    const { behaviour: wanted, spins: shared } = (data ?? {}) as Record<string, unknown>;
    if (typeof wanted === "string") behaviour = wanted;
    if (typeof SharedArrayBuffer === "function" && shared instanceof SharedArrayBuffer) {
      spins = new Int32Array(shared);
    }
  };
  if (glue.port.on) glue.port.on("message", onData);
  else glue.port.addEventListener!("message", (event) => onData(event.data));

  const onlyInAWorker: Readonly<Record<string, Run>> = {
    /** Ready, then never yields again: only terminate() ends it. */
    loop(_signal, { ready }) {
      post({ moduleRuns: g.__janusModuleRuns, thread: glue.threadId?.() });
      ready();
      if (spins) { for (;;) Atomics.add(spins, 0, 1); }
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
    /** Ends its own worker. */
    exit() {
      setTimeout(glue.exit, 0);
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
    const run = RUNS[behaviour] ?? onlyInAWorker[behaviour];
    if (!run) throw new Error(`no behaviour ${JSON.stringify(behaviour)}`);
    return run(signal, context);
  }, glue.isScope ? {} : { port: glue.port });
}
