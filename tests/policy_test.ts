import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DoNotRestartError, type RestartPolicy, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { recordEvents } from "./_log.ts";

const OPTIONS = { backoff: { initialDelay: 100, multiplier: 1, jitter: 0 } } as const;

/** How one run that ends with `end` is followed under `policy`: the event log after 1 s. */
function outcomeOf(policy: RestartPolicy, end: () => unknown): Promise<string[]> {
  let log: string[] = [];
  return withFakeTime(async (time) => {
    const supervisor = new Supervisor({ ...OPTIONS, restartPolicy: policy });
    log = recordEvents(supervisor);
    supervisor.add(
      "svc",
      (_signal, { attempt }) => attempt === 1 ? end() as void : new Promise(() => {}),
    );
    await supervisor.start();
    await time.tickAsync(0);
    await time.tickAsync(1000);
    log.push(`state ${supervisor.status()[0]?.state}`);
    supervisor.stop();
    await time.tickAsync(5000);
  }).then(() =>
    log.filter((line) => !line.includes("stoptimeout") && !line.includes("#2 stopped"))
  );
}

const complete = () => undefined;
const resolve = () => Promise.resolve();
const fail = () => Promise.reject(new Error("x"));
const throwSync = () => {
  throw new Error("x");
};
const rejectNonError = () => Promise.reject("a string");
const throwUndefined = () => {
  throw undefined;
};
const RESTARTED = [
  "0 start svc#1",
  "0 exit svc#1 %s",
  "0 restart svc#2 100",
  "100 start svc#2",
  "state running",
];
const restarted = (outcome: string) => RESTARTED.map((line) => line.replace("%s", outcome));

describe("Supervisor restart policies", () => {
  it("'always' restarts after completion and after failure", async () => {
    assert.deepEqual(await outcomeOf("always", complete), restarted("completed"));
    assert.deepEqual(await outcomeOf("always", resolve), restarted("completed"));
    assert.deepEqual(await outcomeOf("always", fail), restarted("failed"));
  });

  it("'on_failure' restarts after failure only; a completed service stays completed", async () => {
    assert.deepEqual(await outcomeOf("on_failure", fail), restarted("failed"));
    assert.deepEqual(await outcomeOf("on_failure", throwSync), restarted("failed"));
    assert.deepEqual(await outcomeOf("on_failure", complete), [
      "0 start svc#1",
      "0 exit svc#1 completed",
      "state completed",
    ]);
  });

  it("'never' restarts neither: failed stays failed, completed stays completed", async () => {
    assert.deepEqual(await outcomeOf("never", fail), [
      "0 start svc#1",
      "0 exit svc#1 failed",
      "state failed",
    ]);
    assert.deepEqual(await outcomeOf("never", resolve), [
      "0 start svc#1",
      "0 exit svc#1 completed",
      "state completed",
    ]);
  });

  it("counts sync throws, non-Error rejections and a thrown undefined as failures", async () => {
    assert.deepEqual(await outcomeOf("on_failure", throwSync), restarted("failed"));
    assert.deepEqual(await outcomeOf("on_failure", rejectNonError), restarted("failed"));
    assert.deepEqual(await outcomeOf("on_failure", throwUndefined), restarted("failed"));
  });

  it("never restarts after DoNotRestartError, whatever the policy", async () => {
    for (const policy of ["always", "on_failure", "never"] as const) {
      assert.deepEqual(
        await outcomeOf(policy, () => Promise.reject(new DoNotRestartError("bad config"))),
        ["0 start svc#1", "0 exit svc#1 failed", "state failed"],
        policy,
      );
    }
  });

  it("keeps what a failed run threw as lastError, and carries it on the exit event", async () => {
    const supervisor = new Supervisor({ restartPolicy: "never" });
    const errors: unknown[] = [];
    supervisor.addEventListener(
      "exit",
      (e) => errors.push("error" in e ? e.error : "no error field"),
    );
    supervisor.add("string", () => Promise.reject("a string"));
    supervisor.add("undefined", () => Promise.reject(undefined));
    supervisor.add("ok", () => {});
    await supervisor.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(errors, ["a string", undefined, "no error field"]);
    assert.deepEqual(supervisor.status(), [
      {
        name: "string",
        state: "failed",
        attempt: 1,
        restarts: 0,
        ready: false,
        lastError: "a string",
      },
      {
        name: "undefined",
        state: "failed",
        attempt: 1,
        restarts: 0,
        ready: false,
        lastError: undefined,
      },
      { name: "ok", state: "completed", attempt: 1, restarts: 0, ready: false },
    ]);
    assert.ok("lastError" in supervisor.status()[1]!);
    await supervisor.stop();
  });

  it("takes the policy from ServiceOptions, then the service, then SupervisorOptions, then 'on_failure'", async () => {
    const policyOf = async (
      fromOptions: RestartPolicy | undefined,
      fromService: RestartPolicy | undefined,
      fromSupervisor: RestartPolicy | undefined,
    ) => {
      const supervisor = new Supervisor(fromSupervisor ? { restartPolicy: fromSupervisor } : {});
      const service = {
        name: "svc",
        run: () => {},
        ...(fromService ? { restartPolicy: fromService } : {}),
      };
      supervisor.add(service, fromOptions ? { restartPolicy: fromOptions } : {});
      await supervisor.start();
      await new Promise((resolve) => setTimeout(resolve, 0));
      const state = supervisor.status()[0]?.state;
      await supervisor.stop();
      // A completed run: 'always' restarts (backing_off), the others stay completed.
      return state === "backing_off" ? "always" : "not always";
    };
    assert.equal(await policyOf("always", "never", "never"), "always");
    assert.equal(await policyOf("never", "always", "always"), "not always");
    assert.equal(await policyOf(undefined, "always", "never"), "always");
    assert.equal(await policyOf(undefined, "never", "always"), "not always");
    assert.equal(await policyOf(undefined, undefined, "always"), "always");
    assert.equal(await policyOf(undefined, undefined, undefined), "not always");
  });
});
