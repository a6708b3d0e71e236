import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EscalateError, type RestartLimitError, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failAfter, failsFirst, forever, recordEvents, untilAborted } from "./_log.ts";

describe("Supervision trees", () => {
  it("run a child supervisor as a service, with its events reaching the parent as paths", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds", backoff: { jitter: 0 } });
      feeds.add(
        "binance",
        failsFirst(50),
      );
      feeds.add("kraken", untilAborted);
      const root = new Supervisor({ name: "root" });
      const log = recordEvents(root);
      const local = recordEvents(feeds);
      root.add("db", untilAborted).add(feeds);
      await root.start();
      await time.tickAsync(50);
      await time.tickAsync(1000);
      assert.deepEqual(log, [
        "0 start db#1",
        "0 start feeds#1",
        "0 start feeds/binance#1",
        "0 start feeds/kraken#1",
        "0 ready feeds#1", // a child supervisor is ready once its children have started
        "50 exit feeds/binance#1 failed",
        "50 restart feeds/binance#2 1000",
        "1050 start feeds/binance#2",
      ]);
      assert.deepEqual(local, [
        "0 start binance#1",
        "0 start kraken#1",
        "50 exit binance#1 failed",
        "50 restart binance#2 1000",
        "1050 start binance#2",
      ]);
      const [, feedsStatus] = root.status();
      assert.equal(feedsStatus?.state, "running");
      assert.deepEqual(feedsStatus?.children?.map((s) => `${s.name} #${s.attempt}`), [
        "binance #2",
        "kraken #1",
      ]);
      assert.equal(feeds.state, "running");
      assert.deepEqual(await root.stop(), { stopped: ["feeds", "db"], timedOut: [] });
      assert.deepEqual(log.slice(8), [
        "1050 exit feeds/kraken#1 stopped",
        "1050 exit feeds/binance#2 stopped",
        "1050 exit feeds#1 stopped",
        "1050 exit db#1 stopped",
      ]);
      assert.equal(feeds.state, "stopped");
      assert.equal(time.countTimers(), 0);
    }));

  it("escalate a child that gives up to a parent that restarts the whole subtree with backoff", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({
        name: "feeds",
        escalate: true,
        maxRestarts: 1,
        backoff: { initialDelay: 100, jitter: 0 },
      });
      const runs: string[] = [];
      feeds.add("binance", (signal, { attempt }) => {
        runs.push(`${Date.now()} binance#${attempt}`);
        return failAfter(10, signal, `binance run ${attempt}`);
      });
      feeds.add("kraken", (signal, { attempt }) => {
        runs.push(`${Date.now()} kraken#${attempt}`);
        return untilAborted(signal);
      });
      const root = new Supervisor({
        name: "root",
        backoff: { initialDelay: 1000, jitter: 0 },
        maxRestarts: 1,
      });
      const log = recordEvents(root);
      const escalations: unknown[] = [];
      root.addEventListener(
        "escalate",
        (e) => escalations.push(`${Date.now()} ${e.service}: ${(e.error as Error).message}`),
      );
      root.add(feeds);
      await root.start();
      while (await time.nextAsync());
      // feeds: binance fails at 10, restarts at 110, fails at 120: limit 1 → gives up, escalates.
      // root restarts the subtree after 1000 ms (at 1120), where it happens again (1240);
      // root's own limit of 1 is then crossed, and root (no escalate) leaves feeds failed.
      assert.deepEqual(runs, [
        "0 binance#1",
        "0 kraken#1",
        "110 binance#2",
        "1120 binance#3",
        "1120 kraken#2",
        "1230 binance#4",
      ]);
      assert.deepEqual(
        log.filter((l) => /feeds#|giveup|restart feeds /.test(l) && !l.includes("ready")),
        [
          "0 start feeds#1",
          "120 giveup feeds/binance",
          "120 exit feeds#1 failed",
          "120 restart feeds#2 1000",
          "1120 start feeds#2",
          "1240 giveup feeds/binance",
          "1240 exit feeds#2 failed",
          "1240 giveup feeds",
        ],
      );
      // Restart counts add up over the runs of the subtree.
      assert.deepEqual(escalations, [
        "120 feeds/binance: Service 'binance' gave up after 1 restart",
        "1240 feeds/binance: Service 'binance' gave up after 2 restarts",
      ]);
      const [feedsStatus] = root.status();
      assert.equal(feedsStatus?.state, "failed");
      const error = feedsStatus?.lastError as RestartLimitError;
      assert.equal(error.service, "feeds");
      assert.equal((error.cause as RestartLimitError).service, "binance");
      assert.equal(((error.cause as RestartLimitError).cause as Error).message, "binance run 4");
      await root.stop();
      assert.equal(time.countTimers(), 0);
    }));

  it("reject done when an escalation reaches the top, after stopping every child in reverse order", () =>
    withFakeTime(async (time) => {
      const top = new Supervisor({ name: "top", escalate: true });
      const log = recordEvents(top);
      const reasons: string[] = [];
      for (const name of ["a", "b"]) {
        top.add(name, async (signal) => {
          await untilAborted(signal);
          reasons.push(
            `${name}: ${(signal.reason as DOMException).name} ${(signal.reason as Error).message}`,
          );
        });
      }
      top.add("c", async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new EscalateError("disk full");
      });
      let outcome: unknown;
      top.done.then(() => outcome = "resolved", (error) => outcome = error);
      await top.start();
      await time.tickAsync(10);
      await time.tickAsync(0);
      assert.ok(outcome instanceof EscalateError);
      assert.equal((outcome as Error).message, "disk full");
      assert.deepEqual(log.slice(3), [
        "10 exit c#1 failed",
        "10 exit b#1 stopped",
        "10 exit a#1 stopped",
        "10 escalate c",
      ]);
      assert.deepEqual(reasons, [
        "b: AbortError Supervisor 'top' is escalating: 'c' failed",
        "a: AbortError Supervisor 'top' is escalating: 'c' failed",
      ]);
      assert.equal(top.state, "failed");
      assert.deepEqual(await top.stop(), { stopped: ["b", "a"], timedOut: [] });
      await assert.rejects(top.start(), {
        message: "Cannot start supervisor 'top' as it is stopped",
      });
      assert.equal(time.countTimers(), 0);
    }));

  it("treat an EscalateError as a plain failure without escalate", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("c", () => Promise.reject(new EscalateError("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(log, ["0 start c#1", "0 exit c#1 failed", "0 restart c#2 1000"]);
      await supervisor.stop();
    }));

  it("never report done's rejection as unhandled when nobody awaits it", () =>
    withFakeTime(async (time) => {
      // The test runners of Deno, Node and Bun fail a test on an unhandled rejection.
      const top = new Supervisor({ escalate: true, maxRestarts: 0 });
      top.add("x", () => Promise.reject(new Error("boom")));
      await top.start();
      await time.tickAsync(0);
      await time.tickAsync(0);
      assert.equal(top.state, "failed");
    }));

  it("stop a three-level tree within shutdownTimeout while one service ignores its signal", () =>
    withFakeTime(async (time) => {
      const leaf = new Supervisor({ name: "leaf" });
      leaf.add("stubborn", forever, { stopTimeout: 60_000 });
      leaf.add("polite", untilAborted);
      const mid = new Supervisor({ name: "mid" });
      mid.add(leaf).add("worker", untilAborted);
      const top = new Supervisor({ name: "top", shutdownTimeout: 2000 });
      const log = recordEvents(top);
      top.add("db", untilAborted).add(mid).add("http", untilAborted);
      await top.start();
      await time.tickAsync(100);
      let report: unknown;
      let settledAt = -1;
      top.stop().then((r) => {
        report = r;
        settledAt = Date.now();
      });
      while (report === undefined && await time.nextAsync());
      await time.tickAsync(0);
      assert.deepEqual(report, {
        stopped: ["http", "mid", "db"],
        timedOut: ["mid/leaf/stubborn"],
      });
      assert.ok(settledAt >= 2100 && settledAt <= 2101, `stop() settled at ${settledAt}`);
      assert.deepEqual(log.filter((l) => !l.includes("start") && !l.includes("ready")), [
        "100 exit http#1 stopped",
        "100 exit mid/worker#1 stopped",
        "100 exit mid/leaf/polite#1 stopped",
        "2100 stoptimeout mid/leaf/stubborn",
        "2100 exit mid/leaf#1 stopped",
        "2100 exit mid#1 stopped",
        "2100 exit db#1 stopped",
      ]);
      assert.equal(time.countTimers(), 0);
    }));

  it("refuse to nest a supervisor twice, into itself, or into its descendant", () => {
    const a = new Supervisor({ name: "a" });
    const b = new Supervisor({ name: "b" });
    const c = new Supervisor({ name: "c" });
    a.add(b);
    b.add(c);
    assert.throws(() => c.add(a), {
      message: `Cannot add service "a" as it is this supervisor or its ancestor`,
    });
    assert.throws(() => a.add(a), {
      message: `Cannot add service "a" as it is this supervisor or its ancestor`,
    });
    assert.throws(() => new Supervisor().add(c), {
      message: `Cannot add service "c" as it already has a parent supervisor`,
    });
  });

  it("give a child supervisor its own shutdownTimeout as stopTimeout", () =>
    withFakeTime(async (time) => {
      const child = new Supervisor({ name: "child", shutdownTimeout: 50_000 });
      child.add("stubborn", forever, { stopTimeout: 40_000 });
      const top = new Supervisor({ shutdownTimeout: 100_000 });
      top.add(child);
      await top.start();
      let report: unknown;
      top.stop().then((r) => report = r);
      while (report === undefined && await time.nextAsync());
      await time.tickAsync(0);
      // The default stopTimeout (5000) would have abandoned the child at 5000.
      assert.deepEqual(report, { stopped: ["child"], timedOut: ["child/stubborn"] });
      assert.equal(time.now, 40_000);
    }));

  it("start a child abandoned by the subtree's last run once it settles", () =>
    withFakeTime(async (time) => {
      const inner = new Supervisor({ name: "inner", escalate: true, maxRestarts: 0 });
      inner.add("x", async (signal) => {
        await untilAborted(signal);
        await new Promise((resolve) => setTimeout(resolve, 2000)); // ignores its signal for 2 s
      }, { stopTimeout: 50 });
      inner.add(
        "esc",
        (_signal, { attempt }) =>
          attempt === 1
            ? new Promise((_, reject) => setTimeout(() => reject(new Error("x")), 10))
            : new Promise(() => {}),
      );
      const root = new Supervisor({ backoff: { initialDelay: 100, jitter: 0 } });
      const log = recordEvents(root);
      root.add(inner);
      await root.start();
      for (let i = 0; i < 20 && time.now < 3000; i++) await time.nextAsync();
      assert.deepEqual(log.filter((l) => l.includes("inner/x")), [
        "0 start inner/x#1",
        "60 stoptimeout inner/x",
        "2010 exit inner/x#1 stopped",
        "2010 start inner/x#2",
      ]);
      assert.equal(inner.status().find((s) => s.name === "x")?.state, "running");
      let stopped = false;
      root.stop().then(() => stopped = true);
      while (!stopped && await time.nextAsync());
    }));

  it("forget a deadline that arrived after a subtree's shutdown when it runs again", () =>
    withFakeTime(async (time) => {
      const inner = new Supervisor({
        name: "inner",
        escalate: true,
        maxRestarts: 0,
        shutdownTimeout: 1000,
      });
      inner.add(
        "x",
        (signal) => untilAborted(signal).then(() => new Promise((r) => setTimeout(r, 10))),
      );
      inner.add(
        "esc",
        (_signal, { attempt }) =>
          attempt === 1 ? Promise.reject(new Error("x")) : new Promise(() => {}),
        { stopTimeout: 1 },
      );
      const root = new Supervisor();
      root.addEventListener("escalate", () => void root.restart("inner").catch(() => {}));
      root.add(inner, { maxRestarts: Infinity });
      await root.start();
      await time.advanceTo(10_000);
      let report: unknown;
      root.stop().then((r) => report = r);
      while (report === undefined && await time.nextAsync());
      assert.deepEqual(report, { stopped: ["inner"], timedOut: ["inner/esc"] });
    }));

  it("run a supervisor again after its run settled, starting the children afresh", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor({ name: "sub" });
      const log = recordEvents(supervisor);
      supervisor.add("a", untilAborted);
      for (let i = 0; i < 2; i++) {
        const controller = new AbortController();
        const run = supervisor.run(controller.signal);
        await Promise.resolve();
        assert.equal(supervisor.state, "running");
        controller.abort("enough");
        await run;
        assert.equal(supervisor.state, "stopped");
      }
      assert.deepEqual(log, [
        "0 start a#1",
        "0 exit a#1 stopped",
        "0 start a#2",
        "0 exit a#2 stopped",
      ]);
    }));
});
