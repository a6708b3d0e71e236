import type { ExitEvent, Supervisor } from "../mod.ts";

/**
 * Records every lifecycle event of `supervisor` as one line with the clock's
 * time, so tests compare whole sequences:
 * `1000 start a#2`, `1000 exit a#2 failed`, `1000 restart a#3 2000`,
 * `7000 giveup a`, `5000 stoptimeout a`, `0 ready a#1`, `10 escalate a`.
 */
export function recordEvents(supervisor: Supervisor): string[] {
  return _record(supervisor, () => `${Date.now()} `).log;
}

/**
 * Records every lifecycle event of `supervisor` as one line without times
 * (`start a#1`, `exit a#1 failed`, `restart a#2 5`, `escalate a`), for
 * scenarios on real time, and keeps the `exit` events. Imports only types,
 * so the browser page, which runs the built package, shares it.
 */
export function recordLifecycle(supervisor: Supervisor): { log: string[]; exits: ExitEvent[] } {
  return _record(supervisor, () => "");
}

function _record(
  supervisor: Supervisor,
  stamp: () => string,
): { log: string[]; exits: ExitEvent[] } {
  const log: string[] = [];
  const exits: ExitEvent[] = [];
  supervisor.addEventListener(
    "start",
    (e) => log.push(`${stamp()}start ${e.service}#${e.attempt}`),
  );
  supervisor.addEventListener("exit", (e) => {
    exits.push(e);
    log.push(`${stamp()}exit ${e.service}#${e.attempt} ${e.outcome}`);
  });
  supervisor.addEventListener(
    "restart",
    (e) => log.push(`${stamp()}restart ${e.service}#${e.attempt} ${e.delay}`),
  );
  supervisor.addEventListener("giveup", (e) => log.push(`${stamp()}giveup ${e.service}`));
  supervisor.addEventListener("stoptimeout", (e) => log.push(`${stamp()}stoptimeout ${e.service}`));
  supervisor.addEventListener(
    "ready",
    (e) => log.push(`${stamp()}ready ${e.service}#${e.attempt}`),
  );
  supervisor.addEventListener("escalate", (e) => log.push(`${stamp()}escalate ${e.service}`));
  return { log, exits };
}

/** A run that waits for its signal, then returns: a well-behaved long-running service. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A run that never settles and ignores its signal. */
export function forever(): Promise<void> {
  return new Promise(() => {});
}

/** A run that fails after `ms` milliseconds, or returns as soon as `signal` aborts. */
export function failAfter(
  ms: number,
  signal: AbortSignal,
  message = `failed after ${ms} ms`,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      reject(new Error(message));
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      resolve();
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A run that fails `ms` after its first start, and on later runs waits for its signal. */
export function failsFirst(ms: number, message?: string) {
  return (signal: AbortSignal, { attempt }: { attempt: number }): Promise<void> =>
    attempt === 1 ? failAfter(ms, signal, message) : untilAborted(signal);
}

/** A run that calls `ready()` after `ms` (unless aborted first), then waits for its signal. */
export function readyAfter(ms: number) {
  return (signal: AbortSignal, { ready }: { ready(): void }): Promise<void> => {
    const timer = setTimeout(ready, ms);
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    return untilAborted(signal);
  };
}
