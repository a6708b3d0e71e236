import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { forever, recordEvents, untilAborted } from "./_log.ts";

/** A run that takes `ms` to wind down after its signal aborts, logging both moments. */
function slowToStop(log: string[], name: string, ms: number) {
  return (signal: AbortSignal) =>
    untilAborted(signal).then(() => {
      log.push(`${Date.now()} abort ${name}`);
      return new Promise<void>((resolve) => setTimeout(resolve, ms));
    });
}

describe("Supervisor.stop", () => {
  it("stops services one at a time, in reverse order of adding", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      for (const name of ["a", "b", "c"]) supervisor.add(name, slowToStop(log, name, 100));
      await supervisor.start();
      await time.tickAsync(1000);
      const stopping = supervisor.stop();
      for (let i = 0; i < 3; i++) await time.nextAsync();
      assert.deepEqual(await stopping, { stopped: ["c", "b", "a"], timedOut: [] });
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 start c#1",
        "1000 abort c",
        "1100 exit c#1 stopped",
        "1100 abort b",
        "1200 exit b#1 stopped",
        "1200 abort a",
        "1300 exit a#1 stopped",
      ]);
      assert.deepEqual(supervisor.status().map((s) => s.state), ["stopped", "stopped", "stopped"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("abandons a run that ignores its signal after stopTimeout, reports it, and goes on", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("polite", untilAborted);
      supervisor.add("stubborn", forever, { stopTimeout: 2500 });
      await supervisor.start();
      let report;
      supervisor.stop().then((r) => report = r);
      await time.tickAsync(2499);
      assert.equal(report, undefined);
      assert.deepEqual(supervisor.status().map((s) => s.state), ["running", "stopping"]);
      await time.tickAsync(1);
      await time.tickAsync(0);
      assert.deepEqual(report, { stopped: ["polite"], timedOut: ["stubborn"] });
      assert.deepEqual(log, [
        "0 start polite#1",
        "0 start stubborn#1",
        "2500 stoptimeout stubborn",
        "2500 exit polite#1 stopped",
      ]);
      // The abandoned run is never restarted; it stays `stopping` until it settles.
      assert.deepEqual(supervisor.status().map((s) => s.state), ["stopped", "stopping"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("waits 5000 ms by default before it abandons a run", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("stubborn", forever);
      await supervisor.start();
      const stopping = supervisor.stop();
      while (await time.nextAsync());
      assert.deepEqual(await stopping, { stopped: [], timedOut: ["stubborn"] });
      assert.deepEqual(log, ["0 start stubborn#1", "5000 stoptimeout stubborn"]);
    }));

  it("reports an abandoned run's late exit as stopped, and never restarts it", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ restartPolicy: "always", stopTimeout: 10 });
      const log = recordEvents(supervisor);
      let finish!: () => void;
      supervisor.add("late", () => new Promise<void>((resolve) => finish = resolve));
      await supervisor.start();
      const stopping = supervisor.stop();
      while (await time.nextAsync());
      assert.deepEqual(await stopping, { stopped: [], timedOut: ["late"] });
      await time.tickAsync(60_000);
      assert.equal(supervisor.status()[0]?.state, "stopping");
      finish();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start late#1", "10 stoptimeout late", "60010 exit late#1 stopped"]);
      assert.equal(supervisor.status()[0]?.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("cancels a pending restart at once when stopped during backoff", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("flaky", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(500);
      assert.equal(supervisor.status()[0]?.state, "backing_off");
      const stopping = supervisor.stop();
      assert.equal(time.countTimers(), 0);
      assert.equal(supervisor.status()[0]?.state, "stopped");
      assert.deepEqual(await stopping, { stopped: ["flaky"], timedOut: [] });
      await time.tickAsync(10_000);
      assert.deepEqual(log, ["0 start flaky#1", "0 exit flaky#1 failed", "0 restart flaky#2 1000"]);
    }));

  it("aborts every run with the reason given, unchanged", async () => {
    const supervisor = new Supervisor();
    const reasons: unknown[] = [];
    const reason = { why: "deploy" };
    for (const name of ["a", "b"]) {
      supervisor.add(
        name,
        (signal) => untilAborted(signal).then(() => void reasons.push(signal.reason)),
      );
    }
    await supervisor.start();
    await supervisor.stop(reason);
    assert.equal(reasons.length, 2);
    assert.equal(reasons[0], reason);
    assert.equal(reasons[1], reason);
  });

  it("aborts with a DOMException named AbortError when no reason is given", async () => {
    const supervisor = new Supervisor();
    let reason: unknown;
    supervisor.add("a", (signal) => untilAborted(signal).then(() => void (reason = signal.reason)));
    await supervisor.start();
    await supervisor.stop();
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "AbortError");
    assert.equal(reason.message, "Supervisor 'supervisor' is stopping");
  });

  it("counts a run that rejects with its abort reason as stopped, not failed", async () => {
    const supervisor = new Supervisor({ restartPolicy: "always" });
    const log = recordEvents(supervisor);
    supervisor.add(
      "fetcher",
      (signal) => untilAborted(signal).then(() => Promise.reject(signal.reason)),
    );
    await supervisor.start();
    await supervisor.stop();
    assert.deepEqual(log.map((line) => line.replace(/^\d+ /, "")), [
      "start fetcher#1",
      "exit fetcher#1 stopped",
    ]);
    assert.equal(supervisor.status()[0]?.lastError, undefined);
  });

  it("returns the same promise when called again", async () => {
    const supervisor = new Supervisor().add("a", untilAborted);
    await supervisor.start();
    const first = supervisor.stop();
    assert.equal(supervisor.stop("another reason"), first);
    assert.deepEqual(await first, { stopped: ["a"], timedOut: [] });
  });

  it("leaves services that had already completed or failed out of the report", async () => {
    const supervisor = new Supervisor({ restartPolicy: "never" });
    supervisor.add("done", () => {});
    supervisor.add("broken", () => Promise.reject(new Error("x")));
    supervisor.add("live", untilAborted);
    await supervisor.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(await supervisor.stop(), { stopped: ["live"], timedOut: [] });
    assert.deepEqual(supervisor.status().map((s) => s.state), ["completed", "failed", "stopped"]);
  });

  it("does not restart a run that fails while the supervisor is stopping", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ restartPolicy: "always" });
      const log = recordEvents(supervisor);
      // `first` fails 50 ms into the shutdown, while `second` is being stopped.
      supervisor.add(
        "first",
        () => new Promise((_, reject) => setTimeout(() => reject(new Error("x")), 1050)),
      );
      supervisor.add("second", slowToStop(log, "second", 100));
      await supervisor.start();
      await time.tickAsync(1000);
      const stopping = supervisor.stop();
      while (await time.nextAsync());
      assert.deepEqual(await stopping, { stopped: ["second", "first"], timedOut: [] });
      assert.deepEqual(log, [
        "0 start first#1",
        "0 start second#1",
        "1000 abort second",
        "1050 exit first#1 failed",
        "1100 exit second#1 stopped",
      ]);
      assert.deepEqual(supervisor.status().map((s) => s.state), ["stopped", "stopped"]);
    }));

  it("makes add() and start() throw afterwards", async () => {
    const supervisor = new Supervisor().add("a", untilAborted);
    await supervisor.stop();
    assert.throws(() => supervisor.add("b", untilAborted), {
      name: "Error",
      message: `Cannot add service "b" as the supervisor is stopped`,
    });
    await assert.rejects(supervisor.start(), {
      message: "Cannot start supervisor 'supervisor' as it is stopped",
    });
    assert.deepEqual(supervisor.status().map((s) => s.name), ["a"]);
  });

  it("stops a supervisor that was never started, running nothing", async () => {
    let runs = 0;
    const supervisor = new Supervisor().add("a", () => void runs++);
    assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    assert.equal(runs, 0);
    assert.deepEqual(supervisor.status(), [{
      name: "a",
      state: "stopped",
      attempt: 0,
      restarts: 0,
      ready: false,
    }]);
    assert.equal(supervisor.state, "stopped");
    await supervisor.done;
  });

  it("is what Symbol.asyncDispose does", async () => {
    const supervisor = new Supervisor().add("a", untilAborted);
    await supervisor.start();
    await supervisor[Symbol.asyncDispose]();
    assert.equal(supervisor.status()[0]?.state, "stopped");
    assert.deepEqual(await supervisor.stop(), { stopped: ["a"], timedOut: [] });
  });

  it("may be called from a start listener or from inside a run", async () => {
    const fromListener = new Supervisor();
    fromListener.addEventListener("start", () => void fromListener.stop(), { once: true });
    fromListener.add("a", untilAborted).add("b", untilAborted);
    await fromListener.start();
    assert.deepEqual(await fromListener.stop(), { stopped: ["a"], timedOut: [] });
    assert.deepEqual(fromListener.status().map((s) => [s.state, s.attempt]), [["stopped", 1], [
      "stopped",
      0,
    ]]);

    const fromRun = new Supervisor();
    fromRun.add("self", (signal) => {
      fromRun.stop();
      return untilAborted(signal);
    });
    await fromRun.start();
    assert.deepEqual(await fromRun.stop(), { stopped: ["self"], timedOut: [] });
  });
});

