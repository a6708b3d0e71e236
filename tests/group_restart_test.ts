// Group restarts interleaved with restart(), remove(), stop(), readiness and
// each other: no member is left waiting for a group that never comes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../mod.ts";
import { type FakeTime, settled, withFakeTime } from "./_fake_time.ts";
import { failAfter, failsFirst, readyAfter, recordEvents, untilAborted } from "./_log.ts";

/** A run that takes `ms` to stop after its signal aborts. */
const slowToStop = (ms: number) => (signal: AbortSignal) =>
  untilAborted(signal).then(() => new Promise<void>((resolve) => setTimeout(resolve, ms)));

/** Stops the supervisor, moving time on until it has. */
async function stopNow(time: FakeTime, supervisor: Supervisor) {
  let stopped = false;
  supervisor.stop().then(() => stopped = true);
  while (!stopped && await time.nextAsync());
  assert.ok(stopped);
}

const states = (supervisor: Supervisor) =>
  supervisor.status().map((s) => `${s.name}:${s.state}#${s.attempt}`).join(" ");

describe("Group restarts", () => {
  it("still restart the siblings when restart() takes the failed child out of the wait", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "one_for_all", backoff: { jitter: 0 } });
      supervisor.add(
        "a",
        failsFirst(5),
      );
      supervisor.add("b", untilAborted);
      await supervisor.start();
      await time.tickAsync(5);
      await time.tickAsync(0);
      assert.equal(states(supervisor), "a:backing_off#1 b:backing_off#1");
      await settled(time, supervisor.restart("a"));
      assert.equal(states(supervisor), "a:running#2 b:backing_off#1");
      await time.tickAsync(1000);
      assert.equal(states(supervisor), "a:running#2 b:running#2");
      assert.deepEqual(supervisor.status().map((s) => s.restarts), [1, 1]);
      await supervisor.stop();
      assert.equal(time.countTimers(), 0);
    }));

  it("still restart the siblings when the failed child is removed while they stop", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "one_for_all", backoff: { jitter: 0 } });
      supervisor.add("a", (signal) => failAfter(5, signal));
      supervisor.add("b", slowToStop(20));
      supervisor.add("c", untilAborted);
      await supervisor.start();
      await time.tickAsync(5);
      await time.tickAsync(5);
      await supervisor.remove("a");
      while (await time.nextAsync());
      assert.equal(states(supervisor), "b:running#2 c:running#2");
      await stopNow(time, supervisor);
    }));

  it("merge overlapping rest_for_one groups, leaving no child behind and counting each once", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "rest_for_one", backoff: { jitter: 0 } });
      supervisor.add(
        "a",
        failsFirst(10),
      );
      supervisor.add(
        "b",
        failsFirst(5),
      );
      supervisor.add("c", slowToStop(20));
      await supervisor.start();
      for (let i = 0; i < 100 && await time.nextAsync(); i++);
      assert.equal(states(supervisor), "a:running#2 b:running#2 c:running#2");
      // b and c waited for b's group, then went with a's: one restart each.
      assert.deepEqual(supervisor.status().map((s) => s.restarts), [1, 1, 1]);
      await stopNow(time, supervisor);
      assert.equal(time.countTimers(), 0);
    }));

  it("leave no service backing off once stop() has stopped a group in progress", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "one_for_all" });
      supervisor.add("a", (signal) => failAfter(5, signal));
      supervisor.add("b", slowToStop(30));
      await supervisor.start();
      await time.tickAsync(15);
      let report: unknown;
      supervisor.stop().then((r) => report = r);
      while (report === undefined && await time.nextAsync());
      assert.deepEqual(report, { stopped: ["b", "a"], timedOut: [] });
      assert.equal(states(supervisor), "a:stopped#1 b:stopped#1");
      assert.equal(time.countTimers(), 0);
    }));

  it("wait for a waitReady child's next run when its group aborts it before it is ready", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        backoff: { jitter: 0, initialDelay: 100 },
      });
      const log = recordEvents(supervisor);
      supervisor.add(
        "a",
        failsFirst(5),
      );
      supervisor.add("db", readyAfter(20), { waitReady: true });
      supervisor.add("http", untilAborted);
      let started = false;
      supervisor.start().then(() => started = true);
      while (!started && await time.nextAsync());
      const order = log.filter((l) => / (start|ready) (db|http)/.test(l));
      assert.deepEqual(order, [
        "0 start db#1",
        "105 start db#2",
        "125 ready db#2",
        "125 start http#1",
      ]);
      await supervisor.stop();
    }));

  it("move on from a waitReady child its group stops for good (policy never)", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ strategy: "one_for_all", backoff: { jitter: 0 } });
      supervisor.add(
        "a",
        failsFirst(5),
      );
      supervisor.add("once", untilAborted, { waitReady: true, restartPolicy: "never" });
      supervisor.add("http", untilAborted);
      let started = false;
      supervisor.start().then(() => started = true);
      while (!started && await time.nextAsync());
      assert.ok(started);
      assert.equal(states(supervisor), "a:running#2 once:stopped#1 http:running#1");
      await supervisor.stop();
    }));

  it("wait for the next run of a waitReady child restart() aborts before it is ready", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("db", (signal, { attempt, ready }) => {
        if (attempt === 2) ready();
        return untilAborted(signal);
      }, { waitReady: true });
      supervisor.add("http", untilAborted);
      let started = false;
      supervisor.start().then(() => started = true);
      await time.tickAsync(10);
      await settled(time, supervisor.restart("db"));
      while (!started && await time.nextAsync());
      assert.deepEqual(log.filter((l) => / (start|ready) /.test(l)), [
        "0 start db#1",
        "10 start db#2",
        "10 ready db#2",
        "10 start http#1",
      ]);
      await supervisor.stop();
    }));

  it("count a restart() that cuts a pending backoff short as one restart", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add(
        "a",
        failsFirst(5),
      );
      await supervisor.start();
      await time.tickAsync(5);
      await time.tickAsync(0);
      await settled(time, supervisor.restart("a"));
      assert.equal(supervisor.status()[0]?.restarts, 1);
      assert.equal(supervisor.metrics()[0]?.restarts, 1);
      await supervisor.stop();
    }));

  it("keep to the readiness order when restart() starts a waitReady child early", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("a", readyAfter(10), { waitReady: true });
      supervisor.add("db", readyAfter(50), { waitReady: true });
      supervisor.add("http", untilAborted);
      let started = false;
      supervisor.start().then(() => started = true);
      await time.tickAsync(1);
      await settled(time, supervisor.restart("db"));
      while (!started && await time.nextAsync());
      const order = log.filter((l) => / (start|ready) (db|http)/.test(l));
      assert.deepEqual(order, ["1 start db#1", "51 ready db#1", "51 start http#1"]);
      await supervisor.stop();
    }));

  it("refuse run() after start() and stop(): stopped is for good", async () => {
    const supervisor = new Supervisor().add("a", untilAborted);
    await supervisor.start();
    await supervisor.stop();
    await assert.rejects(supervisor.run(new AbortController().signal), {
      name: "DoNotRestartError",
      message: "Cannot run supervisor 'supervisor' as it is stopped for good",
    });
  });
});
