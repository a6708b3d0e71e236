// Property-based tests: random services, options, trees and interleaved
// calls under fake time, checked against the contract on the event log.
// fast-check prints the seed and the shrunk counterexample of a failure;
// rerun one with `fc.assert(…, { seed, path })`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DoNotRestartError,
  type RestartPolicy,
  type Service,
  type StopOrder,
  type StopReport,
  type Strategy,
  Supervisor,
} from "../mod.ts";
import { type FakeTime, withFakeTime } from "./_fake_time.ts";

const RUNS = 1000;

/** What one run of a service does. */
type Kind =
  | "complete" // resolves after `after` ms, or as soon as its signal aborts
  | "throw" // rejects with an Error after `after` ms, or resolves on abort
  | "reject" // rejects with a non-Error after `after` ms, or resolves on abort
  | "dont_restart" // rejects with DoNotRestartError after `after` ms, or resolves on abort
  | "hang" // never settles, whatever its signal says
  | "ignore_signal"; // completes after `after` ms, abort or not
interface Behaviour {
  kind: Kind;
  after: number;
}
interface ServiceSpec {
  policy: RestartPolicy | undefined;
  behaviours: Behaviour[];
  initialDelay: number;
  maxDelay: number;
  multiplier: number;
  jitter: number;
  maxRestarts: number;
  restartWindow: number;
  resetAfter: number | undefined;
  stopTimeout: number;
}

const behaviour = fc.record({
  kind: fc.constantFrom<Kind>(
    "complete",
    "throw",
    "reject",
    "dont_restart",
    "hang",
    "ignore_signal",
  ),
  after: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 })),
});
const serviceSpec: fc.Arbitrary<ServiceSpec> = fc
  .record({
    policy: fc.constantFrom<RestartPolicy | undefined>("always", "on_failure", "never", undefined),
    behaviours: fc.array(behaviour, { minLength: 1, maxLength: 6 }),
    initialDelay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 })),
    extraDelay: fc.integer({ min: 0, max: 10_000 }),
    multiplier: fc.constantFrom(1, 1.5, 2, 3),
    jitter: fc.constantFrom(0, 0.2, 0.5, 1),
    maxRestarts: fc.constantFrom(0, 1, 2, 3, 5, Infinity),
    restartWindow: fc.integer({ min: 1, max: 60_000 }),
    resetAfter: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
    stopTimeout: fc.integer({ min: 1, max: 3000 }),
  })
  .map(({ extraDelay, ...spec }) => ({ ...spec, maxDelay: spec.initialDelay + extraDelay }));

/** The service a spec describes; it keeps the timers it sets so the test can clear them. */
function serviceOf(name: string, spec: ServiceSpec, timers: Set<unknown>): Service {
  const run = (signal: AbortSignal, { attempt }: { attempt: number }): Promise<void> | void => {
    const { kind, after } = spec.behaviours[(attempt - 1) % spec.behaviours.length]!;
    if (kind === "hang") return new Promise(() => {});
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        signal.removeEventListener("abort", onAbort);
        if (kind === "throw") reject(new Error(`${name} failed`));
        else if (kind === "reject") reject({ not: "an Error" });
        else if (kind === "dont_restart") reject(new DoNotRestartError(`${name} is broken`));
        else resolve();
      }, after);
      timers.add(timer);
      if (kind !== "ignore_signal") signal.addEventListener("abort", onAbort, { once: true });
    });
  };
  return {
    name,
    run,
    ...(spec.policy ? { restartPolicy: spec.policy } : {}),
  };
}

function optionsOf(spec: ServiceSpec) {
  return {
    backoff: {
      initialDelay: spec.initialDelay,
      maxDelay: spec.maxDelay,
      multiplier: spec.multiplier,
      jitter: spec.jitter,
    },
    maxRestarts: spec.maxRestarts,
    restartWindow: spec.restartWindow,
    stopTimeout: spec.stopTimeout,
    ...(spec.resetAfter === undefined ? {} : { resetAfter: spec.resetAfter }),
  };
}

interface Logged {
  t: number;
  type: string;
  service: string;
  attempt?: number;
  outcome?: string;
  delay?: number;
}

