import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../mod.ts";
import { settled, withFakeTime } from "./_fake_time.ts";
import { forever, recordEvents, untilAborted } from "./_log.ts";

/** A run that records its signal's abort reason as `name: AbortError message`. */
const noting = (reasons: string[], name: string) => async (signal: AbortSignal) => {
  await untilAborted(signal);
  const reason = signal.reason;
  reasons.push(
    reason instanceof DOMException
      ? `${name}: ${reason.name} ${reason.message}`
      : `${name}: ${String(reason)}`,
  );
};

describe("Supervisor.remove", () => {
  it("stops a running service and forgets it", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      const reasons: string[] = [];
      supervisor.add("a", noting(reasons, "a")).add("b", untilAborted);
      await supervisor.start();
      await time.tickAsync(100);
      await supervisor.remove("a");
      assert.deepEqual(reasons, ["a: AbortError Service 'a' was removed"]);
      assert.deepEqual(supervisor.status().map((s) => s.name), ["b"]);
      assert.deepEqual(log, ["0 start a#1", "0 start b#1", "100 exit a#1 stopped"]);
      supervisor.add("a", untilAborted); // the name is free again, and starts at once
      assert.equal(supervisor.status()[1]?.state, "running");
      await supervisor.stop();
      assert.equal(time.countTimers(), 0);
    }));

  it("cancels a pending restart when removed during backoff", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("flaky", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.equal(time.countTimers(), 1);
      await supervisor.remove("flaky");
      assert.equal(time.countTimers(), 0);
      assert.deepEqual(supervisor.status(), []);
      await supervisor.stop();
    }));

  it("abandons a run that ignores its signal after stopTimeout, and forgets it all the same", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("stuck", forever, { stopTimeout: 300 });
      await supervisor.start();
      let removed = false;
      supervisor.remove("stuck").then(() => removed = true);
      await time.tickAsync(299);
      assert.equal(removed, false);
      await time.tickAsync(1);
      await time.tickAsync(0);
      assert.equal(removed, true);
      assert.deepEqual(log, ["0 start stuck#1", "300 stoptimeout stuck"]);
      assert.deepEqual(supervisor.status(), []);
    }));

  it("rejects an unknown name with a RangeError", async () => {
    const supervisor = new Supervisor();
    await assert.rejects(supervisor.remove("ghost"), {
      name: "RangeError",
      message: `Cannot remove service "ghost" as no service has that name`,
    });
    await assert.rejects(supervisor.restart("ghost"), {
      name: "RangeError",
      message: `Cannot restart service "ghost" as no service has that name`,
    });
  });
});

