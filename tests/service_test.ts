// The Rust seed's four tests, ported, plus the service contract around them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type RestartPolicy, type Service, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { recordEvents, untilAborted } from "./_log.ts";

describe("Service", () => {
  it("has on_failure as its default restart policy: a completed run is not restarted, a failed one is", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("completes", () => {});
      supervisor.add("fails", () => {
        throw new Error("boom");
      });
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, [
        "0 start completes#1",
        "0 start fails#1",
        "0 exit completes#1 completed",
        "0 exit fails#1 failed",
        "0 restart fails#2 1000",
      ]);
      assert.equal(supervisor.status()[0]?.state, "completed");
      assert.equal(supervisor.status()[1]?.state, "backing_off");
      await supervisor.stop();
    }));

  it("accepts exactly the policies 'always', 'on_failure' and 'never'", () => {
    const policies: RestartPolicy[] = ["always", "on_failure", "never"];
    const supervisor = new Supervisor();
    for (const policy of policies) {
      supervisor.add({ name: policy, restartPolicy: policy, run() {} });
    }
    assert.deepEqual(supervisor.status().map((s) => s.name), ["always", "on_failure", "never"]);
    for (const wrong of ["OnFailure", "ALWAYS", "on-failure", ""]) {
      assert.throws(
        () =>
          supervisor.add({ name: `x${wrong}`, restartPolicy: wrong as RestartPolicy, run() {} }),
        {
          name: "RangeError",
          message: `Cannot add service "x${wrong}" as 'service.restartPolicy' must be one of ` +
            `"always", "on_failure", "never": current value is "${wrong}"`,
        },
      );
    }
    assert.equal(supervisor.status().length, 3);
  });

  it("runs a dummy service once, which returns cleanly when cancelled", () =>
    withFakeTime(async (time) => {
      let runs = 0;
      let seen: AbortSignal | undefined;
      const dummy: Service = {
        name: "dummy",
        async run(signal) {
          runs++;
          seen = signal;
          await untilAborted(signal);
        },
      };
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add(dummy);
      await supervisor.start();
      await time.tickAsync(10_000);
      assert.equal(runs, 1);
      assert.equal(seen?.aborted, false);
      assert.deepEqual(await supervisor.stop(), { stopped: ["dummy"], timedOut: [] });
      assert.equal(seen?.aborted, true);
      assert.deepEqual(log, ["0 start dummy#1", "10000 exit dummy#1 stopped"]);
      assert.deepEqual(supervisor.status(), [
        { name: "dummy", state: "stopped", attempt: 1, restarts: 0, ready: false },
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("is known by its name in status and events", async () => {
    const supervisor = new Supervisor();
    const names: string[] = [];
    supervisor.addEventListener("start", (e) => names.push(e.service));
    supervisor.add({ name: "janus-feed", run: untilAborted });
    await supervisor.start();
    assert.deepEqual(names, ["janus-feed"]);
    assert.equal(supervisor.status()[0]?.name, "janus-feed");
    await supervisor.stop();
  });

  it("runs the same service object on every restart, so its state lives across runs", () =>
    withFakeTime(async (time) => {
      class Counter implements Service {
        readonly name = "counter";
        readonly restartPolicy = "always" as const;
        runs = 0;
        attempts: number[] = [];
        run(_signal: AbortSignal, context: { attempt: number }): void {
          this.runs++;
          this.attempts.push(context.attempt);
        }
      }
      const counter = new Counter();
      const supervisor = new Supervisor({
        backoff: { initialDelay: 10, multiplier: 1, jitter: 0 },
      });
      supervisor.add(counter);
      await supervisor.start();
      for (let i = 0; i < 3; i++) await time.tickAsync(10);
      assert.equal(counter.runs, 4);
      assert.deepEqual(counter.attempts, [1, 2, 3, 4]);
      await supervisor.stop();
    }));

  it("calls run as a method of its service, with the signal and the run context", async () => {
    const supervisor = new Supervisor();
    let self: unknown;
    let args: unknown[] = [];
    const service = {
      name: "method",
      run(this: unknown, ...given: unknown[]) {
        self = this;
        args = given;
      },
    };
    supervisor.add(service as Service);
    await supervisor.start();
    assert.equal(self, service);
    assert.equal(args.length, 2);
    assert.ok(args[0] instanceof AbortSignal);
    assert.equal((args[1] as { attempt: number }).attempt, 1);
    assert.equal(typeof (args[1] as { ready: unknown }).ready, "function");
    await supervisor.stop();
  });
});