function record(supervisor: Supervisor): Logged[] {
  const log: Logged[] = [];
  const types = ["start", "exit", "restart", "giveup", "stoptimeout", "ready", "escalate"];
  for (const type of types) {
    supervisor.addEventListener(type, (e) => {
      const event = e as Event & {
        service: string;
        attempt?: number;
        outcome?: string;
        delay?: number;
      };
      log.push({
        t: Date.now(),
        type,
        service: event.service,
        ...(event.attempt === undefined ? {} : { attempt: event.attempt }),
        ...(event.outcome === undefined ? {} : { outcome: event.outcome }),
        ...(event.delay === undefined ? {} : { delay: event.delay }),
      });
    });
  }
  return log;
}

/** Calls stop() and moves time until it settles; returns the report and how long it took. */
async function stopAndWait(time: FakeTime, supervisor: Supervisor) {
  const at = time.now;
  let report: StopReport | undefined;
  let settledAt = at;
  supervisor.stop().then((r) => {
    report = r;
    settledAt = Date.now();
  });
  for (let i = 0; i < 100_000 && report === undefined; i++) {
    if (!await time.nextAsync()) await time.runMicrotasks();
  }
  assert.ok(report, "stop() settled");
  return { report, took: settledAt - at };
}

/** Every run that ignored its signal is settled, and the services' own timers cleared. */
function cleanUp(timers: Set<unknown>) {
  for (const timer of timers) clearTimeout(timer as ReturnType<typeof setTimeout>);
  timers.clear();
}

/** No two live runs of one service: starts and exits alternate, attempts count up. */
function assertNoOverlap(log: Logged[]) {
  const live = new Map<string, number>();
  const last = new Map<string, number>();
  for (const e of log) {
    if (e.type === "start") {
      assert.ok(
        !live.has(e.service),
        `${e.service}#${e.attempt} started at ${e.t} while #${live.get(e.service)} was live`,
      );
      assert.equal(
        e.attempt,
        (last.get(e.service) ?? 0) + 1,
        `${e.service} attempts count up by one`,
      );
      live.set(e.service, e.attempt!);
      last.set(e.service, e.attempt!);
    } else if (e.type === "exit") {
      assert.equal(live.get(e.service), e.attempt, `${e.service}#${e.attempt} exits the live run`);
      live.delete(e.service);
    }
  }
}

