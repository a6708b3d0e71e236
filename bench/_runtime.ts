/**
 * The little runtime glue the benchmarks and the soak test need, the same
 * way on Deno, Node and Bun: the runtime's name, command-line arguments, a
 * forced full garbage collection, the used heap, and the exit code.
 *
 * @module
 */

interface _MemoryUsage {
  readonly heapUsed: number;
}

interface _Globals {
  readonly Deno?: {
    readonly version: { readonly deno: string; readonly v8: string };
    readonly args: string[];
    memoryUsage(): _MemoryUsage;
    exitCode: number;
  };
  readonly Bun?: { readonly version: string; gc(force: boolean): void };
  readonly process?: {
    readonly versions: Record<string, string | undefined>;
    readonly argv: string[];
    memoryUsage(): _MemoryUsage;
    exitCode?: number | string | undefined;
  };
  readonly gc?: () => void;
}

const _g = globalThis as unknown as _Globals;

/** Which runtime this is. */
export type RuntimeName = "deno" | "node" | "bun";

/** The runtime's name. */
export const runtimeName: RuntimeName = _g.Deno ? "deno" : _g.Bun ? "bun" : "node";

/** The runtime's name and version, e.g. `deno 2.9.6 (V8 15.0)`. */
export function runtimeLabel(): string {
  if (_g.Deno) return `deno ${_g.Deno.version.deno} (V8 ${_g.Deno.version.v8})`;
  if (_g.Bun) return `bun ${_g.Bun.version} (JSC)`;
  const versions = _g.process?.versions ?? {};
  return `node ${versions["node"] ?? "?"} (V8 ${versions["v8"] ?? "?"})`;
}

/** The script's command-line arguments. */
export function scriptArgs(): string[] {
  return _g.Deno ? _g.Deno.args : (_g.process?.argv.slice(2) ?? []);
}

/**
 * The value of `--name=value` among the arguments, as a number.
 *
 * @param name The option's name, without dashes.
 * @param fallback The value when the option is absent.
 * @returns The number.
 * @throws {RangeError} The value is not a non-negative integer.
 */
export function numberArg(name: string, fallback: number): number {
  const prefix = `--${name}=`;
  const arg = scriptArgs().find((a) => a.startsWith(prefix));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(prefix.length).replaceAll("_", ""));
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot read '--${name}' as it must be a non-negative integer: current value is ${arg}`,
    );
  }
  return value;
}

/** Whether {@linkcode collectGarbage} can force a collection here. */
export function canCollectGarbage(): boolean {
  return _g.Bun !== undefined || typeof _g.gc === "function";
}

/**
 * Forces full garbage collections (V8's `gc()`, exposed by
 * `--v8-flags=--expose-gc` in Deno and `--expose-gc` in Node; `Bun.gc(true)`
 * in Bun).
 *
 * @throws {Error} The runtime was started without exposing `gc`.
 */
export function collectGarbage(): void {
  if (_g.Bun) {
    _g.Bun.gc(true);
    _g.Bun.gc(true);
    return;
  }
  const gc = _g.gc;
  if (typeof gc !== "function") {
    throw new Error(
      "Cannot force a garbage collection as 'gc' is not exposed: run Deno with " +
        "--v8-flags=--expose-gc, or Node with --expose-gc",
    );
  }
  // Two passes: the first may only queue weak callbacks and finalizers.
  gc();
  gc();
}

// Captured at import, before any stand-in timers are installed.
const _setTimeout = globalThis.setTimeout;

/**
 * Waits for one turn of the real event loop, so the runtime's own
 * housekeeping (Node's unhandled-rejection bookkeeping, finalizers) runs
 * before the heap is measured.
 */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => _setTimeout(resolve, 0));
}

/** Bytes used on the JavaScript heap right now. */
export function heapUsed(): number {
  const usage = _g.Deno ? _g.Deno.memoryUsage() : _g.process?.memoryUsage();
  if (usage === undefined) throw new Error("Cannot read the heap size in this runtime");
  return usage.heapUsed;
}

/**
 * The used heap once it stops shrinking: waits for a turn of the event loop
 * and collects garbage until two readings agree within 0.1 % (at most 10
 * rounds). One collection is not always enough: JSC sweeps lazily, so Bun
 * can report memory a previous phase freed as still in use.
 */
export async function settledHeapUsed(): Promise<number> {
  let previous = Infinity;
  for (let round = 0; round < 10; round++) {
    await nextMacrotask();
    collectGarbage();
    const used = heapUsed();
    if (Math.abs(used - previous) <= used * 0.001) return used;
    previous = used;
  }
  return previous;
}

/** Sets the exit code the process ends with, without ending it. */
export function setExitCode(code: number): void {
  if (_g.Deno) _g.Deno.exitCode = code;
  else if (_g.process) _g.process.exitCode = code;
}

/** A promise with its `resolve`, for Node 20 (which lacks `Promise.withResolvers`). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** A duration in ms, a size in bytes, a count: formatted for the tables. */
export const fmt = {
  ms: (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`,
  ns: (ns: number): string => `${ns < 100 ? ns.toFixed(1) : ns.toFixed(0)} ns`,
  bytes: (bytes: number): string =>
    Math.abs(bytes) < 10_240
      ? `${Math.round(bytes)} B`
      : Math.abs(bytes) < 1_048_576
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1_048_576).toFixed(2)} MiB`,
  count: (n: number): string => n.toLocaleString("en-US"),
};
