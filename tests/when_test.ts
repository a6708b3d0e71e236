import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EscalateError, Supervisor } from "../mod.ts";
import { settled, withFakeTime } from "./_fake_time.ts";
import { untilAborted } from "./_log.ts";

/** A supervisor that counts the listeners `when()` adds and removes. */
function countedSupervisor(options?: ConstructorParameters<typeof Supervisor>[0]) {
  const supervisor = new Supervisor(options);
  const listeners = new Set<unknown>();
  const add = supervisor.addEventListener.bind(supervisor);
  const remove = supervisor.removeEventListener.bind(supervisor);
  Object.assign(supervisor, {
    addEventListener(type: string, listener: EventListener, options?: unknown) {
      listeners.add(listener);
      add(type, listener, options as AddEventListenerOptions);
    },
    removeEventListener(type: string, listener: EventListener) {
      listeners.delete(listener);
      remove(type, listener);
    },
  });
  return { supervisor, listeners };
}

describe("Supervisor.when", () => {
  it("resolves with the first event the filter accepts, and leaves no listener", () =>
    withFakeTime(async (time) => {
      const { supervisor, listeners } = countedSupervisor({ backoff: { jitter: 0 } });
      supervisor.add("flaky", () => Promise.reject(new Error("boom")));
      const third = supervisor.when("start", (event) => event.attempt === 3);
      await supervisor.start();
      const event = await settled(time, third);
      assert.deepEqual([event.type, event.service, event.attempt], ["start", "flaky", 3]);
      assert.equal(time.now, 3000); // 1 s, then 2 s of backoff
      assert.equal(listeners.size, 0);
      await supervisor.stop();
    }));

  it("resolves with the first event of the type without a filter, and waits from before start()", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor();
      supervisor.add("a", untilAborted);
      const started = supervisor.when("start");
      await supervisor.start();
      assert.equal((await started).service, "a");
      await supervisor.stop();
    }));

  it("sees a child supervisor's events under their path", () =>
    withFakeTime(async (time) => {
      const root = new Supervisor({ backoff: { jitter: 0, initialDelay: 10 } });
      const sub = new Supervisor({ name: "sub", backoff: { jitter: 0, initialDelay: 10 } });
      let runs = 0;
      sub.add(
        "a",
        (signal) => ++runs < 2 ? Promise.reject(new Error("boom")) : untilAborted(signal),
      );
      root.add(sub);
      const restart = root.when("restart", (e) => e.service === "sub/a");
      await root.start();
      const event = await settled(time, restart);
      assert.deepEqual([event.service, event.attempt, event.delay], ["sub/a", 2, 10]);
      await root.stop();
    }));

  it("rejects when the supervisor stops first, and leaves no listener", () =>
    withFakeTime(async (time) => {
      const { supervisor, listeners } = countedSupervisor();
      supervisor.add("a", untilAborted);
      await supervisor.start();
      const never = supervisor.when("giveup");
      never.catch(() => {});
      await settled(time, supervisor.stop());
      await assert.rejects(never, {
        name: "Error",
        message: "Cannot wait for 'giveup' as supervisor 'supervisor' stopped first",
      });
      assert.equal(listeners.size, 0);
    }));

  it("resolves with an event the shutdown fires, before it rejects for the stop", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("a", untilAborted);
      await supervisor.start();
      const exit = supervisor.when("exit");
      await settled(time, supervisor.stop());
      assert.equal((await exit).outcome, "stopped");
    }));

  it("rejects with the failure as cause when the supervisor fails first; the escalate event still resolves", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ escalate: true });
      const error = new EscalateError("fatal");
      supervisor.add("a", () => Promise.reject(error));
      const ready = supervisor.when("ready");
      const escalate = supervisor.when("escalate");
      ready.catch(() => {});
      await supervisor.start().catch(() => {});
      await settled(time, supervisor.done).catch(() => {});
      await assert.rejects(ready, (e: Error) => {
        assert.equal(e.message, "Cannot wait for 'ready' as supervisor 'supervisor' failed first");
        assert.equal(e.cause, error);
        return true;
      });
      assert.equal((await escalate).error, error);
    }));

  it("rejects at once when the supervisor is stopped already", async () => {
    const supervisor = new Supervisor();
    await supervisor.stop();
    await assert.rejects(supervisor.when("start"), {
      message: "Cannot wait for 'start' as supervisor 'supervisor' is stopped",
    });
  });

  it("rejects with the signal's reason when it aborts, and leaves no listener", () =>
    withFakeTime(async () => {
      const { supervisor, listeners } = countedSupervisor();
      supervisor.add("a", untilAborted);
      await supervisor.start();
      const controller = new AbortController();
      const waiting = supervisor.when("exit", undefined, { signal: controller.signal });
      const reason = new Error("gave up waiting");
      controller.abort(reason);
      await assert.rejects(waiting, reason);
      assert.equal(listeners.size, 0);
      await assert.rejects(
        supervisor.when("exit", undefined, { signal: AbortSignal.abort(reason) }),
        reason,
      );
      assert.equal(listeners.size, 0);
      await supervisor.stop();
    }));

  it("rejects with what the filter throws, and leaves no listener", () =>
    withFakeTime(async () => {
      const { supervisor, listeners } = countedSupervisor();
      supervisor.add("a", untilAborted);
      const thrown = new Error("bad filter");
      const waiting = supervisor.when("start", () => {
        throw thrown;
      });
      await supervisor.start();
      await assert.rejects(waiting, thrown);
      assert.equal(listeners.size, 0);
      assert.equal(supervisor.status()[0]!.state, "running");
      await supervisor.stop();
    }));

  it("lets the filter call back into the supervisor", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0, initialDelay: 10 } });
      supervisor.add("a", untilAborted);
      const restarted = supervisor.when("start", (e) => {
        if (e.attempt === 1) void supervisor.restart("a");
        return e.attempt === 2;
      });
      await supervisor.start();
      assert.equal((await settled(time, restarted)).attempt, 2);
      await supervisor.stop();
    }));

  it("rejects on a child supervisor that never ran once its parent stops", () =>
    withFakeTime(async () => {
      const root = new Supervisor();
      const sub = new Supervisor({ name: "sub" });
      root.add(sub);
      const waiting = sub.when("start");
      waiting.catch(() => {});
      await root.stop();
      await assert.rejects(waiting, {
        message: "Cannot wait for 'start' as supervisor 'sub' stopped first",
      });
    }));

  it("rejects at once on a child supervisor that never ran when its parent is stopped already", () =>
    withFakeTime(async () => {
      const root = new Supervisor({ name: "root" });
      const mid = countedSupervisor({ name: "mid" });
      const leaf = countedSupervisor({ name: "leaf" });
      mid.supervisor.add(leaf.supervisor);
      root.add(mid.supervisor);
      await root.stop();
      const message = (name: string) =>
        `Cannot wait for 'start' as supervisor '${name}' will not run: a supervisor above it ` +
        `is stopped for good`;
      await assert.rejects(mid.supervisor.when("start"), { message: message("mid") });
      // Two levels down: its parent never ran, and never will.
      await assert.rejects(leaf.supervisor.when("start"), { message: message("leaf") });
      assert.equal(mid.listeners.size, 0);
      assert.equal(leaf.listeners.size, 0);
    }));

  it("rejects on a child supervisor's own child that never ran once the top stops", () =>
    withFakeTime(async () => {
      const root = new Supervisor({ name: "root" });
      const mid = new Supervisor({ name: "mid" });
      const leaf = countedSupervisor({ name: "leaf" });
      leaf.supervisor.add("a", untilAborted);
      mid.add(leaf.supervisor);
      root.add(mid);
      const waiting = leaf.supervisor.when("start");
      waiting.catch(() => {});
      await root.stop();
      await assert.rejects(waiting, {
        message: "Cannot wait for 'start' as supervisor 'leaf' stopped first",
      });
      assert.equal(leaf.listeners.size, 0);
    }));

  it("waits on child supervisors that never ran while their parent's failed start is retried", () =>
    withFakeTime(async (time) => {
      // root > top (restarted) > mid > leaf; top's start fails once before it reaches mid.
      const root = new Supervisor({ name: "root", backoff: { initialDelay: 20, jitter: 0 } });
      const top = new Supervisor({ name: "top" });
      const mid = new Supervisor({ name: "mid" });
      const leaf = new Supervisor({ name: "leaf" }).add("a", untilAborted);
      top.add("bad", (signal, { attempt, ready }) => {
        if (attempt === 1) return Promise.reject(new Error("not yet"));
        ready();
        return untilAborted(signal);
      }, { waitReady: true });
      top.add(mid.add(leaf));
      root.add(top, { restartPolicy: "always" });
      const midStarted = mid.when("start");
      const leafStarted = leaf.when("start");
      await settled(time, root.start());
      assert.equal((await settled(time, leafStarted)).service, "a");
      assert.equal((await midStarted).service, "leaf");
      assert.equal(time.now, 20);
      assert.equal(leaf.state, "running");
      await root.stop();
    }));

  it("waits for the events of the shutdown while stop() is under way, as a root and as a child", () =>
    withFakeTime(async (time) => {
      const slow = (signal: AbortSignal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => setTimeout(resolve, 50), { once: true })
        );
      const root = new Supervisor({ name: "root" });
      const mid = new Supervisor({ name: "mid" }).add("a", slow);
      root.add(mid).add("b", slow);
      await root.start();
      const midStopping = mid.stop();
      const midExit = mid.when("exit");
      assert.equal((await settled(time, midExit)).service, "a");
      await settled(time, midStopping);
      const rootStopping = root.stop();
      assert.equal(root.state, "stopping");
      const rootExit = root.when("exit", (e) => e.service === "b");
      assert.equal((await settled(time, rootExit)).outcome, "stopped");
      await settled(time, rootStopping);
    }));

  it("waits on a child supervisor whose parent has not started yet, and resolves when it does", () =>
    withFakeTime(async () => {
      const root = new Supervisor({ name: "root" });
      const mid = new Supervisor({ name: "mid" });
      const leaf = new Supervisor({ name: "leaf" }).add("a", untilAborted);
      mid.add(leaf);
      root.add(mid);
      const started = leaf.when("start");
      await root.start();
      assert.equal((await started).service, "a");
      await root.stop();
      await assert.rejects(leaf.when("start"), { message: /is stopped$/ });
    }));

  it("leaves no listener on the supervisor when the signal's addEventListener throws", () =>
    withFakeTime(async () => {
      const { supervisor, listeners } = countedSupervisor();
      const boom = new Error("no listeners here");
      const signal = {
        aborted: false,
        addEventListener() {
          throw boom;
        },
        removeEventListener() {},
      } as unknown as AbortSignal;
      await assert.rejects(supervisor.when("start", undefined, { signal }), boom);
      assert.equal(listeners.size, 0);
    }));

  it("refuses an unknown type, a filter that is not a function, and unknown options", async () => {
    const supervisor = new Supervisor();
    await assert.rejects(supervisor.when("stop" as never), {
      name: "RangeError",
      message:
        `Cannot wait for 'stop' as 'type' must be one of "start", "ready", "exit", "restart", "giveup", "stoptimeout", "escalate": current value is "stop"`,
    });
    await assert.rejects(supervisor.when("start", 3 as never), {
      name: "TypeError",
      message: "Cannot wait for 'start' as 'filter' must be a function: current value is 3",
    });
    await assert.rejects(supervisor.when("start", undefined, { timeout: 5 } as never), {
      name: "TypeError",
      message: "Cannot wait for 'start' as 'timeout' is not an option: did you mean 'signal'?",
    });
  });
});