describe("Supervisor properties", () => {
  it(
    `restarts exactly as policy, backoff and limit say, and stops within shutdownTimeout (${RUNS} runs)`,
    {
      timeout: 600_000,
    },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(serviceSpec, { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 0, max: 40_000 }),
          fc.integer({ min: 1, max: 10_000 }),
          fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
            minLength: 1,
            maxLength: 8,
          }),
          async (specs, stopAt, shutdownTimeout, randoms) => {
            await withFakeTime(async (time) => {
              let r = 0;
              const supervisor = new Supervisor({
                shutdownTimeout,
                random: () => randoms[r++ % randoms.length]!,
              });
              const log = record(supervisor);
              const timers = new Set<unknown>();
              specs.forEach((spec, i) =>
                supervisor.add(serviceOf(`s${i}`, spec, timers), optionsOf(spec))
              );
              await supervisor.start();
              await time.advanceTo(stopAt);
              const liveAtStop = new Map(supervisor.status().map((s) => [s.name, s.state]));
              const stopIndex = log.length;
              const { report, took } = await stopAndWait(time, supervisor);
              assert.ok(
                took <= shutdownTimeout + 1,
                `stop() took ${took} ms, shutdownTimeout ${shutdownTimeout}`,
              );
              cleanUp(timers);
              assert.equal(time.countTimers(), 0, "no timer left after stop()");
              assertNoOverlap(log);
              specs.forEach((spec, i) =>
                checkService(`s${i}`, spec, log, stopIndex, liveAtStop.get(`s${i}`)!, report)
              );
            });
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  it(
    `keeps runs apart, delays in bounds and nothing left behind in random trees with remove and restart calls (${RUNS} runs)`,
    {
      timeout: 600_000,
    },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Strategy>("one_for_one", "one_for_all", "rest_for_one"),
          fc.array(serviceSpec, { minLength: 1, maxLength: 3 }),
          fc.option(
            fc.record({
              strategy: fc.constantFrom<Strategy>("one_for_one", "one_for_all", "rest_for_one"),
              escalate: fc.boolean(),
              specs: fc.array(serviceSpec, { minLength: 1, maxLength: 3 }),
              maxRestarts: fc.constantFrom(0, 1, 3, Infinity),
            }),
            { nil: undefined },
          ),
          fc.array(
            fc.record({
              at: fc.integer({ min: 0, max: 20_000 }),
              action: fc.constantFrom("restart", "remove"),
              target: fc.nat(),
            }),
            { maxLength: 4 },
          ),
          fc.integer({ min: 0, max: 30_000 }),
          fc.integer({ min: 1, max: 10_000 }),
          fc.constantFrom<StopOrder>("reverse", "together"),
          fc.constantFrom<StopOrder>("reverse", "together"),
          async (
            strategy,
            specs,
            nested,
            actions,
            stopAt,
            shutdownTimeout,
            rootOrder,
            subOrder,
          ) => {
            await withFakeTime(async (time) => {
              const timers = new Set<unknown>();
              const root = new Supervisor({
                name: "root",
                strategy,
                shutdownTimeout,
                stopOrder: rootOrder,
              });
              const log = record(root);
              const maxDelay = new Map<string, number>();
              specs.forEach((spec, i) => {
                root.add(serviceOf(`s${i}`, spec, timers), optionsOf(spec));
                maxDelay.set(`s${i}`, spec.maxDelay);
              });
              const listeners = watchListeners();
              if (nested) {
                const child = new Supervisor({
                  name: "sub",
                  stopOrder: subOrder,
                  strategy: nested.strategy,
                  escalate: nested.escalate,
                  shutdownTimeout: Math.max(1, Math.floor(shutdownTimeout / 2)),
                });
                nested.specs.forEach((spec, i) => {
                  child.add(serviceOf(`n${i}`, spec, timers), optionsOf(spec));
                  maxDelay.set(`sub/n${i}`, spec.maxDelay);
                });
                const run = child.run.bind(child);
                child.run = (signal, context) => {
                  listeners.track(signal);
                  return run(signal, context);
                };
                root.add(child, {
                  maxRestarts: nested.maxRestarts,
                  backoff: { initialDelay: 100 },
                });
                maxDelay.set("sub", 60_000);
              }
              await root.start();
              const names = root.status().map((s) => s.name);
              const removedAt = new Map<string, number>();
              for (const { at, action, target } of [...actions].sort((a, b) => a.at - b.at)) {
                if (at >= stopAt) break;
                await time.advanceTo(at);
                const name = names[target % names.length]!;
                if (action === "remove") {
                  removedAt.set(name, Math.min(removedAt.get(name) ?? at, at));
                }
                const call = action === "restart" ? root.restart(name) : root.remove(name);
                call.catch(() => {}); // an unknown (removed) name or a run that would not stop
              }
              await time.advanceTo(stopAt);
              const { took } = await stopAndWait(time, root);
              assert.ok(
                took <= shutdownTimeout + 2,
                `stop() took ${took} ms, shutdownTimeout ${shutdownTimeout}`,
              );
              cleanUp(timers);
              assert.equal(time.countTimers(), 0, "no timer left after stop()");
              listeners.assertNoneLeft();
              assertNoOverlap(log);
              // A group restarts with the delay of the child that failed: bounded by the
              // largest maxDelay in the supervisor when the strategy is not one_for_one.
              const largest = (nestedOnes: boolean) =>
                Math.max(
                  ...[...maxDelay].filter(([name]) => name.startsWith("sub/") === nestedOnes).map((
                    [, d],
                  ) => d),
                );
              const groupBound = { root: largest(false), sub: largest(true) };
              const bound = (service: string) => {
                const inSub = service.startsWith("sub/");
                if ((inSub ? nested?.strategy : strategy) === "one_for_one") {
                  return maxDelay.get(service)!;
                }
                return inSub ? groupBound.sub : groupBound.root;
              };
              const announced = new Set<string>();
              for (const e of log) {
                if (e.type !== "restart") continue;
                announced.add(`${e.service}#${e.attempt}`);
                assert.ok(
                  e.delay! >= 0 && e.delay! <= bound(e.service),
                  `${e.service} delay ${e.delay}`,
                );
              }
              // Every restart announced at the top level happens: its run starts,
              // unless stop() or remove() came before the delay was over.
              const started = new Set(
                log.filter((x) => x.type === "start").map((x) => `${x.service}#${x.attempt}`),
              );
              // The last announcement of a run counts: a later group restart merges
              // an earlier one and waits its own delay.
              const lastAnnounced = new Map<string, Logged>();
              for (const e of log) {
                if (e.type === "restart") lastAnnounced.set(`${e.service}#${e.attempt}`, e);
              }
              for (const e of lastAnnounced.values()) {
                if (e.service.startsWith("sub/")) continue;
                const due = e.t + e.delay!;
                if (due + 1 >= stopAt || (removedAt.get(e.service) ?? Infinity) <= due + 1) {
                  continue;
                }
                assert.ok(
                  started.has(`${e.service}#${e.attempt}`),
                  `${e.service}#${e.attempt} announced at ${e.t} (delay ${e.delay}) never started`,
                );
              }
              // Every run after the first was announced by a restart event, but the
              // children of a restarted subtree, which start afresh.
              for (const e of log) {
                if (e.type !== "start" || e.attempt === 1 || e.service.startsWith("sub/")) continue;
                assert.ok(
                  announced.has(`${e.service}#${e.attempt}`),
                  `${e.service}#${e.attempt} started unannounced`,
                );
              }
            });
          },
        ),
        { numRuns: RUNS },
      );
    },
  );
});

