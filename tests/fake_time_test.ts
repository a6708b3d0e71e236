// FakeTime's way of moving time (flush microtasks once, then fire the due
// timers), step by step through the default backoff, on the FakeTime
// stand-in (same faked globals, same tickAsync). The README's own FakeTime
// example, examples/testing/deno_fake_time_test.ts, runs as the
// guides/deno-fake-time step of scripts/test_all.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../mod.ts";
import { FakeTime } from "./_fake_time.ts";

describe("Supervisor under FakeTime", () => {
  it("my flaky service is retried after 1s, 2s, 4s", async () => {
    const time = new FakeTime();
    try {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const delays: number[] = [];
      supervisor.addEventListener("restart", (e) => delays.push(e.delay));
      supervisor.add("flaky", () => Promise.reject(new Error("down")));

      await supervisor.start();
      await time.tickAsync(0); // the failure is handled: restart #2 scheduled in 1000 ms
      await time.tickAsync(1000); // run #2 begins, and fails
      await time.tickAsync(0);
      await time.tickAsync(2000); // run #3
      await time.tickAsync(0);
      assert.deepEqual(delays, [1000, 2000, 4000]);
      assert.equal(supervisor.status()[0]?.attempt, 3);
      await supervisor.stop();
      assert.equal(time.countTimers(), 0);
    } finally {
      time.restore();
    }
  });

  it("uses the timers installed after the module was imported, read at call time", async () => {
    const time = new FakeTime(1_000_000);
    try {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const starts: number[] = [];
      supervisor.addEventListener("start", () => starts.push(Date.now()));
      supervisor.add("flaky", () => Promise.reject(new Error("down")));
      await supervisor.start();
      for (let i = 0; i < 3; i++) await time.nextAsync();
      assert.deepEqual(starts, [1_000_000, 1_001_000, 1_003_000, 1_007_000]);
      await supervisor.stop();
    } finally {
      time.restore();
    }
  });
});
