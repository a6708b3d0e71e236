import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Strategy, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failAfter, failsFirst, recordEvents, untilAborted } from "./_log.ts";

/** Three children where the middle one fails 100 ms into its first run; the log until 5 s. */
async function threeChildren(strategy: Strategy, options: { neverC?: boolean } = {}) {
  let result: { log: string[]; status: string[]; reasons: string[] } | undefined;
  await withFakeTime(async (time) => {
    const supervisor = new Supervisor({ strategy, backoff: { jitter: 0 } });
    const log = recordEvents(supervisor);
    const reasons: string[] = [];
    const child = (name: string) => async (signal: AbortSignal) => {
      await untilAborted(signal);
      reasons.push(`${name}: ${(signal.reason as Error).message}`);
    };
    supervisor.add("a", child("a"));
    supervisor.add(
      "b",
      failsFirst(100, "b broke"),
    );
    supervisor.add("c", child("c"), options.neverC ? { restartPolicy: "never" } : {});
    await supervisor.start();
    for (let t = 0; t < 5000; t += 100) await time.tickAsync(100);
    const status = supervisor.status().map((s) =>
      `${s.name} ${s.state} #${s.attempt} restarts=${s.restarts}`
    );
    await supervisor.stop();
    assert.equal(time.countTimers(), 0);
    result = { log: log.filter((line) => !line.startsWith("0 start")), status, reasons };
  });
  return result!;
}

describe("Supervisor strategies", () => {
  it("one_for_one restarts only the child that failed", async () => {
    const { log, status } = await threeChildren("one_for_one");
    assert.deepEqual(log.filter((line) => !line.startsWith("5000")), [
      "100 exit b#1 failed",
      "100 restart b#2 1000",
      "1100 start b#2",
    ]);
    assert.deepEqual(status, [
      "a running #1 restarts=0",
      "b running #2 restarts=1",
      "c running #1 restarts=0",
    ]);
  });

  it("one_for_all stops every child in reverse order, then starts all in order after the delay", async () => {
    const { log, status, reasons } = await threeChildren("one_for_all");
    assert.deepEqual(log.filter((line) => !line.startsWith("5000")), [
      "100 exit b#1 failed",
      "100 exit c#1 stopped",
      "100 exit a#1 stopped",
      "100 restart a#2 1000",
      "100 restart b#2 1000",
      "100 restart c#2 1000",
      "1100 start a#2",
      "1100 start b#2",
      "1100 start c#2",
    ]);
    assert.deepEqual(status, [
      "a running #2 restarts=1",
      "b running #2 restarts=1",
      "c running #2 restarts=1",
    ]);
    assert.deepEqual(reasons.slice(0, 2), [
      "c: Restarting with sibling 'b' (one_for_all)",
      "a: Restarting with sibling 'b' (one_for_all)",
    ]);
  });

  it("rest_for_one restarts the failed child and those added after it", async () => {
    const { log, status } = await threeChildren("rest_for_one");
    assert.deepEqual(log.filter((line) => !line.startsWith("5000")), [
      "100 exit b#1 failed",
      "100 exit c#1 stopped",
      "100 restart b#2 1000",
      "100 restart c#2 1000",
      "1100 start b#2",
      "1100 start c#2",
    ]);
    assert.deepEqual(status, [
      "a running #1 restarts=0",
      "b running #2 restarts=1",
      "c running #2 restarts=1",
    ]);
  });

  it("stops a child with policy 'never' with its group, and does not restart it", async () => {
    const { log, status } = await threeChildren("one_for_all", { neverC: true });
    assert.deepEqual(log.filter((line) => !line.startsWith("5000")), [
      "100 exit b#1 failed",
      "100 exit c#1 stopped",
      "100 exit a#1 stopped",
      "100 restart a#2 1000",
      "100 restart b#2 1000",
      "1100 start a#2",
      "1100 start b#2",
    ]);
    assert.deepEqual(status, [
      "a running #2 restarts=1",
      "b running #2 restarts=1",
      "c stopped #1 restarts=0",
    ]);
  });

  it("applies the failed child's backoff and restart limit to its group", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        strategy: "one_for_all",
        backoff: { jitter: 0 },
        maxRestarts: 2,
      });
      const log = recordEvents(supervisor);
      supervisor.add("steady", untilAborted);
      supervisor.add("flaky", (signal) => failAfter(10, signal, "flaky broke"));
      await supervisor.start();
      while (await time.nextAsync());
      assert.deepEqual(log.filter((line) => line.includes("restart") || line.includes("giveup")), [
        "10 restart steady#2 1000",
        "10 restart flaky#2 1000",
        "1020 restart steady#3 2000",
        "1020 restart flaky#3 2000",
        "3030 giveup flaky",
      ]);
      assert.deepEqual(
        supervisor.status().map((s) => `${s.name} ${s.state} restarts=${s.restarts}`),
        [
          "steady running restarts=2",
          "flaky failed restarts=2",
        ],
      );
      await supervisor.stop();
    }));
});