/** Counts the listeners added to the signals given to child supervisors, to find any left behind. */
function watchListeners() {
  const tracked = new Map<AbortSignal, number>();
  const proto = AbortSignal.prototype as unknown as EventTarget;
  const add = proto.addEventListener;
  const remove = proto.removeEventListener;
  // Only the supervisor's own listeners matter: those added while its run() registers.
  return {
    track(signal: AbortSignal) {
      tracked.set(signal, 0);
      const target = signal as unknown as EventTarget;
      target.addEventListener = function (this: EventTarget, ...args: Parameters<typeof add>) {
        tracked.set(signal, (tracked.get(signal) ?? 0) + 1);
        return add.apply(this, args);
      };
      target.removeEventListener = function (
        this: EventTarget,
        ...args: Parameters<typeof remove>
      ) {
        tracked.set(signal, (tracked.get(signal) ?? 0) - 1);
        return remove.apply(this, args);
      };
    },
    assertNoneLeft() {
      for (const [signal, count] of tracked) {
        // A `once` listener removes itself when the signal aborts.
        assert.ok(
          count === 0 || (signal.aborted && count === 1),
          `${count} listener(s) left on a signal`,
        );
      }
    },
  };
}

/**
 * Walks one service's events and checks each against the model: the outcome
 * its behaviour gives, the restart or giveup its policy and limit give, the
 * delay its backoff gives, and the stop.
 */
/** Assertions whose message is built only when they fail. */
function check(ok: unknown, message: () => string): asserts ok {
  if (!ok) assert.fail(message());
}
function same(actual: unknown, expected: unknown, message: () => string): void {
  if (actual !== expected) assert.fail(`${String(actual)} !== ${String(expected)}: ${message()}`);
}
function differ(actual: unknown, unexpected: unknown, message: () => string): void {
  if (actual === unexpected) assert.fail(`${String(actual)} should not be: ${message()}`);
}

