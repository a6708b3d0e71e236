/**
 * Makes the Workers of `worker_test.ts` on whichever runtime runs it, of
 * either kind: a web `Worker` of `_worker_fixture.ts`, or a
 * `node:worker_threads` `Worker` of it (the compiled `.js` on Node, which has
 * no global `Worker`). Counts every Worker made, terminated and gone, so a
 * test can prove none is left behind.
 */
import { Worker as NodeWorker, type WorkerOptions } from "node:worker_threads";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { WorkerLike } from "../mod.ts";

/** A web `Worker`, or a `node:worker_threads` one. */
export type WorkerKind = "web" | "node";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/**
 * The kinds of Worker each runtime is tested with: both on Deno, the web
 * one on Bun, Node's on Node (it has no global `Worker`).
 */
export const WORKER_KINDS: readonly WorkerKind[] = runtime === "deno"
  ? ["node", "web"]
  : runtime === "bun"
  ? ["web"]
  : ["node"];

/**
 * Whether `terminate()` stops a worker stuck in a synchronous loop. Not
 * Deno's web Worker (its termination waits for the worker's event loop,
 * which a loop never yields to: denoland/deno#35657), nor Bun's
 * `node:worker_threads` one (oven-sh/bun#12616). Deno's `node:worker_threads`
 * Worker is, when it holds a Web Lock, which `serveInWorker` takes.
 */
export function killsLoops(kind: WorkerKind): boolean {
  return kind === "web" ? runtime !== "deno" : runtime !== "bun";
}

/** Whether this is Node itself (for what only Node has, such as `resourceLimits`). */
export const ON_NODE: boolean = runtime === "node";

/** A test file's sibling, as the runtime runs it: the source, or the compiled `.js` on Node. */
export function fixturePath(name: string): string {
  const source = `tests/${name}.ts`;
  return resolve(existsSync(source) ? source : `tests/${name}.js`);
}

/** Whether the OS thread `id` of this process still exists (Linux's /proc); undefined elsewhere. */
export function threadAlive(id: string | undefined): boolean | undefined {
  if (id === undefined || !existsSync("/proc/self/task")) return undefined;
  return existsSync(`/proc/self/task/${id}`);
}

/** What the Workers of one test did. */
export class WorkerCounts {
  /** Workers made. */
  created = 0;
  /** `terminate()` calls. */
  terminated = 0;
  /** Workers whose thread is known to be gone (Node's `exit`); web Workers count at terminate. */
  gone = 0;
  /** The messages the workers posted that are not the supervisor's. */
  readonly messages: unknown[] = [];
}

/** How {@linkcode workerFactory} makes its Workers. */
export interface FactoryOptions {
  /** The module, a `tests/` file name without extension. @default {"_worker_fixture"} */
  readonly file?: string;
  /** Options of a `node:worker_threads` Worker. */
  readonly nodeOptions?: WorkerOptions;
}

/**
 * A factory for `WorkerService`: each call makes a fresh Worker of `kind`,
 * tells it `behaviour`, and counts it.
 */
export function workerFactory(
  kind: WorkerKind,
  counts: WorkerCounts,
  behaviour: string,
  options: FactoryOptions = {},
): () => WorkerLike {
  const path = fixturePath(options.file ?? "_worker_fixture");
  return () => {
    counts.created++;
    const own = (data: unknown) => {
      if (typeof data !== "object" || data === null || !("@janus/supervisor" in data)) {
        counts.messages.push(data);
      }
    };
    if (kind === "web") {
      const worker = new Worker(pathToFileURL(path), { type: "module" });
      worker.addEventListener("message", (event) => own(event.data));
      const terminate = worker.terminate.bind(worker);
      worker.terminate = () => {
        counts.terminated++;
        counts.gone++;
        terminate();
      };
      worker.postMessage({ behaviour });
      return worker;
    }
    const worker = new NodeWorker(path, {
      ...options.nodeOptions,
      workerData: { port: "parentPort" },
    });
    worker.on("message", own);
    worker.once("exit", () => counts.gone++);
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      counts.terminated++;
      return terminate();
    };
    worker.postMessage({ behaviour });
    return worker;
  };
}
