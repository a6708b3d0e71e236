/**
 * The worker module of `worker_test.ts`: serves `_worker_behaviours.ts`.
 * Runs as a web Worker (Deno, Bun: the global scope is the port) or as a
 * `node:worker_threads` Worker (Node, Deno: `parentPort`, told by its
 * `workerData`), compiled to `.js` on Node.
 */
import { parentPort, workerData } from "node:worker_threads";
import { readlinkSync } from "node:fs";
import process from "node:process";
import type { WorkerPort } from "../mod.ts";
import { serveBehaviours } from "./_worker_behaviours.ts";

const scope = globalThis as unknown as WorkerPort & { close?: () => void };
const node = (workerData as { port?: unknown } | undefined)?.port === "parentPort";

serveBehaviours({
  port: node ? parentPort as unknown as WorkerPort : scope,
  isScope: !node,
  // `close()` in a web worker that has one (Deno), else `process.exit(3)` (Bun, Node).
  exit: () => !node && typeof scope.close === "function" ? scope.close() : process.exit(3),
  threadId: () => {
    try {
      return readlinkSync("/proc/thread-self").split("/").at(-1);
    } catch {
      return undefined;
    }
  },
});