function checkService(
  name: string,
  spec: ServiceSpec,
  all: Logged[],
  stopIndex: number,
  stateAtStop: string,
  report: StopReport,
) {
  const afterStop = new Set(all.slice(stopIndex));
  const log = all.filter((e) => e.service === name);
  const resetAfter = spec.resetAfter ?? 2 * spec.maxDelay;
  const restarts: number[] = [];
  let n = 0;
  let startedAt = 0;
  let pending: Logged | undefined; // the restart waiting for its start
  for (let i = 0; i < log.length; i++) {
    const e = log[i]!;
    // Built only when an assertion fails: logs of crash loops are long.
    const where = () =>
      `${name} event ${i} ${JSON.stringify(e)} in ${JSON.stringify(log.slice(0, 200))}`;
    if (e.type === "start") {
      if (e.attempt === 1) same(e.t, 0, where);
      else {
        check(pending && pending.attempt === e.attempt, () => `start without restart: ${where()}`);
        const restart = pending;
        const gap = e.t - restart.t;
        const wait = restart.delay!;
        check(Number.isInteger(wait), () => `delay ${wait} is not whole milliseconds: ${where()}`);
        check(
          gap >= wait && gap <= wait + 1,
          () => `restart waited ${gap} ms, not ${restart.delay}: ${where()}`,
        );
        check(!afterStop.has(e), () => `started after stop(): ${where()}`);
        pending = undefined;
      }
      startedAt = e.t;
      continue;
    }
    if (e.type === "stoptimeout") continue;
    same(e.type, "exit", where);
    const { kind, after } = spec.behaviours[(e.attempt! - 1) % spec.behaviours.length]!;
    if (e.outcome === "stopped") {
      check(afterStop.has(e), () => `stopped before stop(): ${where()}`);
      differ(kind, "hang", where);
      continue;
    }
    // Not aborted: it ended as its behaviour says, after `after` ms (a 0 ms
    // timer set while timers fire waits 1 ms, as in browsers and Node).
    const lasted = e.t - startedAt;
    check(
      lasted === after || (after === 0 && lasted === 1),
      () => `lasted ${lasted} ms: ${where()}`,
    );
    same(
      e.outcome,
      kind === "complete" || kind === "ignore_signal" ? "completed" : "failed",
      where,
    );
    const restart = kind !== "dont_restart" &&
      (spec.policy === "always" ||
        ((spec.policy ?? "on_failure") === "on_failure" && e.outcome === "failed"));
    const next = log[i + 1];
    const stopping = afterStop.has(e);
    if (!restart || stopping) {
      check(!next || next.type === "stoptimeout", () => `nothing should follow: ${where()}`);
      continue;
    }
    while (restarts.length > 0 && e.t - restarts[0]! >= spec.restartWindow) restarts.shift();
    if (restarts.length >= spec.maxRestarts) {
      same(next?.type, "giveup", () => `expected giveup: ${where()}`);
      same(next?.t, e.t, where);
      i++;
      continue;
    }
    restarts.push(e.t);
    if (e.t - startedAt >= resetAfter) n = 0;
    const ceiling = spec.initialDelay === 0
      ? 0
      : Math.min(spec.maxDelay, spec.initialDelay * spec.multiplier ** n);
    n++;
    check(next?.type === "restart", () => `expected restart: ${where()}`);
    same(next.t, e.t, where);
    same(next.attempt, e.attempt! + 1, where);
    // Whole milliseconds, as the timer waits: the formula's bounds, rounded down.
    const low = Math.floor(ceiling * (1 - spec.jitter) - 1e-9);
    check(
      Number.isInteger(next.delay) && next.delay! >= low && next.delay! <= Math.floor(ceiling),
      () => `delay ${next.delay} outside [${low}, ${ceiling}]: ${where()}`,
    );
    pending = next;
    i++;
  }
  // The report: running or waiting at stop → stopped or timed out; a run that hangs → timed out.
  const inStopped = report.stopped.includes(name);
  const inTimedOut = report.timedOut.includes(name);
  if (stateAtStop === "running" || stateAtStop === "backing_off") {
    check(
      inStopped !== inTimedOut,
      () => `${name} (${stateAtStop}) reported once: ${JSON.stringify(report)}`,
    );
  } else {
    check(
      !inStopped && !inTimedOut,
      () => `${name} (${stateAtStop}) not reported: ${JSON.stringify(report)}`,
    );
  }
  const lastStart = log.findLast((e) => e.type === "start");
  const lastExit = log.findLast((e) => e.type === "exit");
  if (stateAtStop === "running" && lastStart && lastExit?.attempt !== lastStart.attempt) {
    const { kind } = spec.behaviours[(lastStart.attempt! - 1) % spec.behaviours.length]!;
    if (kind === "hang") {
      check(inTimedOut, () => `${name} hangs, so it timed out: ${JSON.stringify(report)}`);
    }
  }
}
