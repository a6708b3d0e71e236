import { test } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "@janus/supervisor";

// The mock clock's tick() is synchronous: a real setImmediate lets the run's promises settle.
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("the feed is restarted after 100 ms, then 200 ms, and stops cleanly", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 }); // reset when the test ends
  const supervisor = new Supervisor({ backoff: { initialDelay: 100, jitter: 0 } });
  const log = [];
  supervisor.addEventListener("start", (e) => log.push(`${Date.now()} ms: run #${e.attempt}`));
  supervisor.addEventListener("restart", (e) => log.push(`restart in ${e.delay} ms`));
  supervisor.add("feed", async (signal, { attempt }) => {
    if (attempt <= 2) throw new Error("connection reset");
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  });

  await supervisor.start(); // run #1 fails at once: its restart waits on a 100 ms timer
  t.mock.timers.tick(100); // run #2 starts in that timer's callback, and fails
  await settle(); // its failure is handled: the next restart waits on a 200 ms timer
  t.mock.timers.tick(200);
  assert.deepEqual(log, [
    "0 ms: run #1",
    "restart in 100 ms",
    "100 ms: run #2",
    "restart in 200 ms",
    "300 ms: run #3",
  ]);
  assert.equal(supervisor.status()[0]?.state, "running");
  assert.deepEqual(await supervisor.stop(), { stopped: ["feed"], timedOut: [] });
});
