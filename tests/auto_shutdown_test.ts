import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DoNotRestartError, RestartLimitError, Supervisor } from "../mod.ts";
import { settled, withFakeTime } from "./_fake_time.ts";
import { recordEvents, untilAborted } from "./_log.ts";

/** A run that completes after `ms`, or returns as soon as its signal aborts. */
function completesAfter(ms: number) {
  return (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
}

/** A run that fails with `error` after `ms`, or returns as soon as its signal aborts. */
function failsAfter(ms: number, error: unknown) {
  return (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(error), ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
}

/** What `done` settled with: `"resolved"`, or the error it rejected with. */
async function outcomeOf(time: Parameters<typeof settled>[0], done: Promise<void>) {
  try {
    await settled(time, done);
    return "resolved";
  } catch (error) {
    return error;
  }
}

describe("autoShutdown", () => {
  it('"any_significant": the supervisor stops its other services and itself once a significant one completes', () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      const log = recordEvents(supervisor);
      supervisor.add("server", untilAborted);
      supervisor.add("job", completesAfter(100), { significant: true });
      supervisor.add("sidecar", untilAborted);
      await supervisor.start();
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.deepEqual(log, [
        "0 start server#1",
        "0 start job#1",
        "0 start sidecar#1",
        "100 exit job#1 completed",
        "100 exit sidecar#1 stopped",
        "100 exit server#1 stopped",
      ]);
      assert.equal(supervisor.state, "stopped");
      assert.deepEqual(
        supervisor.status().map((s) => [s.name, s.state]),
        [["server", "stopped"], ["job", "completed"], ["sidecar", "stopped"]],
      );
      // stop() afterwards reports the shutdown that was made.
      assert.deepEqual(await supervisor.stop(), { stopped: ["sidecar", "server"], timedOut: [] });
      assert.equal(time.countTimers(), 0);
    }));

  it("gives every other run's signal a reason that names the service that ended", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      let reason: unknown;
      supervisor.add("server", (signal) => untilAborted(signal).then(() => reason = signal.reason));
      supervisor.add("job", completesAfter(10), { significant: true });
      await supervisor.start();
      await settled(time, supervisor.done);
      assert.ok(reason instanceof DOMException);
      assert.equal(reason.name, "AbortError");
      assert.equal(reason.message, "Supervisor 'supervisor' is shutting down: 'job' ended");
    }));

  it("rejects `done` with the error of a significant service that failed with no restart to come", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      const boom = new Error("boom");
      supervisor.add("server", untilAborted);
      supervisor.add("job", failsAfter(50, boom), { significant: true, restartPolicy: "never" });
      await supervisor.start();
      assert.equal(await outcomeOf(time, supervisor.done), boom);
      assert.equal(supervisor.state, "failed");
      assert.equal(supervisor.status()[0]!.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("does not count a failure that will be restarted; the completion after it counts", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        autoShutdown: "any_significant",
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const log = recordEvents(supervisor);
      let runs = 0;
      supervisor.add(
        "job",
        () => ++runs < 3 ? Promise.reject(new Error(`run ${runs}`)) : Promise.resolve(),
        { significant: true },
      );
      supervisor.add("server", untilAborted);
      await supervisor.start();
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.deepEqual(log, [
        "0 start job#1",
        "0 start server#1",
        "0 exit job#1 failed",
        "0 restart job#2 100",
        "100 start job#2",
        "100 exit job#2 failed",
        "100 restart job#3 200",
        "300 start job#3",
        "300 exit job#3 completed",
        "300 exit server#1 stopped",
      ]);
    }));

  it("counts a service that gave up: `done` rejects with its RestartLimitError", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        autoShutdown: "any_significant",
        backoff: { initialDelay: 10, jitter: 0 },
      });
      const boom = new Error("boom");
      supervisor.add("job", () => Promise.reject(boom), { significant: true, maxRestarts: 2 });
      supervisor.add("server", untilAborted);
      await supervisor.start();
      const error = await outcomeOf(time, supervisor.done);
      assert.ok(error instanceof RestartLimitError);
      assert.equal(error.cause, boom);
      assert.equal(supervisor.status()[1]!.state, "stopped");
    }));

  it("counts a DoNotRestartError as ended by failing", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      const error = new DoNotRestartError("bad config");
      supervisor.add("job", () => Promise.reject(error), { significant: true });
      await supervisor.start();
      assert.equal(await outcomeOf(time, supervisor.done), error);
    }));

  it("ignores a service that is not significant ending", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      supervisor.add("oneshot", completesAfter(10));
      supervisor.add("job", completesAfter(500), { significant: true });
      await supervisor.start();
      await time.tickAsync(100);
      assert.equal(supervisor.state, "running");
      assert.equal(supervisor.status()[0]!.state, "completed");
      await settled(time, supervisor.done);
      assert.equal(time.now, 500);
    }));

  it('"all_significant": waits for the last significant service to end', () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      const log = recordEvents(supervisor);
      supervisor.add("a", completesAfter(100), { significant: true });
      supervisor.add("b", completesAfter(300), { significant: true });
      supervisor.add("server", untilAborted);
      await supervisor.start();
      await time.advanceTo(200);
      assert.equal(supervisor.state, "running");
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.deepEqual(log.slice(3), [
        "100 exit a#1 completed",
        "300 exit b#1 completed",
        "300 exit server#1 stopped",
      ]);
    }));

  it('"all_significant": rejects with the error of the first that failed, once all ended', () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        autoShutdown: "all_significant",
        restartPolicy: "never",
      });
      const first = new Error("first");
      supervisor.add("a", failsAfter(100, first), { significant: true });
      supervisor.add("b", failsAfter(200, new Error("second")), { significant: true });
      supervisor.add("c", completesAfter(300), { significant: true });
      await supervisor.start();
      assert.equal(await outcomeOf(time, supervisor.done), first);
      assert.equal(time.now, 300);
    }));

  it("a significant service restarted with restart() after it ended no longer counts as ended", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      let runs = 0;
      supervisor.add("a", (signal) => ++runs === 1 ? Promise.resolve() : untilAborted(signal), {
        significant: true,
      });
      supervisor.add("b", completesAfter(100), { significant: true });
      await supervisor.start();
      await settled(time, supervisor.restart("a"));
      await time.tickAsync(200);
      assert.equal(supervisor.state, "running");
      assert.equal(supervisor.status()[1]!.state, "completed");
      await supervisor.stop();
    }));

  it("restart() called from the exit listener of the service that ended is refused: the shutdown came first", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      let restarted: Promise<unknown> | undefined;
      supervisor.addEventListener("exit", (e) => {
        if (e.service === "job") restarted = supervisor.restart("job").catch((error) => error);
      });
      supervisor.add("job", completesAfter(10), { significant: true });
      supervisor.add("server", untilAborted);
      await supervisor.start();
      await settled(time, supervisor.done);
      assert.deepEqual(
        await restarted,
        new Error("Cannot restart service 'job' as the supervisor is not running"),
      );
      assert.equal(supervisor.status()[0]!.state, "completed");
      assert.equal(time.countTimers(), 0);
    }));

  it("resolves start() when the work ends while a later service is still starting", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      supervisor.add("job", completesAfter(10), { significant: true });
      supervisor.add("slow", untilAborted, { waitReady: true });
      const started = supervisor.start();
      await settled(time, started);
      await settled(time, supervisor.done);
      assert.equal(time.now, 10);
      assert.equal(supervisor.state, "stopped");
    }));

  for (const strategy of ["one_for_all", "rest_for_one"] as const) {
    it(`"all_significant", ${strategy}: a significant member its group restart stopped for good no longer holds it up`, () =>
      withFakeTime(async (time) => {
        const supervisor = new Supervisor({
          autoShutdown: "all_significant",
          strategy,
          backoff: { initialDelay: 10, jitter: 0 },
        });
        const log = recordEvents(supervisor);
        // "a" never restarts: the group restart "c" makes stops it for good.
        let runs = 0;
        supervisor.add(
          "c",
          (signal) => ++runs === 1 ? failsAfter(20, new Error("c"))(signal) : untilAborted(signal),
        );
        supervisor.add("a", untilAborted, { significant: true, restartPolicy: "never" });
        supervisor.add("b", completesAfter(5), { significant: true });
        await supervisor.start();
        assert.equal(await outcomeOf(time, supervisor.done), "resolved", strategy);
        assert.deepEqual(log.slice(3), [
          "5 exit b#1 completed",
          "20 exit c#1 failed",
          "20 exit a#1 stopped", // the last significant one: the group restart is not made
        ], strategy);
        assert.equal(supervisor.state, "stopped");
        assert.equal(time.countTimers(), 0);
      }));
  }

  it('"all_significant": a significant service whose restart() was abandoned no longer holds it up', () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      let settle!: () => void;
      supervisor.add("a", () => new Promise<void>((resolve) => settle = resolve), {
        significant: true,
        stopTimeout: 100,
      });
      supervisor.add("b", completesAfter(10), { significant: true });
      supervisor.add("server", untilAborted);
      await supervisor.start();
      const restarted = supervisor.restart("a").catch((error: Error) => error.message);
      await time.advanceTo(150);
      assert.equal(
        await restarted,
        "Cannot restart service 'a' as its run did not stop within its stopTimeout",
      );
      assert.equal(supervisor.state, "running"); // "a"'s run is still out there
      settle();
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.deepEqual(supervisor.status().map((s) => s.state), [
        "stopped",
        "completed",
        "stopped",
      ]);
    }));

  it("a plain stop() resolves `done` even after a significant service failed for good", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      supervisor.add("a", failsAfter(10, new Error("a broke")), {
        significant: true,
        restartPolicy: "never",
      });
      supervisor.add("b", untilAborted, { significant: true });
      await supervisor.start();
      await time.advanceTo(20);
      assert.equal(supervisor.status()[0]!.state, "failed");
      await settled(time, supervisor.stop());
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.equal(supervisor.state, "stopped");
    }));

  it("a failure that restart() made good since does not fail the shutdown", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      let runs = 0;
      supervisor.add(
        "a",
        () => ++runs === 1 ? Promise.reject(new Error("run 1")) : Promise.resolve(),
        { significant: true, restartPolicy: "never" },
      );
      supervisor.add("b", completesAfter(100), { significant: true });
      await supervisor.start();
      await time.advanceTo(10);
      await settled(time, supervisor.restart("a"));
      assert.equal(await outcomeOf(time, supervisor.done), "resolved");
      assert.deepEqual(supervisor.status().map((s) => s.state), ["completed", "completed"]);
    }));

  it("refuses add() from the moment the shutdown is decided, as stop() does", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      const refused: string[] = [];
      supervisor.addEventListener("exit", (e) => {
        if (e.service !== "job") return;
        try {
          supervisor.add("late", untilAborted);
        } catch (error) {
          refused.push((error as Error).message);
        }
      });
      supervisor.add("job", completesAfter(10), { significant: true });
      await supervisor.start();
      await settled(time, supervisor.done);
      assert.deepEqual(refused, [`Cannot add service "late" as the supervisor is stopping`]);
      assert.deepEqual(supervisor.status().map((s) => s.name), ["job"]);
    }));

  it('"all_significant": a service not started yet holds it up while start() goes on', () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ autoShutdown: "all_significant" });
      supervisor.add("a", completesAfter(0), { significant: true });
      supervisor.add("gate", (signal, { ready }) => {
        setTimeout(ready, 50);
        return untilAborted(signal);
      }, { waitReady: true });
      supervisor.add("b", completesAfter(10), { significant: true });
      await settled(time, supervisor.start());
      assert.equal(time.now, 50);
      assert.equal(supervisor.status()[0]!.state, "completed");
      assert.equal(supervisor.state, "running");
      await settled(time, supervisor.done);
      assert.equal(time.now, 60);
    }));

  describe("in a tree", () => {
    it("a child supervisor that shut itself down completes its run: its parent's on_failure policy does not restart it", () =>
      withFakeTime(async (time) => {
        const root = new Supervisor();
        const log = recordEvents(root);
        const batch = new Supervisor({ name: "batch", autoShutdown: "any_significant" });
        batch.add("job", failsAfter(100, new Error("boom")), {
          significant: true,
          restartPolicy: "never",
        });
        batch.add("helper", untilAborted);
        root.add(batch);
        root.add("server", untilAborted);
        await root.start();
        await time.tickAsync(100);
        await time.tickAsync(0);
        assert.deepEqual(log.slice(-3), [
          "100 exit batch/job#1 failed",
          "100 exit batch/helper#1 stopped",
          "100 exit batch#1 completed",
        ]);
        assert.equal(root.state, "running");
        assert.deepEqual(root.status().map((s) => [s.name, s.state]), [
          ["batch", "completed"],
          ["server", "running"],
        ]);
        await root.stop();
        assert.equal(time.countTimers(), 0);
      }));

    it("a significant child supervisor that shut itself down shuts its parent down too", () =>
      withFakeTime(async (time) => {
        const root = new Supervisor({ autoShutdown: "any_significant" });
        const batch = new Supervisor({ name: "batch", autoShutdown: "all_significant" });
        batch.add("a", completesAfter(100), { significant: true });
        batch.add("b", completesAfter(200), { significant: true });
        root.add(batch, { significant: true });
        root.add("server", untilAborted);
        await root.start();
        assert.equal(await outcomeOf(time, root.done), "resolved");
        assert.equal(time.now, 200);
        assert.equal(root.state, "stopped");
      }));
  });

  describe("options", () => {
    it("refuses significant while autoShutdown is never, naming both", () => {
      const supervisor = new Supervisor();
      assert.throws(() => supervisor.add("job", () => Promise.resolve(), { significant: true }), {
        name: "RangeError",
        message:
          `Cannot add service "job" as 'significant' must be false while 'autoShutdown' is "never": current value is true`,
      });
      assert.deepEqual(supervisor.status(), []);
    });

    it("refuses a significant service whose policy is always, wherever the policy comes from", () => {
      const message =
        `Cannot add service "job" as 'significant' must be false for a service whose restart policy is "always", as it never ends: current value is true`;
      const own = new Supervisor({ autoShutdown: "any_significant" });
      assert.throws(
        () =>
          own.add("job", () => Promise.resolve(), { significant: true, restartPolicy: "always" }),
        { name: "RangeError", message },
      );
      const inherited = new Supervisor({
        autoShutdown: "any_significant",
        restartPolicy: "always",
      });
      assert.throws(
        () => inherited.add("job", () => Promise.resolve(), { significant: true }),
        { name: "RangeError", message },
      );
      const service = {
        name: "job",
        restartPolicy: "always" as const,
        run: () => Promise.resolve(),
      };
      assert.throws(() => own.add(service, { significant: true }), { name: "RangeError", message });
    });

    it("checks the types and values", () => {
      assert.throws(() => new Supervisor({ autoShutdown: "any" as never }), {
        name: "RangeError",
        message:
          `Cannot create supervisor as 'autoShutdown' must be one of "never", "any_significant", "all_significant": current value is "any"`,
      });
      const supervisor = new Supervisor({ autoShutdown: "any_significant" });
      assert.throws(
        () => supervisor.add("job", () => Promise.resolve(), { significant: 1 as never }),
        {
          name: "TypeError",
          message:
            `Cannot add service "job" as 'significant' must be a boolean: current value is 1`,
        },
      );
      assert.throws(() => new Supervisor({ significant: true } as never), {
        name: "TypeError",
        message:
          `Cannot create supervisor as 'significant' is not an option of a supervisor: it is one of a service, given to add()`,
      });
    });
  });
});
