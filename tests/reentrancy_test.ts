// Regression tests for issue 9: calls made from user code (a listener, a
// `run()`) in the middle of a change, user code that throws where the
// supervisor handles its result, and the three README promises the old core
// broke. Each test replays the scenario of the issue and checks what a user
// relies on: the whole event log, status(), the stop report, the timers left.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DoNotRestartError,
  EscalateError,
  healthHandler,
  RestartLimitError,
  type RestartPolicy,
  type RunContext,
  type Service,
  type ServiceOptions,
  type StopReport,
  Supervisor,
  toPrometheus,
} from "../mod.ts";
import { type FakeTime, settled, withFakeTime } from "./_fake_time.ts";
import { failAfter, failsFirst, forever, readyAfter, recordEvents, untilAborted } from "./_log.ts";

/** Records the abort reason of `signal` as `name: message` when it aborts. */
function noteAbort(reasons: string[], name: string, signal: AbortSignal): void {
  signal.addEventListener("abort", () => {
    const reason = signal.reason;
    reasons.push(`${name}: ${reason instanceof DOMException ? reason.message : String(reason)}`);
  }, { once: true });
}

/** A run that rejects with `error` after `ms`, whatever its signal does. */
const rejectAfter = (ms: number, error: unknown) => (): Promise<void> =>
  new Promise((_, reject) => setTimeout(() => reject(error), ms));

/** A run that rejects at once on its first start, and on later runs waits for its signal. */
const failsAtOnce = (message: string) => (signal: AbortSignal, { attempt }: RunContext) =>
  attempt === 1 ? Promise.reject(new Error(message)) : untilAborted(signal);

/** Stops the supervisor, moving time on until it has, and returns the report. */
async function stopNow(time: FakeTime, supervisor: Supervisor) {
  let report: Awaited<ReturnType<Supervisor["stop"]>> | undefined;
  supervisor.stop().then((r) => report = r);
  while (report === undefined && await time.nextAsync());
  await time.runMicrotasks();
  assert.ok(report, "stop() settled");
  return report;
}

