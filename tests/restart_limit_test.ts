import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RestartIntensityError, RestartLimitError, Supervisor } from "../mod.ts";
import { settled, withFakeTime } from "./_fake_time.ts";
import { failAfter, recordEvents, untilAborted } from "./_log.ts";

describe("Supervisor restart limit", () => {
  it("gives up when a service would restart more than maxRestarts times within restartWindow", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 }, maxRestarts: 3 });
      const log = recordEvents(supervisor);
      const errors: RestartLimitError[] = [];
      supervisor.addEventListener("giveup", (e) => errors.push(e.error));
      supervisor.add(
        "flaky",
        (_signal, { attempt }) => Promise.reject(new Error(`run ${attempt}`)),
      );
      supervisor.add("steady", untilAborted);
      await supervisor.start();
      while (await time.nextAsync());
      assert.deepEqual(log, [
        "0 start flaky#1",
        "0 start steady#1",
        "0 exit flaky#1 failed",
        "0 restart flaky#2 1000",
        "1000 start flaky#2",
        "1000 exit flaky#2 failed",
        "1000 restart flaky#3 2000",
        "3000 start flaky#3",
        "3000 exit flaky#3 failed",
        "3000 restart flaky#4 4000",
        "7000 start flaky#4",
        "7000 exit flaky#4 failed",
        "7000 giveup flaky",
      ]);
      const [error] = errors;
      assert.ok(error instanceof RestartLimitError);
      assert.equal(error.name, "RestartLimitError");
      assert.equal(error.service, "flaky");
      assert.equal(error.restarts, 3);
      assert.equal(error.message, "Service 'flaky' gave up after 3 restarts");
      assert.deepEqual(error.cause, new Error("run 4"));
      assert.deepEqual(supervisor.status(), [
        { name: "flaky", state: "failed", attempt: 4, restarts: 3, ready: false, lastError: error },
        { name: "steady", state: "running", attempt: 1, restarts: 0, ready: false },
      ]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["steady"], timedOut: [] });
    }));

  it("gives up on the first failure with maxRestarts 0", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ maxRestarts: 0 });
      const log = recordEvents(supervisor);
      supervisor.add("once", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start once#1", "0 exit once#1 failed", "0 giveup once"]);
      assert.equal(
        (supervisor.status()[0]?.lastError as Error).message,
        "Service 'once' gave up after 0 restarts",
      );
      await supervisor.stop();
    }));

  it("counts restarts over a sliding window: old ones fall out", () =>
    withFakeTime(async (time) => {
      // Failures every 3000 ms; at most 2 restarts in any 5000 ms, which the
      // schedule never exceeds, and in any 7000 ms, which it does at 6000.
      const backoff = { initialDelay: 3000, multiplier: 1, jitter: 0 };
      const sliding = new Supervisor({ backoff, maxRestarts: 2, restartWindow: 5000 });
      const wide = new Supervisor({ backoff, maxRestarts: 2, restartWindow: 7000 });
      const giveups: string[] = [];
      for (const [name, supervisor] of [["sliding", sliding], ["wide", wide]] as const) {
        supervisor.addEventListener("giveup", () => giveups.push(`${Date.now()} ${name}`));
        supervisor.add(name, () => Promise.reject(new Error("x")));
        await supervisor.start();
      }
      for (let t = 0; t < 30_000; t += 1000) await time.tickAsync(1000);
      assert.deepEqual(giveups, ["6000 wide"]);
      // Failures at 0, 3000 … 30000: eleven restarts, none refused.
      assert.equal(sliding.status()[0]?.restarts, 11);
      assert.equal(sliding.status()[0]?.state, "backing_off");
      await sliding.stop();
      await wide.stop();
      assert.equal(time.countTimers(), 0);
    }));

  it("never gives up with maxRestarts Infinity", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { initialDelay: 0 }, maxRestarts: Infinity });
      supervisor.add("loop", () => Promise.reject(new Error("x")));
      await supervisor.start();
      for (let i = 0; i < 2000; i++) await time.tickAsync(1);
      const [status] = supervisor.status();
      assert.equal(status?.state === "backing_off" || status?.state === "running", true);
      assert.ok(status!.restarts >= 1000, `only ${status!.restarts} restarts`);
      await supervisor.stop();
    }));

  it("gives up with no cause when an 'always' service keeps completing", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        restartPolicy: "always",
        maxRestarts: 1,
        backoff: { initialDelay: 5 },
      });
      const errors: RestartLimitError[] = [];
      supervisor.addEventListener("giveup", (e) => errors.push(e.error));
      supervisor.add("done", () => {});
      await supervisor.start();
      while (await time.nextAsync());
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.cause, undefined);
      assert.equal(supervisor.status()[0]?.state, "failed");
      await supervisor.stop();
    }));
});

