/**
 * The worker module of the Worker restart-cycle benchmark: a run that
 * completes at once. A web Worker on Deno and Bun (the global scope is the
 * port); a `node:worker_threads` Worker on Node, bundled by `bench.ts`.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { serveInWorker, type WorkerPort } from "../mod.ts";

const web = typeof (globalThis as { postMessage?: unknown }).postMessage === "function";
serveInWorker(() => {}, web ? {} : { port: parentPort as unknown as WorkerPort });
