/**
 * Makes the Workers of `worker_test.ts` on whichever runtime runs it: a web
 * `Worker` of `_worker_fixture.ts` on Deno and Bun, a `node:worker_threads`
 * `Worker` of the compiled `_worker_fixture.js` on Node (which has no global
 * `Worker`). Counts every Worker made, terminated and gone, so a test can
 * prove none is left behind.
 */
import { Worker as NodeWorker, type WorkerOptions } from "node:worker_threads";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { WorkerLike } from "../mod.ts";

/** Whether this runtime has a global web `Worker` (Deno, Bun, browsers). */
export const WEB_WORKERS: boolean = typeof (globalThis as { Worker?: unknown }).Worker ===
  "function";

/** A test file's sibling, as the runtime runs it: the source, or the compiled `.js` on Node. */
export function fixturePath(name: string): string {
  const source = `tests/${name}.ts`;
  return resolve(existsSync(source) ? source : `tests/${name}.js`);
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

/**
 * A factory for `WorkerService`: each call makes a fresh Worker of `file`
 * (a `tests/` module name), tells it `behaviour`, and counts it.
 */
export function workerFactory(
  counts: WorkerCounts,
  behaviour: string,
  file = "_worker_fixture",
  nodeOptions: WorkerOptions = {},
): () => WorkerLike {
  const path = fixturePath(file);
  return () => {
    counts.created++;
    const own = (data: unknown) => {
      if (typeof data !== "object" || data === null || !("@janus/supervisor" in data)) {
        counts.messages.push(data);
      }
    };
    if (WEB_WORKERS) {
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
    const worker = new NodeWorker(path, nodeOptions);
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