describe("Supervisor intensity", () => {
  it("fails the supervisor when its children together restart more than intensity in period", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        intensity: 3,
        period: 1000,
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      let outcome: unknown;
      supervisor.done.catch((error) => outcome = error);
      for (const name of ["a", "b", "c", "d"]) {
        supervisor.add(name, () => Promise.reject(new Error(`${name} down`)));
      }
      await supervisor.start();
      while (await time.nextAsync());
      // a, b and c each restart once within their own limit; d's restart would be the fourth.
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "0 start c#1",
        "0 start d#1",
        "0 exit a#1 failed",
        "0 restart a#2 100",
        "0 exit b#1 failed",
        "0 restart b#2 100",
        "0 exit c#1 failed",
        "0 restart c#2 100",
        "0 exit d#1 failed",
        "0 escalate d",
      ]);
      assert.ok(outcome instanceof RestartIntensityError);
      assert.equal(
        (outcome as Error).message,
        "Supervisor 'supervisor' restarted its children more than 3 times in 1000 ms",
      );
      assert.equal(((outcome as Error).cause as Error).message, "d down");
      assert.equal(supervisor.state, "failed");
      assert.deepEqual(supervisor.status().map((s) => `${s.name}:${s.state}#${s.restarts}`), [
        "a:stopped#1",
        "b:stopped#1",
        "c:stopped#1",
        "d:failed#0",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("forgets restarts older than period", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        intensity: 1,
        period: 500,
        maxRestarts: Infinity,
        backoff: { initialDelay: 400, multiplier: 1, jitter: 0 },
      });
      supervisor.add("slow", (signal) => failAfter(200, signal));
      await supervisor.start();
      // Restarts at 200, 800, 1400 …: never two within 500 ms.
      await time.advanceTo(3000);
      assert.equal(supervisor.state, "running");
      assert.equal(supervisor.status()[0]?.restarts, 5);
      await supervisor.stop();
    }));

  it("counts each member of a group restart", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        intensity: 5,
        period: 10_000,
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      supervisor.add("steady", untilAborted).add("other", untilAborted);
      supervisor.add("flaky", (signal) => failAfter(10, signal, "flaky down"));
      let outcome: unknown;
      supervisor.done.catch((error) => outcome = error);
      await supervisor.start();
      while (await time.nextAsync());
      // The first group restarts three (3 of 5); the second would make six.
      assert.deepEqual(log.filter((l) => / (restart|escalate) /.test(l)), [
        "10 restart steady#2 100",
        "10 restart other#2 100",
        "10 restart flaky#2 100",
        "120 escalate flaky",
      ]);
      assert.ok(outcome instanceof RestartIntensityError);
      assert.equal(((outcome as Error).cause as Error).message, "flaky down");
      assert.equal(time.countTimers(), 0);
    }));

  it("does not count restart(name)", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ intensity: 0 }).add("a", untilAborted);
      await supervisor.start();
      for (let i = 0; i < 3; i++) await settled(time, supervisor.restart("a"));
      assert.equal(supervisor.state, "running");
      assert.equal(supervisor.status()[0]?.restarts, 3);
      await supervisor.stop();
    }));

  it("hands a child supervisor that exceeds it to its parent, which restarts the subtree", () =>
    withFakeTime(async (time) => {
      const pool = new Supervisor({
        name: "pool",
        intensity: 2,
        period: 1000,
        backoff: { initialDelay: 10, jitter: 0 },
      });
      let upstream = false;
      for (const name of ["a", "b"]) {
        pool.add(
          name,
          (signal) =>
            upstream ? untilAborted(signal) : failAfter(5, signal, `${name}: upstream down`),
        );
      }
      const root = new Supervisor({ name: "root", backoff: { initialDelay: 1000, jitter: 0 } });
      const log = recordEvents(root);
      root.add(pool);
      await root.start();
      await time.advanceTo(500);
      upstream = true; // the next run of the subtree finds it back
      await time.advanceTo(2000);
      // a and b fail at 5 and restart (2 of 2); a fails again at 20: the third restart
      // would exceed the pool's intensity, so it stops b and fails; root restarts it.
      assert.deepEqual(log.filter((l) => !/ (start|ready) /.test(l)), [
        "5 exit pool/a#1 failed",
        "5 restart pool/a#2 10",
        "5 exit pool/b#1 failed",
        "5 restart pool/b#2 10",
        "20 exit pool/a#2 failed",
        "20 exit pool/b#2 stopped",
        "20 escalate pool/a",
        "20 exit pool#1 failed",
        "20 restart pool#2 1000",
      ]);
      assert.deepEqual(log.filter((l) => / start pool#/.test(l)), [
        "0 start pool#1",
        "1020 start pool#2",
      ]);
      assert.equal(pool.state, "running");
      assert.equal(root.status()[0]?.lastError instanceof RestartIntensityError, true);
      await root.stop();
    }));

  it("refuses a bad intensity or period, naming it", () => {
    assert.throws(() => new Supervisor({ intensity: -1 }), {
      name: "RangeError",
      message: "Cannot create supervisor as 'intensity' must be a non-negative integer or " +
        "Infinity: current value is -1",
    });
    assert.throws(() => new Supervisor({ period: 0 }), {
      name: "RangeError",
      message: "Cannot create supervisor as 'period' must be a positive number: current value is 0",
    });
  });
});
