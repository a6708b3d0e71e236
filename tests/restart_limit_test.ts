import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RestartLimitError, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { recordEvents, untilAborted } from "./_log.ts";

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