/** A revoked `Proxy`: `instanceof`, `String()` and every other inspection of it throw. */
function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe("Supervisor.remove while the run is being launched (issue 9, defect 1)", () => {
  for (const moment of ["synchronously inside run()", "from a start listener"]) {
    const inRun = moment === "synchronously inside run()";
    it(`aborts the run and forgets the service when called ${moment}`, () =>
      withFakeTime(async (time) => {
        const supervisor = new Supervisor({ backoff: { jitter: 0 } });
        const log = recordEvents(supervisor);
        const reasons: string[] = [];
        let removed: Promise<void> | undefined;
        const remove = () => removed ??= supervisor.remove("a");
        if (!inRun) {
          supervisor.addEventListener("start", (e) => {
            if (e.service === "a") remove();
          });
        }
        supervisor.add("a", (signal) => {
          if (inRun) remove();
          noteAbort(reasons, "a", signal);
          // Left alone it would fail at 10 ms and be restarted by its policy.
          return failAfter(10, signal);
        });
        supervisor.add("b", untilAborted);
        await supervisor.start();
        assert.ok(removed);
        await removed;
        assert.equal(time.now, 0);
        assert.deepEqual(reasons, ["a: Service 'a' was removed"]);
        assert.deepEqual(log, ["0 start a#1", "0 start b#1", "0 exit a#1 stopped"]);
        assert.deepEqual(supervisor.status(), [
          { name: "b", state: "running", attempt: 1, restarts: 0, ready: false },
        ]);
        assert.deepEqual(supervisor.metrics().map((m) => m.name), ["b"]);
        assert.equal(time.countTimers(), 0);
        await time.tickAsync(5000); // nothing was left running to fail and restart
        assert.equal(log.length, 3);
        assert.deepEqual(await supervisor.stop(), { stopped: ["b"], timedOut: [] });
        await time.tickAsync(60_000); // and no run starts after stop() resolved
        assert.deepEqual(log.slice(3), ["5000 exit b#1 stopped"]);
        assert.equal(time.countTimers(), 0);
      }));
  }

  it("aborts the run and forgets the service when called from a ready listener", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      const reasons: string[] = [];
      let removed: Promise<void> | undefined;
      supervisor.addEventListener("ready", (e) => {
        if (e.service === "a") removed ??= supervisor.remove("a");
      });
      supervisor.add("a", (signal, { ready }) => {
        noteAbort(reasons, "a", signal);
        ready();
        return failAfter(10, signal);
      }, { waitReady: true });
      supervisor.add("b", untilAborted);
      await supervisor.start();
      assert.ok(removed);
      await removed;
      assert.equal(supervisor.state, "running");
      assert.deepEqual(reasons, ["a: Service 'a' was removed"]);
      assert.deepEqual(log, ["0 start a#1", "0 ready a#1", "0 start b#1", "0 exit a#1 stopped"]);
      assert.deepEqual(supervisor.status(), [
        { name: "b", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      await time.tickAsync(5000);
      assert.equal(log.length, 4);
      assert.deepEqual(await supervisor.stop(), { stopped: ["b"], timedOut: [] });
      await time.tickAsync(60_000);
      assert.deepEqual(log.slice(4), ["5000 exit b#1 stopped"]);
      assert.equal(time.countTimers(), 0);
    }));

  const childMoments: [string, "listener" | "leaf"][] = [
    ["from the parent's start listener", "listener"],
    ["synchronously inside one of its children's run()", "leaf"],
  ];
  for (const [moment, where] of childMoments) {
    it(`stops a child supervisor being started, and its children, when called ${moment}`, () =>
      withFakeTime(async (time) => {
        const feeds = new Supervisor({ name: "feeds" });
        const root = new Supervisor({ name: "root", backoff: { jitter: 0 } });
        const log = recordEvents(root);
        const reasons: string[] = [];
        let removed: Promise<void> | undefined;
        const remove = () => removed ??= root.remove("feeds");
        if (where === "listener") {
          root.addEventListener("start", (e) => {
            if (e.service === "feeds") remove();
          });
        }
        feeds.add("leaf", (signal) => {
          if (where === "leaf") remove();
          noteAbort(reasons, "leaf", signal);
          return failAfter(10, signal);
        });
        root.add(feeds).add("http", untilAborted);
        await root.start();
        assert.ok(removed);
        await removed;
        assert.deepEqual(reasons, ["leaf: Service 'feeds' was removed"]);
        assert.deepEqual(log, [
          "0 start feeds#1",
          "0 start feeds/leaf#1",
          "0 start http#1",
          "0 exit feeds/leaf#1 stopped",
          "0 exit feeds#1 stopped",
        ]);
        assert.deepEqual(root.status(), [
          { name: "http", state: "running", attempt: 1, restarts: 0, ready: false },
        ]);
        assert.equal(feeds.state, "stopped");
        assert.deepEqual(feeds.status(), [
          { name: "leaf", state: "stopped", attempt: 1, restarts: 0, ready: false },
        ]);
        assert.equal(time.countTimers(), 0);
        await time.tickAsync(5000);
        assert.equal(log.length, 5);
        assert.deepEqual(await root.stop(), { stopped: ["http"], timedOut: [] });
        await time.tickAsync(60_000);
        assert.deepEqual(log.slice(5), ["5000 exit http#1 stopped"]);
        assert.equal(feeds.status()[0]?.attempt, 1);
        assert.equal(time.countTimers(), 0);
      }));
  }
});

describe("Supervisor.remove from a restart listener (issue 9, defect 2)", () => {
  it("cancels the new run restart() was about to start, and restart() rejects", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      let removed: Promise<void> | undefined;
      supervisor.addEventListener("restart", (e) => {
        if (e.service === "a") removed ??= supervisor.remove("a");
      });
      supervisor.add("a", untilAborted).add("b", untilAborted);
      await supervisor.start();
      await time.tickAsync(100);
      await assert.rejects(settled(time, supervisor.restart("a")), {
        message: "Cannot restart service 'a' as it was removed",
      });
      assert.ok(removed);
      await removed;
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "100 exit a#1 stopped",
        "100 restart a#2 0",
      ]);
      assert.deepEqual(supervisor.status().map((s) => s.name), ["b"]);
      assert.equal(time.countTimers(), 0);
      await time.tickAsync(5000);
      assert.equal(log.length, 4); // no run #2 of a
      assert.deepEqual(await supervisor.stop(), { stopped: ["b"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("cancels the new run when restart() cuts a backoff short", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      let removed: Promise<void> | undefined;
      supervisor.addEventListener("restart", (e) => {
        if (e.delay === 0) removed ??= supervisor.remove("flaky");
      });
      supervisor.add("flaky", () => Promise.reject(new Error("down")));
      await supervisor.start();
      await time.tickAsync(200);
      await assert.rejects(settled(time, supervisor.restart("flaky")), {
        message: "Cannot restart service 'flaky' as it was removed",
      });
      assert.ok(removed);
      await removed;
      assert.deepEqual(log, [
        "0 start flaky#1",
        "0 exit flaky#1 failed",
        "0 restart flaky#2 1000",
        "200 restart flaky#2 0",
      ]);
      assert.deepEqual(supervisor.status(), []);
      assert.equal(time.countTimers(), 0);
      await time.tickAsync(5000);
      assert.equal(log.length, 4);
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    }));

  it("cancels a restart its policy scheduled", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      let removed: Promise<void> | undefined;
      supervisor.addEventListener("restart", () => removed ??= supervisor.remove("flaky"));
      supervisor.add("flaky", () => Promise.reject(new Error("down")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.ok(removed);
      await removed;
      assert.deepEqual(log, ["0 start flaky#1", "0 exit flaky#1 failed", "0 restart flaky#2 1000"]);
      assert.deepEqual(supervisor.status(), []);
      assert.equal(time.countTimers(), 0);
      await time.tickAsync(5000);
      assert.equal(log.length, 3);
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    }));
});

describe("Supervisor.restart while the run is being launched (issue 9, defect 3)", () => {
  for (const moment of ["synchronously inside run()", "from a start listener"]) {
    const inRun = moment === "synchronously inside run()";
    it(`aborts the run and starts a new one when called ${moment}`, () =>
      withFakeTime(async (time) => {
        const supervisor = new Supervisor();
        const log = recordEvents(supervisor);
        const reasons: string[] = [];
        let restarting: Promise<void> | undefined;
        const restart = () => restarting ??= supervisor.restart("a");
        if (!inRun) {
          supervisor.addEventListener("start", (e) => {
            if (e.attempt === 1) restart();
          });
        }
        supervisor.add("a", (signal, { attempt }) => {
          if (inRun && attempt === 1) restart();
          noteAbort(reasons, `a#${attempt}`, signal);
          return untilAborted(signal);
        });
        await supervisor.start();
        assert.ok(restarting);
        await settled(time, restarting);
        assert.deepEqual(log, [
          "0 start a#1",
          "0 exit a#1 stopped",
          "0 restart a#2 0",
          "0 start a#2",
        ]);
        assert.deepEqual(reasons, ["a#1: Service 'a' is being restarted"]);
        assert.deepEqual(supervisor.status(), [
          { name: "a", state: "running", attempt: 2, restarts: 1, ready: false },
        ]);
        const [metrics] = supervisor.metrics();
        assert.deepEqual([metrics?.restarts, metrics?.failures, metrics?.up], [1, 0, true]);
        assert.deepEqual(await supervisor.stop(), { stopped: ["a"], timedOut: [] });
        assert.deepEqual(reasons.slice(1), ["a#2: Supervisor 'supervisor' is stopping"]);
        assert.equal(time.countTimers(), 0);
      }));
  }

  it("makes start() wait for the new run of a waitReady service restarted inside run()", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      let restarting: Promise<void> | undefined;
      supervisor.add("db", (signal, context) => {
        if (context.attempt === 1) restarting = supervisor.restart("db");
        return readyAfter(50)(signal, context);
      }, { waitReady: true });
      supervisor.add("http", untilAborted);
      let startedAt = -1;
      supervisor.start().then(() => startedAt = Date.now());
      while (startedAt < 0 && await time.nextAsync());
      assert.ok(restarting);
      await restarting;
      assert.equal(startedAt, 50);
      assert.deepEqual(log, [
        "0 start db#1",
        "0 exit db#1 stopped",
        "0 restart db#2 0",
        "0 start db#2",
        "50 ready db#2",
        "50 start http#1",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["db", "running", 2, 1],
        ["http", "running", 1, 0],
      ]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["http", "db"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor with user code that throws where a settled run is handled (issue 9, defect 4)", () => {
  it("treats a random option that throws as no jitter, and still restarts", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        random: () => {
          throw new Error("no entropy");
        },
      });
      const log = recordEvents(supervisor);
      supervisor.add("a", failsAtOnce("down"));
      await supervisor.start();
      await time.tickAsync(0);
      // The default jitter (0.2) drawn from a throwing random is no jitter: the full 1000 ms.
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 failed", "0 restart a#2 1000"]);
      const [status] = supervisor.status();
      assert.deepEqual([status?.state, status?.attempt, status?.restarts], ["backing_off", 1, 1]);
      assert.equal((status?.lastError as Error).message, "down");
      const [metrics] = supervisor.metrics();
      assert.deepEqual([metrics?.state, metrics?.up, metrics?.failures], ["backing_off", false, 1]);
      await time.tickAsync(1000);
      assert.deepEqual(log.slice(3), ["1000 start a#2"]);
      assert.deepEqual(
        supervisor.status().map((s) => [s.state, s.attempt, s.restarts]),
        [["running", 2, 1]],
      );
      assert.deepEqual(await supervisor.stop(), { stopped: ["a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("treats a random option that throws as no jitter in a group restart", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        random: () => {
          throw new Error("no entropy");
        },
      });
      const log = recordEvents(supervisor);
      supervisor.add("a", failsAtOnce("down"));
      supervisor.add("b", untilAborted);
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 exit a#1 failed",
        "0 exit b#1 stopped",
        "0 restart a#2 1000",
        "0 restart b#2 1000",
      ]);
      await time.tickAsync(1000);
      assert.deepEqual(log.slice(6), ["1000 start a#2", "1000 start b#2"]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["b", "a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("treats a run that rejects or throws a revoked Proxy as a failed run, and restarts it", () =>
    withFakeTime(async (time) => {
      const proxy = revokedProxy();
      // escalate: true makes the supervisor ask whether the error is an EscalateError too.
      const supervisor = new Supervisor({ escalate: true, backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      const errors: unknown[] = [];
      supervisor.addEventListener("exit", (e) => errors.push(e.error));
      supervisor.add(
        "rejects",
        (signal, { attempt }) => attempt === 1 ? Promise.reject(proxy) : untilAborted(signal),
      );
      supervisor.add("throws", (signal, { attempt }) => {
        if (attempt === 1) throw proxy;
        return untilAborted(signal);
      });
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start rejects#1",
        "0 start throws#1",
        "0 exit rejects#1 failed",
        "0 restart rejects#2 1000",
        "0 exit throws#1 failed",
        "0 restart throws#2 1000",
      ]);
      assert.equal(errors.length, 2);
      assert.ok(errors.every((error) => error === proxy));
      assert.equal(supervisor.state, "running");
      for (const status of supervisor.status()) {
        assert.deepEqual([status.state, status.attempt, status.restarts], ["backing_off", 1, 1]);
        assert.ok(status.lastError === proxy);
      }
      assert.deepEqual(
        supervisor.metrics().map((m) => [m.state, m.up, m.failures]),
        [["backing_off", false, 1], ["backing_off", false, 1]],
      );
      await time.tickAsync(1000);
      assert.deepEqual(log.slice(6), ["1000 start rejects#2", "1000 start throws#2"]);
      assert.deepEqual(
        supervisor.status().map((s) => [s.state, s.attempt]),
        [["running", 2], ["running", 2]],
      );
      assert.deepEqual(await supervisor.stop(), { stopped: ["throws", "rejects"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("gives up on a run that keeps rejecting with a revoked Proxy, with the Proxy as cause", () =>
    withFakeTime(async (time) => {
      const proxy = revokedProxy();
      const supervisor = new Supervisor({ maxRestarts: 0 });
      const log = recordEvents(supervisor);
      supervisor.add("a", () => Promise.reject(proxy));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 failed", "0 giveup a"]);
      const [status] = supervisor.status();
      assert.equal(status?.state, "failed");
      assert.ok(status?.lastError instanceof RestartLimitError);
      assert.ok(status.lastError.cause === proxy);
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("healthHandler, status(), metrics() and toPrometheus() with a lastError that cannot be turned into a string (issue 9, defect 5)", () => {
  const hostile: [string, () => unknown][] = [
    ["Object.create(null)", () => Object.create(null)],
    ["an object whose toString throws", () => ({
      toString() {
        throw new Error("hostile toString");
      },
    })],
    ["an Error whose name getter throws", () => {
      const error = new Error("bad name");
      Object.defineProperty(error, "name", {
        get() {
          throw new Error("hostile name");
        },
      });
      return error;
    }],
    ["a revoked Proxy", revokedProxy],
  ];
  for (const [what, make] of hostile) {
    it(`answers /healthz with a JSON 503 when a service failed with ${what}`, () =>
      withFakeTime(async (time) => {
        const value = make();
        const supervisor = new Supervisor();
        supervisor.add("a", () => Promise.reject(value), { restartPolicy: "never" });
        supervisor.add("b", untilAborted);
        await supervisor.start();
        await time.tickAsync(0);

        const [a, b] = supervisor.status();
        assert.deepEqual([a?.name, a?.state, a?.attempt, a?.restarts], ["a", "failed", 1, 0]);
        assert.ok(a?.lastError === value);
        assert.deepEqual(b, { name: "b", state: "running", attempt: 1, restarts: 0, ready: false });
        assert.deepEqual(
          supervisor.metrics().map((m) => [m.name, m.state, m.up, m.failures]),
          [["a", "failed", false, 1], ["b", "running", true, 0]],
        );
        assert.match(
          toPrometheus(supervisor),
          /^janus_supervisor_service_state\{service="a",state="failed"\} 1$/m,
        );

        const handle = healthHandler(supervisor);
        const health = handle(new Request("http://x/healthz"));
        assert.equal(health.status, 503);
        assert.equal(health.headers.get("content-type"), "application/json; charset=utf-8");
        const body = await health.json();
        assert.equal(typeof body.services[0]?.lastError, "string");
        assert.deepEqual(
          {
            ...body,
            services: [{ ...body.services[0], lastError: "(a string)" }, body.services[1]],
          },
          {
            status: "unhealthy",
            state: "running",
            services: [
              {
                name: "a",
                state: "failed",
                up: false,
                ready: false,
                restarts: 0,
                lastError: "(a string)",
              },
              { name: "b", state: "running", up: true, ready: false, restarts: 0 },
            ],
          },
        );
        const ready = handle(new Request("http://x/readyz"));
        assert.equal(ready.status, 200); // neither is a waitReady service
        assert.equal((await ready.json()).status, "ok");
        const metrics = handle(new Request("http://x/metrics"));
        assert.equal(metrics.status, 200);
        assert.match(await metrics.text(), /^janus_supervisor_failures_total\{service="a"\} 1$/m);

        assert.deepEqual(await supervisor.stop(), { stopped: ["b"], timedOut: [] });
        assert.equal(handle(new Request("http://x/healthz")).status, 503);
      }));
  }

  it("answers /healthz with a JSON 503 for a nested service that failed with Object.create(null)", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add("leaf", () => Promise.reject(Object.create(null)), { restartPolicy: "never" });
      const root = new Supervisor({ name: "root" });
      root.add(feeds);
      await root.start();
      await time.tickAsync(0);
      assert.deepEqual(root.metrics().map((m) => [m.name, m.state]), [
        ["feeds", "running"],
        ["feeds/leaf", "failed"],
      ]);
      const response = healthHandler(root)(new Request("http://x/healthz"));
      assert.equal(response.status, 503);
      const body = await response.json();
      assert.deepEqual(
        body.services.map((s: { name: string; lastError?: unknown }) => [
          s.name,
          typeof s.lastError,
        ]),
        [["feeds", "undefined"], ["feeds/leaf", "string"]],
      );
      assert.deepEqual(await root.stop(), { stopped: ["feeds"], timedOut: [] });
    }));
});

describe("Supervisor with a run whose result throws when inspected (issue 9, defect 6)", () => {
  /**
   * A real Promise whose `constructor` getter throws `hostile`: `Promise.resolve`
   * and `then` throw on it, so nothing can observe it afterwards. A rejected
   * one gets its handler first, from the test.
   */
  function hostilePromise(hostile: Error, rejection?: Error): Promise<void> {
    const promise: Promise<void> = rejection ? Promise.reject(rejection) : new Promise(() => {});
    promise.catch(() => {});
    Object.defineProperty(promise, "constructor", {
      get() {
        throw hostile;
      },
    });
    return promise;
  }

  const results: [string, (hostile: Error) => unknown][] = [
    [
      "a rejected Promise whose constructor getter throws",
      (hostile) => hostilePromise(hostile, new Error("the service's own error")),
    ],
    ["a pending Promise whose constructor getter throws", (hostile) => hostilePromise(hostile)],
    ["a thenable whose then getter throws", (hostile) => ({
      get then() {
        throw hostile;
      },
    })],
  ];
  for (const [what, make] of results) {
    it(`counts ${what} as a failed run, and start() and stop() settle`, () =>
      withFakeTime(async (time) => {
        const hostile = new Error("hostile");
        const supervisor = new Supervisor({ backoff: { jitter: 0 } });
        const log = recordEvents(supervisor);
        const errors: unknown[] = [];
        supervisor.addEventListener("exit", (e) => errors.push(e.error));
        supervisor.add(
          "a",
          (signal, { attempt }) =>
            attempt === 1 ? make(hostile) as Promise<void> : untilAborted(signal),
        );
        supervisor.add("b", untilAborted);
        await supervisor.start();
        assert.equal(supervisor.state, "running");
        await time.tickAsync(0);
        assert.deepEqual(log, [
          "0 start a#1",
          "0 start b#1",
          "0 exit a#1 failed",
          "0 restart a#2 1000",
        ]);
        assert.deepEqual(errors, [hostile]);
        const [status] = supervisor.status();
        assert.deepEqual([status?.state, status?.lastError], ["backing_off", hostile]);
        assert.deepEqual(supervisor.metrics()[0]?.up, false);
        await time.tickAsync(1000);
        assert.deepEqual(log.slice(4), ["1000 start a#2"]);
        assert.deepEqual(await stopNow(time, supervisor), { stopped: ["b", "a"], timedOut: [] });
        assert.equal(supervisor.state, "stopped");
        assert.equal(time.countTimers(), 0);
      }));
  }

  it("fails start() with the inspection's error when a waitReady service returns such a Promise", () =>
    withFakeTime(async (time) => {
      const hostile = new Error("hostile");
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("db", () => hostilePromise(hostile), { waitReady: true });
      supervisor.add("http", untilAborted);
      let error: Error | undefined;
      supervisor.start().catch((e) => error = e);
      await time.tickAsync(0);
      assert.equal(
        error?.message,
        "Cannot start supervisor 'supervisor' as service 'db' failed before it was ready",
      );
      assert.equal(error?.cause, hostile);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, { message: error!.message });
      assert.deepEqual(log, ["0 start db#1", "0 exit db#1 failed"]);
      assert.deepEqual(await stopNow(time, supervisor), { stopped: [], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor stopping a child supervisor whose run does not honour its signal (issue 9, defect 7)", () => {
  class Stubborn extends Supervisor {
    override run(): Promise<void> {
      return new Promise(() => {});
    }
  }

  it("abandons it after its stopTimeout (its shutdownTimeout) and reports it timedOut", () =>
    withFakeTime(async (time) => {
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add("http", untilAborted).add(new Stubborn({ name: "stubborn", shutdownTimeout: 2000 }));
      await root.start();
      await time.tickAsync(100);
      const report = await stopNow(time, root);
      assert.equal(time.now, 2100);
      assert.deepEqual(report, { stopped: ["http"], timedOut: ["stubborn"] });
      assert.deepEqual(log, [
        "0 start http#1",
        "0 start stubborn#1",
        "2100 stoptimeout stubborn",
        "2100 exit http#1 stopped",
      ]);
      assert.deepEqual(root.status().map((s) => [s.name, s.state]), [
        ["http", "stopped"],
        ["stubborn", "stopping"],
      ]);
      assert.equal(root.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("abandons it at the parent's shutdownTimeout when that comes first", () =>
    withFakeTime(async (time) => {
      const root = new Supervisor({ name: "root", shutdownTimeout: 500 });
      const log = recordEvents(root);
      root.add(new Stubborn({ name: "stubborn" })).add("http", untilAborted);
      await root.start();
      const report = await stopNow(time, root);
      assert.equal(time.now, 500);
      assert.deepEqual(report, { stopped: ["http"], timedOut: ["stubborn"] });
      assert.deepEqual(log, [
        "0 start stubborn#1",
        "0 start http#1",
        "0 exit http#1 stopped",
        "500 stoptimeout stubborn",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("reports a nested one by its path", () =>
    withFakeTime(async (time) => {
      const mid = new Supervisor({ name: "mid" });
      mid.add("worker", untilAborted).add(
        new Stubborn({ name: "stubborn", shutdownTimeout: 1000 }),
      );
      const root = new Supervisor({ name: "root" });
      root.add(mid);
      await root.start();
      const report = await stopNow(time, root);
      assert.equal(time.now, 1000);
      assert.deepEqual(report, { stopped: ["mid"], timedOut: ["mid/stubborn"] });
      assert.equal(mid.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("still stops one whose run is wrapped, and reports it stopped", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add(
        "leaf",
        (signal) => untilAborted(signal).then(() => new Promise((r) => setTimeout(r, 300))),
      );
      const original = feeds.run;
      const calls: number[] = [];
      feeds.run = (signal: AbortSignal, context?: RunContext) => {
        calls.push(Date.now());
        return original.call(feeds, signal, context);
      };
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add("http", untilAborted).add(feeds);
      await root.start();
      await time.tickAsync(100);
      const report = await stopNow(time, root);
      assert.deepEqual(report, { stopped: ["feeds", "http"], timedOut: [] });
      assert.equal(time.now, 400);
      assert.deepEqual(calls, [0]);
      assert.deepEqual(log, [
        "0 start http#1",
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "400 exit feeds/leaf#1 stopped",
        "400 exit feeds#1 stopped",
        "400 exit http#1 stopped",
      ]);
      assert.equal(feeds.state, "stopped");
      assert.deepEqual(root.status().map((s) => [s.name, s.state]), [
        ["http", "stopped"],
        ["feeds", "stopped"],
      ]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.start with an escalation while it waits for a waitReady service (issue 9, README)", () => {
  it("rejects with the EscalateError, and never starts the services after it", () =>
    withFakeTime(async (time) => {
      const escalation = new EscalateError("disk full");
      const supervisor = new Supervisor({ name: "sup", escalate: true });
      const log = recordEvents(supervisor);
      supervisor.add("a", rejectAfter(10, escalation));
      supervisor.add("db", readyAfter(100), { waitReady: true });
      supervisor.add("http", untilAborted);
      let outcome: unknown;
      supervisor.start().then(() => outcome = "resolved", (error) => outcome = error);
      while (outcome === undefined && await time.nextAsync());
      await time.runMicrotasks();
      assert.equal(time.now, 10);
      assert.equal(outcome, escalation);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, (error) => error === escalation);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start db#1",
        "10 exit a#1 failed",
        "10 exit db#1 stopped",
        "10 escalate a",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt]), [
        ["a", "failed", 1],
        ["db", "stopped", 1],
        ["http", "stopped", 0],
      ]);
      await time.tickAsync(10_000);
      assert.equal(log.length, 5);
      assert.deepEqual(await supervisor.stop(), { stopped: ["db"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("rejects with the RestartLimitError when a service gives up", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ name: "sup", escalate: true, maxRestarts: 0 });
      const log = recordEvents(supervisor);
      supervisor.add("a", rejectAfter(10, new Error("down")));
      supervisor.add("db", readyAfter(100), { waitReady: true });
      supervisor.add("http", untilAborted);
      let outcome: unknown;
      supervisor.start().then(() => outcome = "resolved", (error) => outcome = error);
      while (outcome === undefined && await time.nextAsync());
      await time.runMicrotasks();
      assert.ok(outcome instanceof RestartLimitError);
      assert.equal(outcome.message, "Service 'a' gave up after 0 restarts");
      assert.equal((outcome.cause as Error).message, "down");
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, (error) => error === outcome);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start db#1",
        "10 exit a#1 failed",
        "10 giveup a",
        "10 exit db#1 stopped",
        "10 escalate a",
      ]);
      assert.deepEqual(supervisor.status().map((s) => s.attempt), [1, 1, 0]);
      assert.equal(time.countTimers(), 0);
    }));

  it("makes a child supervisor that escalates before it is ready fail its parent's start()", () =>
    withFakeTime(async (time) => {
      const escalation = new EscalateError("disk full");
      const feeds = new Supervisor({ name: "feeds", escalate: true });
      feeds.add("a", rejectAfter(10, escalation));
      feeds.add("db", readyAfter(100), { waitReady: true });
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add(feeds, { waitReady: true }).add("http", untilAborted);
      let outcome: unknown;
      root.start().then(() => outcome = "resolved", (error) => outcome = error);
      while (outcome === undefined && await time.nextAsync());
      await time.runMicrotasks();
      assert.ok(outcome instanceof Error);
      assert.equal(
        outcome.message,
        "Cannot start supervisor 'root' as service 'feeds' failed before it was ready",
      );
      assert.equal(outcome.cause, escalation);
      assert.equal(root.state, "failed");
      assert.equal(feeds.state, "failed");
      await assert.rejects(root.done, (error) => error === outcome);
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/a#1",
        "0 start feeds/db#1",
        "10 exit feeds/a#1 failed",
        "10 exit feeds/db#1 stopped",
        "10 escalate feeds/a",
        "10 exit feeds#1 failed",
      ]);
      assert.deepEqual(root.status().map((s) => [s.name, s.state, s.attempt]), [
        ["feeds", "failed", 1],
        ["http", "stopped", 0],
      ]);
      await time.tickAsync(10_000);
      assert.equal(log.length, 7);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.restart from a listener of a service that will not restart (issue 9, README)", () => {
  /** Steps the crash loop one timer at a time: each revival waits on exactly one timer. */
  async function stepLoop(time: FakeTime, log: string[], perRun: (n: number) => string[]) {
    await time.runMicrotasks();
    assert.deepEqual(log, ["0 start a#1", ...perRun(1)]);
    for (let n = 2; n <= 4; n++) {
      assert.equal(time.countTimers(), 1, `one timer before run #${n}`);
      const before = log.length;
      time.tick(0);
      // The run begins inside the timer's callback, and nothing else ran.
      assert.deepEqual(log.slice(before), [`0 start a#${n}`]);
      await time.runMicrotasks();
      assert.deepEqual(log.slice(before + 1), perRun(n));
    }
  }

  it("waits on exactly one timer per revival from a giveup listener", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ maxRestarts: 0 });
      const log = recordEvents(supervisor);
      const revivals: Promise<void>[] = [];
      supervisor.addEventListener("giveup", () => {
        if (revivals.length < 3) revivals.push(supervisor.restart("a"));
      });
      supervisor.add("a", () => Promise.reject(new Error("down")));
      await supervisor.start();
      await stepLoop(time, log, (n) => [
        `0 exit a#${n} failed`,
        "0 giveup a",
        ...n < 4 ? [`0 restart a#${n + 1} 0`] : [],
      ]);
      await Promise.all(revivals);
      assert.equal(time.countTimers(), 0);
      const [status] = supervisor.status();
      assert.deepEqual([status?.state, status?.attempt, status?.restarts], ["failed", 4, 3]);
      assert.ok(status?.lastError instanceof RestartLimitError);
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    }));

  it("waits on exactly one timer per revival from an exit listener", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ restartPolicy: "never" });
      const log = recordEvents(supervisor);
      const revivals: Promise<void>[] = [];
      supervisor.addEventListener("exit", () => {
        if (revivals.length < 3) revivals.push(supervisor.restart("a"));
      });
      supervisor.add("a", () => Promise.reject(new Error("down")));
      await supervisor.start();
      await stepLoop(time, log, (n) => [
        `0 exit a#${n} failed`,
        ...n < 4 ? [`0 restart a#${n + 1} 0`] : [],
      ]);
      await Promise.all(revivals);
      assert.equal(time.countTimers(), 0);
      assert.deepEqual(
        supervisor.status().map((s) => [s.state, s.attempt, s.restarts]),
        [["failed", 4, 3]],
      );
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    }));
});

describe("Supervisor.start on a supervisor that has a parent (issue 9, README)", () => {
  const refusal = "Cannot start supervisor 'feeds' as it is a child of supervisor 'root', " +
    "which starts and stops it";

  it("rejects before the parent starts, from the parent's start listener, and while it runs", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add("leaf", untilAborted);
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      let fromListener: Promise<void> | undefined;
      root.addEventListener("start", (e) => {
        if (e.service === "feeds") fromListener = feeds.start();
      });
      root.add(feeds);
      await assert.rejects(feeds.start(), { message: refusal });
      assert.equal(feeds.state, "idle");
      await root.start();
      assert.ok(fromListener);
      await assert.rejects(fromListener, { message: refusal });
      await assert.rejects(feeds.start(), { message: refusal });
      await time.tickAsync(100);
      assert.equal(feeds.state, "running");
      assert.deepEqual(root.status(), [
        {
          name: "feeds",
          state: "running",
          attempt: 1,
          restarts: 0,
          ready: true,
          children: [{ name: "leaf", state: "running", attempt: 1, restarts: 0, ready: false }],
        },
      ]);
      assert.deepEqual(await root.stop(), { stopped: ["feeds"], timedOut: [] });
      assert.equal(feeds.state, "stopped");
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "100 exit feeds/leaf#1 stopped",
        "100 exit feeds#1 stopped",
      ]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor with listeners that throw (issue 9)", () => {
  /**
   * A supervisor whose `dispatchEvent` throws after the listeners ran, as an
   * `EventTarget` that passes a listener's error on would. Deno, Node and Bun
   * report an error thrown by a real listener as an uncaught exception; a
   * program can survive it (Deno: `preventDefault()` on the global `error`
   * event; Node, Bun: `process.on("uncaughtException")`), but `node:test` and
   * `bun test` fail the test that raised one all the same, so these tests
   * throw from `dispatchEvent` instead, where every runtime lets the test see
   * what the supervisor does next.
   */
  class Throwing extends Supervisor {
    override dispatchEvent(event: Event): boolean {
      super.dispatchEvent(event);
      throw new Error(`listener of ${event.type} failed`);
    }
  }

  it("keep supervision consistent when dispatchEvent throws, with calls made from listeners", () =>
    withFakeTime(async (time) => {
      // A waitReady start, remove() from a ready listener, a failure and its
      // restart, restart() of a sibling from an exit listener, and a stop
      // with a run that hangs.
      const supervisor = new Throwing({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      const calls: Promise<void>[] = [];
      supervisor.addEventListener("exit", (e) => {
        if (e.service === "a" && e.outcome === "failed") calls.push(supervisor.restart("b"));
      });
      supervisor.addEventListener("ready", () => calls.push(supervisor.remove("temp")));
      supervisor.add("db", readyAfter(10), { waitReady: true });
      supervisor.add("temp", untilAborted);
      supervisor.add("a", failsFirst(20, "down"));
      supervisor.add("b", untilAborted);
      supervisor.add("stuck", forever, { stopTimeout: 100 });
      const starting = supervisor.start();
      await time.tickAsync(10);
      await starting;
      await time.tickAsync(20); // a fails at 30
      await time.tickAsync(0); // b's restart, on its 0 ms timer
      await time.tickAsync(1000); // a's restart
      await Promise.all(calls);
      assert.deepEqual(supervisor.status().map((s) => `${s.name}:${s.state}#${s.attempt}`), [
        "db:running#1",
        "a:running#2",
        "b:running#2",
        "stuck:running#1",
      ]);
      const report = await stopNow(time, supervisor);
      assert.deepEqual(report, { stopped: ["b", "a", "db"], timedOut: ["stuck"] });
      assert.deepEqual(log, [
        "0 start db#1",
        "10 ready db#1",
        "10 start a#1",
        "10 start b#1",
        "10 start stuck#1",
        "30 exit a#1 failed",
        "30 restart a#2 1000",
        "30 exit b#1 stopped",
        "30 restart b#2 0",
        "30 start b#2",
        "1030 start a#2",
        "1130 stoptimeout stuck",
        "1130 exit b#2 stopped",
        "1130 exit a#2 stopped",
        "1130 exit db#1 stopped",
      ]);
      assert.deepEqual(
        supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]),
        [
          ["db", "stopped", 1, 0],
          ["a", "stopped", 2, 1],
          ["b", "stopped", 2, 1],
          ["stuck", "stopping", 1, 0],
        ],
      );
      assert.equal(supervisor.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("keep supervision consistent when dispatchEvent throws during an escalation", () =>
    withFakeTime(async (time) => {
      const supervisor = new Throwing({ name: "top", escalate: true });
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted);
      supervisor.add("b", rejectAfter(10, new EscalateError("disk full")));
      let outcome: unknown;
      supervisor.done.catch((error) => outcome = error);
      await supervisor.start();
      await time.tickAsync(10);
      await time.tickAsync(0);
      assert.ok(outcome instanceof EscalateError);
      assert.equal(supervisor.state, "failed");
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "10 exit b#1 failed",
        "10 exit a#1 stopped",
        "10 escalate b",
      ]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("keep a parent consistent when its child supervisor's dispatchEvent throws", () =>
    withFakeTime(async (time) => {
      const feeds = new Throwing({ name: "feeds", backoff: { jitter: 0 } });
      feeds.add("leaf", failsFirst(10));
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add(feeds);
      await root.start();
      await time.tickAsync(10);
      await time.tickAsync(1000);
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "10 exit feeds/leaf#1 failed",
        "10 restart feeds/leaf#2 1000",
        "1010 start feeds/leaf#2",
      ]);
      assert.deepEqual(await root.stop(), { stopped: ["feeds"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

// ─── What a hostile review (D1–D14) and the model test (M1–M3) found ──────
//
// Each test replays one defect of the new core and fails on the core before
// it was fixed; time is moved on by bounded steps, so a promise that would
// never settle fails the test instead of hanging it.

/**
 * Moves time on, one timer at a time, until `promise` settles or `ms` more
 * milliseconds have passed, and returns what it settled with, or `"pending"`.
 */
async function within<T>(time: FakeTime, promise: Promise<T>, ms: number): Promise<T | "pending"> {
  const limit = time.now + ms;
  let done = false;
  promise.then(() => done = true, () => done = true);
  await time.runMicrotasks();
  while (!done && time.now < limit && await time.nextAsync());
  await time.runMicrotasks();
  return done ? await promise : "pending";
}

/** What `promise` settled with by now: `resolved`, `rejected: <message>`, or `pending`. */
async function outcome(time: FakeTime, promise: Promise<unknown>): Promise<string> {
  let result = "pending";
  promise.then(
    () => result = "resolved",
    (error) => result = `rejected: ${error instanceof Error ? error.message : String(error)}`,
  );
  await time.runMicrotasks();
  return result;
}

describe("Supervisor.stop called again from an abort listener of the run it aborts (hostile review, D1)", () => {
  it("returns the same promise, and the first stop() settles with the report", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      const again: Promise<StopReport>[] = [];
      supervisor.add("b", untilAborted);
      // The last one added: stop() aborts its run first, while it is handled.
      supervisor.add("a", (signal) => {
        signal.addEventListener("abort", () => again.push(supervisor.stop()), { once: true });
        return untilAborted(signal);
      });
      await supervisor.start();
      await time.tickAsync(100);
      const stopping = supervisor.stop();
      assert.deepEqual(await within(time, stopping, 0), { stopped: ["a", "b"], timedOut: [] });
      assert.equal(again.length, 1);
      assert.equal(again[0], stopping);
      assert.equal(supervisor.state, "stopped");
      await supervisor.done;
      assert.deepEqual(log, [
        "0 start b#1",
        "0 start a#1",
        "100 exit a#1 stopped",
        "100 exit b#1 stopped",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt]), [
        ["b", "stopped", 1],
        ["a", "stopped", 1],
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("settles when a run of a child supervisor calls its root's stop() as it is aborted", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      feeds.add("leaf", (signal) => {
        signal.addEventListener("abort", () => void root.stop(), { once: true });
        return untilAborted(signal);
      });
      root.add(feeds);
      await root.start();
      assert.deepEqual(await within(time, root.stop(), 0), { stopped: ["feeds"], timedOut: [] });
      assert.equal(root.state, "stopped");
      assert.equal(feeds.state, "stopped");
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "0 exit feeds/leaf#1 stopped",
        "0 exit feeds#1 stopped",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("lets Symbol.asyncDispose settle when the run calls stop() as it is aborted", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("a", (signal) => {
        signal.addEventListener("abort", () => void supervisor.stop(), { once: true });
        return untilAborted(signal);
      });
      await supervisor.start();
      assert.equal(await outcome(time, supervisor[Symbol.asyncDispose]()), "resolved");
      assert.equal(supervisor.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor with a service object that carries the shared link key but is no supervisor (hostile review, D2)", () => {
  /**
   * A service object under the key every copy of the module shares, whose
   * link answers as a child supervisor's would, except `runsOn`: it says a
   * shutdown is always under way, or throws. `stopTimeout` comes from its
   * `shutdownTimeout`, 100 ms.
   */
  function impostor(name: string, runsOn: () => boolean): Service {
    const link = {
      name,
      shutdownTimeout: 100,
      parent: undefined,
      used: false,
      hurry() {},
      runsOn,
      timedOut: () => [],
      wants: () => false,
      emit() {},
    };
    return { name, run: forever, [Symbol.for("@janus/supervisor.link")]: () => link } as Service;
  }

  it("bounds stop() when its link always says its shutdown is still under way", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ shutdownTimeout: 1000 });
      const log = recordEvents(supervisor);
      supervisor.add(impostor("x", () => true)).add("y", untilAborted);
      await supervisor.start();
      // 100 ms of stopTimeout, then at most 64 ticks of grace for a child supervisor.
      const report = await within(time, supervisor.stop(), 1000);
      assert.deepEqual(report, { stopped: ["y"], timedOut: ["x"] });
      assert.equal(time.now, 164);
      assert.deepEqual(log, [
        "0 start x#1",
        "0 start y#1",
        "0 exit y#1 stopped",
        "164 stoptimeout x",
      ]);
      assert.equal(supervisor.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("abandons it at its stopTimeout when its link throws", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ shutdownTimeout: 1000 });
      const log = recordEvents(supervisor);
      supervisor.add(impostor("x", () => {
        throw new Error("not a supervisor");
      })).add("y", untilAborted);
      await supervisor.start();
      const report = await within(time, supervisor.stop(), 1000);
      assert.deepEqual(report, { stopped: ["y"], timedOut: ["x"] });
      assert.equal(time.now, 100);
      assert.deepEqual(log, [
        "0 start x#1",
        "0 start y#1",
        "0 exit y#1 stopped",
        "100 stoptimeout x",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("answers status(), metrics() and healthHandler() as for a supervisor with no children", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor();
      supervisor.add(impostor("x", () => true)).add("y", untilAborted);
      await supervisor.start();
      assert.deepEqual(supervisor.status(), [
        { name: "x", state: "running", attempt: 1, restarts: 0, ready: false, children: [] },
        { name: "y", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      assert.deepEqual(supervisor.metrics().map((m) => [m.name, m.state, m.up]), [
        ["x", "running", true],
        ["y", "running", true],
      ]);
      const health = healthHandler(supervisor)(new Request("http://localhost/healthz"));
      assert.equal(health.status, 200);
      const body = await health.json();
      assert.deepEqual(body.services.map((s: { name: string }) => s.name), ["x", "y"]);
      assert.match(toPrometheus(supervisor), /^janus_supervisor_service_up\{service="x"\} 1$/m);
    }));
});

describe("Supervisor with a run whose promise's species throws when then() asks for it (hostile review, D3)", () => {
  /**
   * A pending promise whose `constructor` is `Promise` on its first read
   * (so `Promise.resolve` returns it as it is) and, on the next, an object
   * whose `Symbol.species` throws (so `then` throws before it watches it).
   */
  function speciesBomb(): Promise<void> {
    const promise = new Promise<void>(() => {});
    let reads = 0;
    Object.defineProperty(promise, "constructor", {
      get: () =>
        ++reads === 1 ? Promise : {
          [Symbol.species]: function () {
            throw new Error("bomb");
          },
        },
    });
    return promise;
  }

  it("treats the run as failed, restarts it, and start() goes on to the next service", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("a", speciesBomb).add("b", untilAborted);
      let starting: Promise<void> | undefined;
      assert.doesNotThrow(() => starting = supervisor.start());
      assert.ok(starting);
      assert.equal(await outcome(time, starting), "resolved");
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 exit a#1 failed",
        "0 restart a#2 1000",
      ]);
      const [a, b] = supervisor.status();
      assert.deepEqual([a?.state, a?.attempt, a?.restarts], ["backing_off", 1, 1]);
      assert.equal((a?.lastError as Error).message, "bomb");
      assert.deepEqual([b?.state, b?.attempt], ["running", 1]);
      assert.deepEqual(await stopNow(time, supervisor), { stopped: ["b", "a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("treats a restarted run the same, without the error escaping the restart timer", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add(
        "a",
        (_signal, { attempt }) => attempt === 1 ? Promise.reject(new Error("down")) : speciesBomb(),
      );
      await supervisor.start();
      await time.tickAsync(0);
      await time.tickAsync(1000); // the restart timer: run #2 begins in its callback
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 exit a#1 failed",
        "0 restart a#2 1000",
        "1000 start a#2",
        "1000 exit a#2 failed",
        "1000 restart a#3 2000",
      ]);
      const [a] = supervisor.status();
      assert.deepEqual([a?.state, a?.attempt, a?.restarts], ["backing_off", 2, 2]);
      assert.equal((a?.lastError as Error).message, "bomb");
      assert.equal(time.countTimers(), 1);
      assert.deepEqual(await stopNow(time, supervisor), { stopped: ["a"], timedOut: [] });
      assert.equal(time.now, 1000);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor group restarts announce the restart after the exit that caused it (hostile review, D4)", () => {
  it("fires exit, then restart, when the failed child is the last of a rest_for_one group", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "rest_for_one",
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted).add("b", failsAtOnce("down"));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 exit b#1 failed",
        "0 restart b#2 100",
      ]);
      await time.tickAsync(100);
      assert.deepEqual(log.slice(4), ["100 start b#2"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["a", "running", 1, 0],
        ["b", "running", 2, 1],
      ]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["b", "a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("fires exit, then restart, when no sibling of a one_for_all group is still running", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      supervisor.add("a", () => Promise.resolve(), { restartPolicy: "never" });
      supervisor.add("b", failsAtOnce("down"));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 exit a#1 completed",
        "0 exit b#1 failed",
        "0 restart b#2 100",
      ]);
      await time.tickAsync(100);
      assert.deepEqual(log.slice(5), ["100 start b#2"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["a", "completed", 1, 0],
        ["b", "running", 2, 1],
      ]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["b"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor with escalate: true fires escalate after the exit and giveup causing it (hostile review, D5)", () => {
  it("fires exit, giveup, then escalate when its only service gives up", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ escalate: true, maxRestarts: 0 });
      const log = recordEvents(supervisor);
      supervisor.add("a", () => Promise.reject(new Error("down")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 failed", "0 giveup a", "0 escalate a"]);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, {
        name: "RestartLimitError",
        message: "Service 'a' gave up after 0 restarts",
      });
      assert.deepEqual(supervisor.status().map((s) => [s.state, s.attempt, s.restarts]), [
        ["failed", 1, 0],
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("fires exit, then escalate when its only service throws an EscalateError", () =>
    withFakeTime(async (time) => {
      const escalation = new EscalateError("disk full");
      const supervisor = new Supervisor({ escalate: true });
      const log = recordEvents(supervisor);
      supervisor.add("a", () => Promise.reject(escalation));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 failed", "0 escalate a"]);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, (error) => error === escalation);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.run called by hand on a supervisor that has a parent (hostile review, D6)", () => {
  const refusal =
    "Cannot run supervisor 'feeds' as it is a child of supervisor 'root', which runs it";

  it("rejects before the parent starts and after it stopped, and the parent runs it as usual", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add("leaf", untilAborted);
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add(feeds);
      const controller = new AbortController();
      assert.equal(await outcome(time, feeds.run(controller.signal)), `rejected: ${refusal}`);
      assert.equal(feeds.state, "idle");
      await root.start();
      await time.tickAsync(100);
      assert.deepEqual(root.status(), [
        {
          name: "feeds",
          state: "running",
          attempt: 1,
          restarts: 0,
          ready: true,
          children: [{ name: "leaf", state: "running", attempt: 1, restarts: 0, ready: false }],
        },
      ]);
      assert.deepEqual(await root.stop(), { stopped: ["feeds"], timedOut: [] });
      assert.equal(feeds.state, "stopped");
      assert.equal(await outcome(time, feeds.run(controller.signal)), `rejected: ${refusal}`);
      assert.equal(feeds.state, "stopped");
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "100 exit feeds/leaf#1 stopped",
        "100 exit feeds#1 stopped",
      ]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor calls on a child supervisor from its parent's listener (hostile review, D7)", () => {
  it("defers child.restart() from the parent's start listener, which resolves as a moment later", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add("leaf", untilAborted);
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      let restarting: Promise<void> | undefined;
      root.addEventListener("start", (e) => {
        if (e.service === "feeds") restarting = feeds.restart("leaf");
      });
      root.add(feeds);
      await root.start();
      assert.ok(restarting);
      assert.equal(await settled(time, restarting), undefined);
      assert.equal(time.now, 0);
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 ready feeds#1",
        "0 exit feeds/leaf#1 stopped",
        "0 restart feeds/leaf#2 0",
        "0 start feeds/leaf#2",
      ]);
      assert.deepEqual(feeds.status(), [
        { name: "leaf", state: "running", attempt: 2, restarts: 1, ready: false },
      ]);
      assert.deepEqual(await root.stop(), { stopped: ["feeds"], timedOut: [] });
      assert.deepEqual(log.slice(6), ["0 exit feeds/leaf#2 stopped", "0 exit feeds#1 stopped"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("defers child.stop() from the parent's start listener: the child starts, then stops", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      feeds.add("leaf", untilAborted);
      const root = new Supervisor({ name: "root", backoff: { jitter: 0 } });
      const log = recordEvents(root);
      let stopping: Promise<StopReport> | undefined;
      root.addEventListener("start", (e) => {
        if (e.service === "feeds") stopping = feeds.stop();
      });
      root.add(feeds).add("http", untilAborted);
      await root.start();
      assert.ok(stopping);
      assert.deepEqual(await within(time, stopping, 0), { stopped: ["leaf"], timedOut: [] });
      assert.equal(feeds.state, "stopped");
      // Its run ended without its parent asking: completed, and not restarted.
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/leaf#1",
        "0 start http#1",
        "0 exit feeds/leaf#1 stopped",
        "0 exit feeds#1 completed",
      ]);
      assert.deepEqual(root.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["feeds", "completed", 1, 0],
        ["http", "running", 1, 0],
      ]);
      assert.equal(time.countTimers(), 0);
      assert.deepEqual(await root.stop(), { stopped: ["http"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("A child supervisor stopped by its own stop() (hostile review, stop 16)", () => {
  // Stopped for good, it cannot run again: a run its parent makes fails with
  // a DoNotRestartError, once, so neither restart(name), nor a policy, nor a
  // group restart crash-loops it into a giveup (and, with escalate, the tree).
  const cases = {
    "restart(name)": {
      strategy: "one_for_one",
      restartPolicy: "on_failure",
      feeds: [
        "0 exit feeds#1 completed",
        "0 restart feeds#2 0",
        "0 start feeds#2",
        "0 exit feeds#2 failed",
      ],
    },
    "its policy always": {
      strategy: "one_for_one",
      restartPolicy: "always",
      feeds: [
        "0 exit feeds#1 completed",
        "0 restart feeds#2 5",
        "5 start feeds#2",
        "5 exit feeds#2 failed",
      ],
    },
    "a one_for_all group restart": {
      strategy: "one_for_all",
      restartPolicy: "always",
      feeds: [
        "0 exit feeds#1 completed",
        "0 restart feeds#2 5",
        "5 start feeds#2",
        "5 exit feeds#2 failed",
      ],
    },
  } as const;
  for (const [how, { strategy, restartPolicy, feeds: expected }] of Object.entries(cases)) {
    it(`is not restarted by ${how}: its next run fails for good, once`, () =>
      withFakeTime(async (time) => {
        const feeds = new Supervisor({ name: "feeds" }).add("leaf", untilAborted);
        const root = new Supervisor({
          name: "root",
          strategy,
          restartPolicy,
          backoff: { initialDelay: 5, jitter: 0 },
          maxRestarts: 3,
          escalate: true,
        });
        const log = recordEvents(root);
        const errors: unknown[] = [];
        root.addEventListener("exit", (e) => {
          if (e.service === "feeds" && e.error !== undefined) errors.push(e.error);
        });
        root.add(feeds).add("http", untilAborted);
        await root.start();
        assert.deepEqual(await within(time, feeds.stop(), 0), { stopped: ["leaf"], timedOut: [] });
        const restarted = how === "restart(name)" ? root.restart("feeds") : undefined;
        while (await time.nextAsync());
        if (restarted) assert.equal(await restarted, undefined);
        assert.deepEqual(log.filter((line) => / feeds#/.test(line)), [
          "0 start feeds#1",
          "0 ready feeds#1",
          ...expected,
        ]);
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof DoNotRestartError);
        assert.equal(
          (errors[0] as Error).message,
          "Cannot run supervisor 'feeds' as it is stopped for good",
        );
        // A group restart restarted http with feeds; otherwise http runs on.
        const group = strategy === "one_for_all";
        const status = root.status().map((s) => [s.name, s.state, s.attempt, s.restarts]);
        assert.deepEqual(status, [
          ["feeds", "failed", 2, 1],
          ["http", "running", group ? 2 : 1, group ? 1 : 0],
        ]);
        assert.equal(root.state, "running");
        assert.equal(log.some((line) => / (giveup|escalate) /.test(line)), false);
        assert.deepEqual(await within(time, root.stop(), 0), { stopped: ["http"], timedOut: [] });
        assert.equal(time.countTimers(), 0);
      }));
  }
});

describe("Supervisor.stop with a child supervisor that is waiting to restart (hostile review, D8)", () => {
  it("reports none of the paths an earlier shutdown of the child abandoned", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds", escalate: true });
      let settleSlow!: () => void;
      feeds.add("slow", () => new Promise<void>((resolve) => settleSlow = resolve), {
        stopTimeout: 100,
      });
      feeds.add("bad", rejectAfter(10, new EscalateError("boom")));
      const root = new Supervisor({ name: "root", backoff: { initialDelay: 1000, jitter: 0 } });
      const log = recordEvents(root);
      root.add(feeds).add("http", untilAborted);
      await root.start();
      // feeds escalates at 10, abandons slow at 110, and waits 1000 ms to be restarted.
      await time.advanceTo(500);
      settleSlow(); // slow's abandoned run settles before the stop
      await time.tickAsync(0);
      const report = await within(time, root.stop(), 1000);
      assert.deepEqual(report, { stopped: ["http", "feeds"], timedOut: [] });
      assert.equal(time.now, 500);
      assert.deepEqual(log, [
        "0 start feeds#1",
        "0 start feeds/slow#1",
        "0 start feeds/bad#1",
        "0 ready feeds#1",
        "0 start http#1",
        "10 exit feeds/bad#1 failed",
        "110 stoptimeout feeds/slow",
        "110 escalate feeds/bad",
        "110 exit feeds#1 failed",
        "110 restart feeds#2 1000",
        "500 exit feeds/slow#1 stopped",
        "500 exit http#1 stopped",
      ]);
      assert.deepEqual(root.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["feeds", "stopped", 1, 1],
        ["http", "stopped", 1, 0],
      ]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.stop while a remove() of the same service is pending (hostile review, D9)", () => {
  it("abandons the service at its own stopTimeout, counted from remove()", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("stuck", forever, { stopTimeout: 5000 }).add("b", untilAborted);
      await supervisor.start();
      let removedAt = -1;
      supervisor.remove("stuck").then(() => removedAt = time.now);
      await time.tickAsync(4000);
      let stoppedAt = -1;
      const stopping = supervisor.stop();
      stopping.then(() => stoppedAt = time.now);
      const report = await within(time, stopping, 10_000);
      assert.deepEqual(report, { stopped: ["b"], timedOut: ["stuck"] });
      assert.deepEqual([removedAt, stoppedAt], [5000, 5000]);
      assert.deepEqual(log, [
        "0 start stuck#1",
        "0 start b#1",
        "4000 exit b#1 stopped",
        "5000 stoptimeout stuck",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state]), [["b", "stopped"]]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor options whose getters answer differently when read again (hostile review, D10)", () => {
  it("keeps the stopTimeout of add()'s options as it was checked", () =>
    withFakeTime(async (time) => {
      let reads = 0;
      const options: ServiceOptions = {
        get stopTimeout() {
          return reads++ === 0 ? 100 : NaN;
        },
      };
      const supervisor = new Supervisor({ shutdownTimeout: 1000 });
      const log = recordEvents(supervisor);
      supervisor.add("stuck", forever, options);
      await supervisor.start();
      const report = await within(time, supervisor.stop(), 5000);
      assert.deepEqual(report, { stopped: [], timedOut: ["stuck"] });
      assert.equal(time.now, 100);
      assert.deepEqual(log, ["0 start stuck#1", "100 stoptimeout stuck"]);
      assert.equal(reads, 1);
      assert.equal(time.countTimers(), 0);
    }));

  it("keeps the supervisor's shutdownTimeout as it was checked", () =>
    withFakeTime(async (time) => {
      let reads = 0;
      const supervisor = new Supervisor({
        get shutdownTimeout() {
          return reads++ === 0 ? 1000 : NaN;
        },
      });
      const log = recordEvents(supervisor);
      supervisor.add("stuck", forever, { stopTimeout: Infinity });
      await supervisor.start();
      const report = await within(time, supervisor.stop(), 5000);
      assert.deepEqual(report, { stopped: [], timedOut: ["stuck"] });
      assert.equal(time.now, 1000);
      assert.deepEqual(log, ["0 start stuck#1", "1000 stoptimeout stuck"]);
      assert.equal(reads, 1);
      assert.equal(time.countTimers(), 0);
    }));

  it("keeps the waitReady of add()'s options as it was checked", () =>
    withFakeTime(async (time) => {
      let reads = 0;
      const options: ServiceOptions = {
        get waitReady() {
          return reads++ === 0 ? 50 : NaN;
        },
      };
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("db", untilAborted, options).add("http", untilAborted);
      let started = "pending";
      supervisor.start().then(
        () => started = `resolved at ${time.now}`,
        (error) => started = `rejected at ${time.now}: ${error.message}`,
      );
      await time.advanceTo(100);
      assert.equal(
        started,
        "rejected at 50: Cannot start supervisor 'supervisor' as service 'db' was not ready within 50 ms",
      );
      assert.deepEqual(log, ["0 start db#1", "50 exit db#1 stopped"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt]), [
        ["db", "stopped", 1],
        ["http", "stopped", 0],
      ]);
      assert.equal(reads, 1);
      assert.equal(time.countTimers(), 0);
    }));

  for (const [first, later] of [["always", "never"], ["never", "always"]] as const) {
    it(`keeps a service's own restartPolicy ${first} as it was checked when it later says ${later}`, () =>
      withFakeTime(async (time) => {
        let reads = 0;
        const service: Service = {
          name: "a",
          get restartPolicy(): RestartPolicy {
            return reads++ === 0 ? first : later;
          },
          run: () => Promise.reject(new Error("down")),
        };
        const supervisor = new Supervisor({ backoff: { jitter: 0 } });
        const log = recordEvents(supervisor);
        supervisor.add(service);
        await supervisor.start();
        await time.tickAsync(0);
        assert.deepEqual(log, [
          "0 start a#1",
          "0 exit a#1 failed",
          ...first === "always" ? ["0 restart a#2 1000"] : [],
        ]);
        assert.deepEqual(
          supervisor.status().map((s) => [s.state, s.attempt, s.restarts]),
          [first === "always" ? ["backing_off", 1, 1] : ["failed", 1, 0]],
        );
        assert.equal(reads, 1);
        await supervisor.stop();
        assert.equal(time.countTimers(), 0);
      }));
  }
});

describe("Supervisor group restarts that merge (hostile review, D11)", () => {
  it("announces each member once, with the delay of the group that starts it", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "rest_for_one", backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      const failAt = (ms: number) => (signal: AbortSignal, { attempt }: RunContext) =>
        attempt === 1 ? failAfter(ms, signal) : untilAborted(signal);
      supervisor.add("a", failAt(10), { backoff: { initialDelay: 500 } });
      supervisor.add("b", failAt(5), { backoff: { initialDelay: 100 } });
      // Takes 20 ms to stop.
      supervisor.add("c", (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => setTimeout(resolve, 20), { once: true });
        }));
      await supervisor.start();
      // b fails at 5 (group b, c: c stops by 25); a fails at 10 (group a, b, c takes b and c over).
      await time.advanceTo(30);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 start c#1",
        "5 exit b#1 failed",
        "10 exit a#1 failed",
        "25 exit c#1 stopped",
        "25 restart a#2 500",
        "25 restart b#2 500",
        "25 restart c#2 500",
      ]);
      assert.equal(time.countTimers(), 1); // the members start on one timer
      await time.advanceTo(600);
      assert.deepEqual(log.slice(9), ["525 start a#2", "525 start b#2", "525 start c#2"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
        ["a", "running", 2, 1],
        ["b", "running", 2, 1],
        ["c", "running", 2, 1],
      ]);
      assert.deepEqual(await stopNow(time, supervisor), { stopped: ["c", "b", "a"], timedOut: [] });
      assert.equal(time.now, 620);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.add from a listener, after calls queued ahead of it (hostile review, D12)", () => {
  it("accepts the name of a backing-off service a queued remove() is about to forget", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("a", () => Promise.reject(new Error("down")));
      let removed: Promise<void> | undefined;
      let added = "";
      supervisor.addEventListener("restart", () => {
        removed = supervisor.remove("a");
        try {
          supervisor.add("a", untilAborted);
          added = "accepted";
        } catch (error) {
          added = (error as Error).message;
        }
      }, { once: true });
      await supervisor.start();
      await time.tickAsync(0);
      assert.equal(added, "accepted");
      assert.ok(removed);
      assert.equal(await outcome(time, removed), "resolved");
      // The old service is forgotten and its restart cancelled; the new one runs.
      assert.deepEqual(log, [
        "0 start a#1",
        "0 exit a#1 failed",
        "0 restart a#2 1000",
        "0 start a#1",
      ]);
      assert.deepEqual(supervisor.status(), [
        { name: "a", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      assert.equal(time.countTimers(), 0);
      await time.tickAsync(5000);
      assert.equal(log.length, 4);
      assert.deepEqual(await supervisor.stop(), { stopped: ["a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("refuses add() after stop() called from the same listener", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted);
      let stopping: Promise<StopReport> | undefined;
      let added = "";
      supervisor.addEventListener("start", () => {
        stopping = supervisor.stop();
        try {
          supervisor.add("late", untilAborted);
          added = "accepted";
        } catch (error) {
          added = (error as Error).message;
        }
      }, { once: true });
      await supervisor.start();
      assert.equal(added, `Cannot add service "late" as the supervisor is stopped`);
      assert.ok(stopping);
      assert.deepEqual(await within(time, stopping, 0), { stopped: ["a"], timedOut: [] });
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 stopped"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state]), [["a", "stopped"]]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor with a child supervisor whose listener plants a throwing getter on an event (hostile review, D13)", () => {
  it("launches the child's services all the same, and the parent's start goes on", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds" });
      const runs: string[] = [];
      const counted = (name: string) => (signal: AbortSignal) => {
        runs.push(name);
        return untilAborted(signal);
      };
      feeds.add("leaf", counted("leaf")).add("leaf2", counted("leaf2"));
      feeds.addEventListener("start", (e) => {
        Object.defineProperty(e, "attempt", {
          get() {
            throw new Error("gotcha");
          },
        });
      });
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      root.add(feeds).add("http", untilAborted);
      await root.start();
      assert.deepEqual(runs, ["leaf", "leaf2"]);
      assert.equal(feeds.state, "running");
      // The start events the listener broke are not forwarded; nothing else changes.
      assert.deepEqual(log, ["0 start feeds#1", "0 ready feeds#1", "0 start http#1"]);
      assert.deepEqual(root.status(), [
        {
          name: "feeds",
          state: "running",
          attempt: 1,
          restarts: 0,
          ready: true,
          children: [
            { name: "leaf", state: "running", attempt: 1, restarts: 0, ready: false },
            { name: "leaf2", state: "running", attempt: 1, restarts: 0, ready: false },
          ],
        },
        { name: "http", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      await time.tickAsync(10);
      assert.deepEqual(await root.stop(), { stopped: ["http", "feeds"], timedOut: [] });
      assert.deepEqual(log.slice(3), [
        "10 exit http#1 stopped",
        "10 exit feeds/leaf2#1 stopped",
        "10 exit feeds/leaf#1 stopped",
        "10 exit feeds#1 stopped",
      ]);
      assert.deepEqual(runs, ["leaf", "leaf2"]);
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.restart during start() of a service that has not run yet (hostile review, D14)", () => {
  it("starts it once, announces no restart and counts none", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted).add("b", untilAborted);
      let restarting: Promise<void> | undefined;
      supervisor.addEventListener("start", (e) => {
        if (e.service === "a") restarting = supervisor.restart("b");
      }, { once: true });
      await supervisor.start();
      assert.ok(restarting);
      assert.equal(await settled(time, restarting), undefined);
      assert.equal(time.now, 0);
      assert.deepEqual(log, ["0 start a#1", "0 start b#1"]);
      assert.deepEqual(supervisor.status(), [
        { name: "a", state: "running", attempt: 1, restarts: 0, ready: false },
        { name: "b", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      assert.deepEqual(supervisor.metrics().map((m) => [m.name, m.restarts]), [["a", 0], ["b", 0]]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["b", "a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
  it("starts it with a one_for_all group that takes it in, announcing no restart for it", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        backoff: { initialDelay: 10, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      let fail!: () => void;
      let ready!: () => void;
      supervisor.add("b", (_signal, context) =>
        new Promise<void>((_, reject) => {
          ready = context.ready;
          fail = () => reject(new Error("b failed"));
        }), { waitReady: true });
      supervisor.add("a", untilAborted);
      const started = supervisor.start();
      await time.runMicrotasks();
      // a has not run: started on a zero-delay timer, unannounced.
      const restarting = supervisor.restart("a");
      ready();
      await started;
      fail(); // before that timer fires: b's group takes a in
      await time.runMicrotasks();
      await time.tickAsync(20);
      assert.equal(await settled(time, restarting), undefined);
      assert.deepEqual(log, [
        "0 start b#1",
        "0 ready b#1",
        "0 exit b#1 failed",
        "0 restart b#2 10",
        "10 start b#2",
        "10 start a#1",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.attempt, s.restarts]), [
        ["b", 2, 1],
        ["a", 1, 0],
      ]);
      // b's second run ignores its signal: abandoned at its stopTimeout.
      assert.deepEqual(await settled(time, supervisor.stop()), {
        stopped: ["a"],
        timedOut: ["b"],
      });
    }));
});

describe("Supervisor.stop called re-entrantly, then add() or start() in the same dispatch (model test, M1)", () => {
  it("makes add() throw in the run that begins after a start listener called stop()", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      let stopping: Promise<StopReport> | undefined;
      let added = "";
      supervisor.addEventListener("start", () => stopping = supervisor.stop(), { once: true });
      supervisor.add("a", (signal) => {
        try {
          supervisor.add("late", untilAborted);
          added = "accepted";
        } catch (error) {
          added = (error as Error).message;
        }
        return untilAborted(signal);
      });
      await supervisor.start();
      assert.equal(added, `Cannot add service "late" as the supervisor is stopped`);
      assert.ok(stopping);
      assert.deepEqual(await within(time, stopping, 0), { stopped: ["a"], timedOut: [] });
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 stopped"]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.state]), [["a", "stopped"]]);
      assert.equal(time.countTimers(), 0);
    }));

  it("makes add() throw in a later listener of the same event", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      let added = "";
      supervisor.addEventListener("start", () => void supervisor.stop(), { once: true });
      supervisor.addEventListener("start", () => {
        try {
          supervisor.add("late", untilAborted);
          added = "accepted";
        } catch (error) {
          added = (error as Error).message;
        }
      }, { once: true });
      supervisor.add("a", untilAborted);
      await supervisor.start();
      assert.equal(added, `Cannot add service "late" as the supervisor is stopped`);
      assert.deepEqual(await within(time, supervisor.stop(), 0), { stopped: ["a"], timedOut: [] });
      assert.deepEqual(log, ["0 start a#1", "0 exit a#1 stopped"]);
      assert.deepEqual(supervisor.status().map((s) => s.name), ["a"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("makes start() reject when called after it in the same listener", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("a", untilAborted);
      let again: Promise<void> | undefined;
      supervisor.addEventListener("start", () => {
        void supervisor.stop();
        again = supervisor.start();
        again.catch(() => {});
      }, { once: true });
      await supervisor.start();
      assert.ok(again);
      assert.equal(
        await outcome(time, again),
        "rejected: Cannot start supervisor 'supervisor' as it is stopped",
      );
      assert.deepEqual(await within(time, supervisor.stop(), 0), { stopped: ["a"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));
});

describe("Supervisor.start reaching a service restart() already ran early (model test, M2)", () => {
  for (const moment of ["from a start listener", "after start() was called"]) {
    it(`runs a one-shot restarted ${moment} once, while start() waits for a waitReady service`, () =>
      withFakeTime(async (time) => {
        const supervisor = new Supervisor({ backoff: { jitter: 0 } });
        const log = recordEvents(supervisor);
        let runs = 0;
        supervisor.add("db", readyAfter(10), { waitReady: true });
        supervisor.add("job", () => {
          runs++;
          return Promise.resolve();
        }, { restartPolicy: "never" });
        supervisor.add("http", untilAborted);
        let restarting: Promise<void> | undefined;
        if (moment === "from a start listener") {
          supervisor.addEventListener("start", (e) => {
            if (e.service === "db") restarting = supervisor.restart("job");
          });
        }
        let startedAt = -1;
        supervisor.start().then(() => startedAt = time.now);
        if (moment === "after start() was called") restarting = supervisor.restart("job");
        assert.ok(restarting);
        assert.equal(await settled(time, restarting), undefined);
        await time.advanceTo(20);
        assert.equal(startedAt, 10);
        assert.equal(runs, 1);
        assert.deepEqual(log, [
          "0 start db#1",
          "0 start job#1",
          "0 exit job#1 completed",
          "10 ready db#1",
          "10 start http#1",
        ]);
        assert.deepEqual(supervisor.status().map((s) => [s.name, s.state, s.attempt, s.restarts]), [
          ["db", "running", 1, 0],
          ["job", "completed", 1, 0],
          ["http", "running", 1, 0],
        ]);
        assert.deepEqual(await supervisor.stop(), { stopped: ["http", "db"], timedOut: [] });
        assert.equal(runs, 1);
        assert.equal(time.countTimers(), 0);
      }));
  }
});

describe("Supervisor.stop of a tree while a child supervisor is being removed (model test, M3)", () => {
  it("settles within shutdownTimeout plus one timer tick when the child's waits end past the deadline", () =>
    withFakeTime(async (time) => {
      // sub gets 6 ms to stop (its shutdownTimeout); its two services ignore their signal.
      const sub = new Supervisor({ name: "sub", shutdownTimeout: 6 });
      sub.add("s1", forever, { stopTimeout: 5 }).add("s2", forever, { stopTimeout: 5 });
      const root = new Supervisor({ name: "root", shutdownTimeout: 8 });
      const log = recordEvents(root);
      // stop() waits for r, the last added, until its deadline at 8 ms, then for sub.
      root.add(sub).add("r", forever, { stopTimeout: 8 });
      await root.start();
      let report: StopReport | undefined;
      let stoppedAt = -1;
      root.stop().then((r) => [report, stoppedAt] = [r, time.now]);
      await time.advanceTo(4);
      // remove() aborts sub's run at 4 ms: s2's own wait would end at 9, past root's deadline
      // at 8, when root reaches sub and tells it that deadline, already due.
      let removedAt = -1;
      root.remove("sub").then(() => removedAt = time.now);
      while (stoppedAt < 0 && time.now < 20 && await time.nextAsync());
      await time.runMicrotasks();
      assert.equal(stoppedAt, 9);
      assert.deepEqual(report, { stopped: ["sub"], timedOut: ["r", "sub/s2", "sub/s1"] });
      assert.equal(removedAt, 9);
      assert.deepEqual(log, [
        "0 start sub#1",
        "0 start sub/s1#1",
        "0 start sub/s2#1",
        "0 ready sub#1",
        "0 start r#1",
        "8 stoptimeout r",
        "9 stoptimeout sub/s2",
        "9 stoptimeout sub/s1",
        "9 exit sub#1 stopped",
      ]);
      assert.deepEqual(root.status().map((s) => [s.name, s.state]), [["r", "stopping"]]);
      assert.equal(root.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));
});