describe("Supervisor.stop with stopOrder 'together'", () => {
  it("aborts every child at once and reports them in reverse order of adding", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ stopOrder: "together", shutdownTimeout: 1000 });
      const log = recordEvents(supervisor);
      supervisor.add("a", slowToStop(log, "a", 30));
      supervisor.add("b", slowToStop(log, "b", 10));
      supervisor.add("c", forever, { stopTimeout: 50 });
      supervisor.add("d", untilAborted);
      await supervisor.start();
      await time.tickAsync(100);
      let report: unknown;
      let settledAt = -1;
      supervisor.stop().then((r) => {
        report = r;
        settledAt = Date.now();
      });
      while (report === undefined && await time.nextAsync());
      // Each awaited up to its own stopTimeout: the shutdown takes as long as the slowest.
      assert.deepEqual(report, { stopped: ["d", "b", "a"], timedOut: ["c"] });
      assert.equal(settledAt, 150);
      assert.deepEqual(log.filter((l) => !l.includes(" start ")), [
        "100 exit d#1 stopped",
        "100 abort b",
        "100 abort a",
        "110 exit b#1 stopped",
        "130 exit a#1 stopped",
        "150 stoptimeout c",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("stops within shutdownTimeout, abandoning the runs still pending then", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ stopOrder: "together", shutdownTimeout: 40 });
      const log = recordEvents(supervisor);
      supervisor.add("quick", slowToStop(log, "quick", 10));
      supervisor.add("slow", slowToStop(log, "slow", 100));
      await supervisor.start();
      let report: unknown;
      supervisor.stop().then((r) => report = r);
      while (report === undefined && await time.nextAsync());
      assert.deepEqual(report, { stopped: ["quick"], timedOut: ["slow"] });
      assert.equal(time.now, 40);
    }));

  it("mixes an ordered root with a pool stopped together under it", () =>
    withFakeTime(async (time) => {
      const order: string[] = [];
      const pool = new Supervisor({ name: "pool", stopOrder: "together" });
      for (const name of ["w1", "w2", "w3"]) pool.add(name, slowToStop(order, name, 20));
      const root = new Supervisor({ name: "root" });
      root.add("db", slowToStop(order, "db", 10)).add(pool).add(
        "http",
        slowToStop(order, "http", 10),
      );
      await root.start();
      let report: unknown;
      root.stop().then((r) => report = r);
      while (report === undefined && await time.nextAsync());
      assert.deepEqual(report, { stopped: ["http", "pool", "db"], timedOut: [] });
      // http, then the whole pool at once, then db: 10 + 20 + 10 ms.
      assert.deepEqual(order, [
        "0 abort http",
        "10 abort w3",
        "10 abort w2",
        "10 abort w1",
        "30 abort db",
      ]);
      assert.equal(time.now, 40);
    }));

  it("refuses an unknown stopOrder, naming it", () => {
    assert.throws(() => new Supervisor({ stopOrder: "parallel" as "together" }), {
      name: "RangeError",
      message: `Cannot create supervisor as 'stopOrder' must be one of "reverse", "together": ` +
        `current value is "parallel"`,
    });
  });
});

describe("Supervisor.start", () => {
  it("starts services in the order they were added, and again does nothing", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted).add("b", untilAborted);
      await supervisor.start();
      await supervisor.start();
      assert.deepEqual(log, ["0 start a#1", "0 start b#1"]);
      await supervisor.stop();
    }));

  it("starts a service added after start() at once", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      await supervisor.start();
      supervisor.add("late", untilAborted);
      assert.deepEqual(log, ["0 start late#1"]);
      assert.equal(supervisor.status()[0]?.state, "running");
      await supervisor.stop();
    }));
});
