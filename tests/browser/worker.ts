/**
 * The module Worker of the browser row: serves `_worker_behaviours.ts` from
 * the worker's global scope. `run.mjs` bundles it with the built package.
 *
 * @module
 */
import type { WorkerPort } from "@janus/supervisor";
import { serveBehaviours } from "../_worker_behaviours.ts";

const scope = globalThis as unknown as WorkerPort & { close(): void };

serveBehaviours({ port: scope, isScope: true, exit: () => scope.close() });