describe("Supervisor.restart", () => {
  it("aborts the current run and starts a new one at once, counted as a restart, not a failure", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      const reasons: string[] = [];
      supervisor.add("svc", noting(reasons, "svc"));
      await supervisor.start();
      await time.tickAsync(100);
      await settled(time, supervisor.restart("svc"));
      assert.deepEqual(log, [
        "0 start svc#1",
        "100 exit svc#1 stopped",
        "100 restart svc#2 0",
        "100 start svc#2",
      ]);
      assert.deepEqual(reasons, ["svc: AbortError Service 'svc' is being restarted"]);
      assert.deepEqual(supervisor.status(), [
        { name: "svc", state: "running", attempt: 2, restarts: 1, ready: false },
      ]);
      await supervisor.stop();
    }));

  it("cuts a pending backoff short, leaving the backoff schedule where it was", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add(
        "flaky",
        (_signal, { attempt }) =>
          attempt < 3 ? Promise.reject(new Error("x")) : Promise.reject(new Error("y")),
      );
      await supervisor.start();
      await time.tickAsync(0);
      await time.tickAsync(200);
      await settled(time, supervisor.restart("flaky")); // instead of waiting until 1000
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start flaky#1",
        "0 exit flaky#1 failed",
        "0 restart flaky#2 1000",
        "200 restart flaky#2 0",
        "200 start flaky#2",
        "200 exit flaky#2 failed",
        "200 restart flaky#3 2000",
      ]);
      assert.equal(time.countTimers(), 1);
      await supervisor.stop();
    }));

  it("revives a service that gave up", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ maxRestarts: 0 });
      let healthy = false;
      supervisor.add("svc", (signal) =>
        healthy ? untilAborted(signal) : Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.equal(supervisor.status()[0]?.state, "failed");
      healthy = true;
      await settled(time, supervisor.restart("svc"));
      assert.equal(supervisor.status()[0]?.state, "running");
      await supervisor.stop();
    }));

  it("rejects when the supervisor is not running, or the run does not stop in time", () =>
    withFakeTime(async (time) => {
      const idle = new Supervisor().add("svc", untilAborted);
      await assert.rejects(idle.restart("svc"), {
        message: "Cannot restart service 'svc' as the supervisor is not running",
      });
      const supervisor = new Supervisor().add("stuck", forever, { stopTimeout: 100 });
      await supervisor.start();
      let error: Error | undefined;
      supervisor.restart("stuck").catch((e) => error = e);
      while (!error && await time.nextAsync());
      assert.equal(
        error?.message,
        "Cannot restart service 'stuck' as its run did not stop within its stopTimeout",
      );
      assert.equal(supervisor.status()[0]?.attempt, 1);
    }));
});

describe("Supervisor abort reasons", () => {
  it("pass a reason given to stop() to every run of the tree unchanged", () =>
    withFakeTime(async () => {
      const reasons: string[] = [];
      const child = new Supervisor({ name: "child" });
      child.add("leaf", noting(reasons, "leaf"));
      const root = new Supervisor();
      root.add("top", noting(reasons, "top")).add(child);
      await root.start();
      await root.stop("deploy 42");
      assert.deepEqual(reasons, ["leaf: deploy 42", "top: deploy 42"]);
    }));

  it("say why when the supervisor aborts on its own, always as an AbortError", () =>
    withFakeTime(async (time) => {
      const reasons: string[] = [];
      const supervisor = new Supervisor({
        name: "sup",
        strategy: "one_for_all",
        backoff: { jitter: 0 },
      });
      supervisor.add("a", noting(reasons, "a"));
      supervisor.add(
        "b",
        (signal, { attempt }) =>
          attempt === 1 ? Promise.reject(new Error("x")) : noting(reasons, "b")(signal),
      );
      supervisor.add("c", noting(reasons, "c"));
      await supervisor.start();
      await time.tickAsync(0);
      await time.tickAsync(1000); // the group is back
      await settled(time, supervisor.restart("a"));
      await supervisor.remove("c");
      await supervisor.stop();
      assert.deepEqual(reasons, [
        "c: AbortError Restarting with sibling 'b' (one_for_all)",
        "a: AbortError Restarting with sibling 'b' (one_for_all)",
        "a: AbortError Service 'a' is being restarted",
        "c: AbortError Service 'c' was removed",
        "b: AbortError Supervisor 'sup' is stopping",
        "a: AbortError Supervisor 'sup' is stopping",
      ]);
    }));

  it("abort the runs not yet reached at the shutdown deadline, saying so", () =>
    withFakeTime(async (time) => {
      const reasons: string[] = [];
      const supervisor = new Supervisor({ name: "sup", shutdownTimeout: 1000 });
      supervisor.add("a", noting(reasons, "a"));
      supervisor.add("stuck", forever, { stopTimeout: 5000 });
      await supervisor.start();
      let report: unknown;
      supervisor.stop().then((r) => report = r);
      while (!report && await time.nextAsync());
      assert.deepEqual(report, { stopped: ["a"], timedOut: ["stuck"] });
      assert.deepEqual(reasons, ["a: AbortError Supervisor 'sup' passed its shutdown deadline"]);
      assert.equal(time.now, 1000);
      assert.equal(time.countTimers(), 0);
    }));
});
