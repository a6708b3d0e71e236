import { afterEach, beforeEach, expect, jest, test } from "bun:test";
import { Supervisor } from "@janus/supervisor";

// Bun fakes setTimeout, setInterval and Date, not setImmediate: it lets the run's promises settle.
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
});
afterEach(() => {
  jest.useRealTimers();
});

test("the feed is restarted after 100 ms, then 200 ms, and stops cleanly", async () => {
  const supervisor = new Supervisor({ backoff: { initialDelay: 100, jitter: 0 } });
  const log: string[] = [];
  supervisor.addEventListener("start", (e) => log.push(`${Date.now()} ms: run #${e.attempt}`));
  supervisor.addEventListener("restart", (e) => log.push(`restart in ${e.delay} ms`));
  supervisor.add("feed", async (signal, { attempt }) => {
    if (attempt <= 2) throw new Error("connection reset");
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  });

  await supervisor.start(); // run #1 fails at once: its restart waits on a 100 ms timer
  jest.advanceTimersByTime(100); // run #2 starts in that timer's callback, and fails
  await settle(); // its failure is handled: the next restart waits on a 200 ms timer
  jest.advanceTimersByTime(200);
  expect(log).toEqual([
    "0 ms: run #1",
    "restart in 100 ms",
    "100 ms: run #2",
    "restart in 200 ms",
    "300 ms: run #3",
  ]);
  expect(supervisor.status()[0]?.state).toBe("running");
  expect(await supervisor.stop()).toEqual({ stopped: ["feed"], timedOut: [] });
  expect(jest.getTimerCount()).toBe(0); // nothing left behind
});
