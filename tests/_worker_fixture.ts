/**
 * The worker module of `worker_test.ts`: serves `_worker_behaviours.ts`.
 * Runs as a web Worker on Deno and Bun (the global scope is the port) and as
 * a `node:worker_threads` Worker on Node (compiled to `.js`, with
 * `parentPort`).
 */
import { parentPort } from "node:worker_threads";
import process from "node:process";
import type { WorkerPort } from "../mod.ts";
import { serveBehaviours } from "./_worker_behaviours.ts";

const scope = globalThis as unknown as WorkerPort & { close?: () => void };
const web = typeof scope.postMessage === "function";

serveBehaviours({
  port: web ? scope : parentPort as unknown as WorkerPort,
  isScope: web,
  // `close()` in a web worker that has one (Deno), else `process.exit(3)` (Bun, Node).
  exit: () => typeof scope.close === "function" ? scope.close() : process.exit(3),
});
