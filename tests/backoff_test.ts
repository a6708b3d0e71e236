import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor, type SupervisorOptions } from "../mod.ts";
import { type FakeTime, withFakeTime } from "./_fake_time.ts";
import { failAfter, recordEvents } from "./_log.ts";

/** Supervises one service that fails `failures` times in a row and returns each restart delay. */
async function delaysOf(
  time: FakeTime,
  options: SupervisorOptions,
  failures: number,
): Promise<number[]> {
  const supervisor = new Supervisor({ maxRestarts: Infinity, ...options });
  const delays: number[] = [];
  supervisor.addEventListener("restart", (e) => delays.push(e.delay));
  supervisor.add("flaky", () => Promise.reject(new Error("down")));
  await supervisor.start();
  while (delays.length < failures) {
    await time.tickAsync(0); // the failure is handled, the restart timer is set
    await time.tickAsync(delays.at(-1) ?? 0); // the restart timer fires
  }
  await supervisor.stop();
  assert.equal(time.countTimers(), 0);
  return delays.slice(0, failures);
}

describe("Supervisor backoff", () => {
  it("restarts a failing service after 1s, 2s, 4s … capped at 60s with jitter 0", () =>
    withFakeTime(async (time) => {
      assert.deepEqual(await delaysOf(time, { backoff: { jitter: 0 } }, 10), [
        1000,
        2000,
        4000,
        8000,
        16000,
        32000,
        60000,
        60000,
        60000,
        60000,
      ]);
    }));

  it("follows initialDelay, multiplier and maxDelay", () =>
    withFakeTime(async (time) => {
      const backoff = { initialDelay: 100, multiplier: 3, maxDelay: 5000, jitter: 0 };
      assert.deepEqual(await delaysOf(time, { backoff }, 6), [100, 300, 900, 2700, 5000, 5000]);
    }));

  it("never overflows to Infinity or NaN after very many restarts", () =>
    withFakeTime(async (time) => {
      const delays = await delaysOf(time, {
        backoff: { maxDelay: 1000, multiplier: 10, jitter: 0 },
      }, 400);
      assert.deepEqual(new Set(delays.slice(1)), new Set([1000]));
    }));

  it("restarts at once, on one timer each time, with initialDelay 0", () =>
    withFakeTime(async (time) => {
      assert.deepEqual(await delaysOf(time, { backoff: { initialDelay: 0 } }, 4), [0, 0, 0, 0]);
    }));

  it("shortens each delay by jitter × random(), in whole ms: ⌊min(cap, base × 2^n) × (1 − jitter × random())⌋", () =>
    withFakeTime(async (time) => {
      const randoms = [0, 0.5, 0.75, 0.999];
      const random = () => randoms.shift() ?? 0;
      assert.deepEqual(
        await delaysOf(time, { backoff: { jitter: 0.5 }, random }, 4),
        [1000, 1500, 2500, 4003], // 8000 × (1 − 0.5 × 0.999) is 4003.99… in floating point
      );
    }));

  it("keeps every delay within [ceiling × (1 − jitter), ceiling] for the default jitter 0.2", () =>
    withFakeTime(async (time) => {
      const extremes = [0, 0.9999999, 1, 0.5, 0, 0.9999999, 0.25, 0.75, 0.1, 0.9];
      const randoms = [...extremes];
      const delays = await delaysOf(time, { random: () => randoms.shift()! }, extremes.length);
      const ceilings = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000];
      delays.forEach((delay, i) => {
        assert.ok(delay <= ceilings[i]!, `delay ${i} = ${delay} exceeds ${ceilings[i]}`);
        assert.ok(delay >= ceilings[i]! * 0.8, `delay ${i} = ${delay} below 80% of ${ceilings[i]}`);
        assert.equal(delay, Math.floor(ceilings[i]! * (1 - 0.2 * extremes[i]!)));
        assert.ok(Number.isInteger(delay), `delay ${i} = ${delay} is not whole milliseconds`);
      });
    }));

  it("clamps a random() that strays outside [0, 1] so delays stay in bounds", () =>
    withFakeTime(async (time) => {
      const randoms = [-5, 7, NaN];
      assert.deepEqual(
        await delaysOf(time, { random: () => randoms.shift()! }, 3),
        [1000, 2000 * 0.8, 4000],
      );
    }));

  it("resets the backoff after a run that lasted resetAfter (2 × maxDelay by default)", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        backoff: { maxDelay: 8000, jitter: 0 },
        maxRestarts: Infinity,
      });
      const log = recordEvents(supervisor);
      // Runs fail after 10 ms, but run 4 lasts 15999 ms (under 16000) and run
      // 5 exactly 16000 ms, which resets the backoff.
      const lifetimes: Record<number, number> = { 4: 15_999, 5: 16_000 };
      supervisor.add("svc", (signal, { attempt }) => failAfter(lifetimes[attempt] ?? 10, signal));
      await supervisor.start();
      for (let i = 0; i < 12; i++) await time.nextAsync();
      await supervisor.stop();
      assert.deepEqual(log.filter((line) => line.includes("restart")), [
        "10 restart svc#2 1000",
        "1020 restart svc#3 2000",
        "3030 restart svc#4 4000",
        "23029 restart svc#5 8000",
        "47029 restart svc#6 1000",
        "48039 restart svc#7 2000",
      ]);
    }));

  it("reads resetAfter from the options, where given", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 }, resetAfter: 500 });
      const delays: number[] = [];
      supervisor.addEventListener("restart", (e) => delays.push(e.delay));
      supervisor.add("svc", (signal, { attempt }) => failAfter(attempt === 3 ? 500 : 10, signal));
      await supervisor.start();
      for (let i = 0; i < 8; i++) {
        await time.nextAsync();
      }
      await supervisor.stop();
      assert.deepEqual(delays.slice(0, 4), [1000, 2000, 1000, 2000]);
    }));

  it("waits on exactly one timer per restart and starts the run inside that timer's callback", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      supervisor.add("svc", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.equal(time.countTimers(), 1);
      assert.equal(supervisor.status()[0]?.state, "backing_off");
      time.tick(999);
      assert.equal(supervisor.status()[0]?.attempt, 1);
      time.tick(1); // synchronous: no microtask runs between the timer and this line
      assert.deepEqual(supervisor.status()[0], {
        name: "svc",
        state: "running",
        attempt: 2,
        restarts: 1,
        ready: false,
        lastError: new Error("x"),
      });
      assert.equal(time.countTimers(), 0);
      await supervisor.stop();
    }));
});
