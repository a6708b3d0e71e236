import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EscalateError, Supervisor } from "../mod.ts";
import { settled, withFakeTime } from "./_fake_time.ts";
import { recordEvents, untilAborted } from "./_log.ts";

/** An AbortController whose signal counts the abort listeners on it. */
function countedController() {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: unknown) => {
    if (type === "abort") listeners.add(listener);
    add(type, listener, options as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener) => {
    if (type === "abort") listeners.delete(listener);
    remove(type, listener);
  }) as typeof signal.removeEventListener;
  return { controller, signal, listeners };
}

describe("start({ signal })", () => {
  it("stops the supervisor when the signal aborts, with its reason, and leaves no listener", () =>
    withFakeTime(async (time) => {
      const { controller, signal, listeners } = countedController();
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      const reasons: unknown[] = [];
      for (const name of ["a", "b"]) {
        supervisor.add(name, (s) => untilAborted(s).then(() => void reasons.push(s.reason)));
      }
      await supervisor.start({ signal });
      assert.equal(listeners.size, 1);
      await time.tickAsync(100);
      const reason = new Error("request over");
      controller.abort(reason);
      await settled(time, supervisor.done);
      assert.deepEqual(reasons, [reason, reason]);
      assert.deepEqual(log, [
        "0 start a#1",
        "0 start b#1",
        "100 exit b#1 stopped",
        "100 exit a#1 stopped",
      ]);
      assert.equal(supervisor.state, "stopped");
      assert.deepEqual(await supervisor.stop(), { stopped: ["b", "a"], timedOut: [] });
      assert.equal(listeners.size, 0);
      assert.equal(time.countTimers(), 0);
    }));

  it("rejects with the reason of a signal already aborted, and starts nothing", () =>
    withFakeTime(async () => {
      const supervisor = new Supervisor();
      let runs = 0;
      supervisor.add("a", (signal) => (runs++, untilAborted(signal)));
      const reason = new Error("too late");
      await assert.rejects(supervisor.start({ signal: AbortSignal.abort(reason) }), reason);
      assert.equal(runs, 0);
      assert.equal(supervisor.state, "idle");
      // It may be started afterwards.
      await supervisor.start();
      assert.equal(runs, 1);
      await supervisor.stop();
    }));

  it("rejects a start under way with the reason when the signal aborts before it is over", () =>
    withFakeTime(async (time) => {
      const { controller, signal, listeners } = countedController();
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("db", untilAborted, { waitReady: true });
      supervisor.add("api", untilAborted);
      const started = supervisor.start({ signal });
      started.catch(() => {});
      await time.tickAsync(50);
      const reason = new Error("cancelled");
      controller.abort(reason);
      await assert.rejects(settled(time, started), reason);
      await settled(time, supervisor.done); // a stop, not a failure
      assert.deepEqual(log, ["0 start db#1", "50 exit db#1 stopped"]);
      assert.equal(listeners.size, 0);
    }));

  it("rejects a start under way only once the services already started are stopped", () =>
    withFakeTime(async (time) => {
      const controller = new AbortController();
      const supervisor = new Supervisor();
      supervisor.add(
        "db",
        (signal) =>
          untilAborted(signal).then(() =>
            new Promise<void>((resolve) => setTimeout(resolve, 1000))
          ),
        {
          waitReady: true,
        },
      );
      const started = supervisor.start({ signal: controller.signal });
      let rejectedAt: number | undefined;
      started.catch(() => rejectedAt = Date.now());
      await time.tickAsync(50);
      controller.abort("cancelled");
      await assert.rejects(settled(time, started), (reason) => reason === "cancelled");
      assert.equal(rejectedAt, 1050);
      assert.equal(supervisor.status()[0]!.state, "stopped");
    }));

  it("refuses a signal-like object it could not take its listener off, and survives hostile signals", async () => {
    const noRemove = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    const supervisor = new Supervisor();
    supervisor.add("a", untilAborted);
    await assert.rejects(supervisor.start({ signal: noRemove }), {
      name: "TypeError",
      message:
        "Cannot start supervisor 'supervisor' as 'signal' must be an AbortSignal: current value is [object Object]",
    });
    // One whose addEventListener throws: start() rejects with it, nothing is started.
    const boom = new Error("no listeners here");
    const throwing = {
      aborted: false,
      addEventListener() {
        throw boom;
      },
      removeEventListener() {},
    } as unknown as AbortSignal;
    await assert.rejects(supervisor.start({ signal: throwing }), boom);
    assert.equal(supervisor.state, "idle");
    // Already aborted, with a reason getter that throws: rejects with what it throws.
    const hostile = {
      aborted: true,
      get reason() {
        throw boom;
      },
      addEventListener() {},
      removeEventListener() {},
    } as unknown as AbortSignal;
    await assert.rejects(supervisor.start({ signal: hostile }), boom);
    // The supervisor is still whole.
    await supervisor.start();
    assert.equal(supervisor.status()[0]!.state, "running");
    await supervisor.stop();
    await supervisor.done;
  });

  it("stops with what the reason getter throws when a hostile signal aborts later", () =>
    withFakeTime(async (time) => {
      const target = new EventTarget();
      const boom = new Error("no reason");
      const hostile = Object.assign(target, { aborted: false }) as unknown as AbortSignal;
      Object.defineProperty(hostile, "reason", {
        get() {
          throw boom;
        },
      });
      const supervisor = new Supervisor();
      let reason: unknown;
      supervisor.add("a", (signal) => untilAborted(signal).then(() => reason = signal.reason));
      await supervisor.start({ signal: hostile });
      target.dispatchEvent(new Event("abort"));
      await settled(time, supervisor.done);
      assert.equal(reason, boom);
    }));

  it("takes its listener off the signal when stop() resolves, before anything else runs", () =>
    withFakeTime(async () => {
      const { signal, listeners } = countedController();
      const supervisor = new Supervisor();
      supervisor.add("a", untilAborted);
      await supervisor.start({ signal });
      await supervisor.stop();
      assert.equal(listeners.size, 0);
    }));

  it("takes its listener off the signal when the supervisor fails", () =>
    withFakeTime(async (time) => {
      const { signal, listeners } = countedController();
      const supervisor = new Supervisor({ escalate: true });
      const error = new EscalateError("fatal");
      supervisor.add("a", () => Promise.reject(error));
      await supervisor.start({ signal });
      await assert.rejects(settled(time, supervisor.done), error);
      assert.equal(listeners.size, 0);
    }));

  it("refuses what is not an AbortSignal, an unknown option, and a signal given to a second start()", async () => {
    const supervisor = new Supervisor();
    await assert.rejects(supervisor.start({ signal: {} as AbortSignal }), {
      name: "TypeError",
      message:
        "Cannot start supervisor 'supervisor' as 'signal' must be an AbortSignal: current value is [object Object]",
    });
    await assert.rejects(supervisor.start({ sinal: AbortSignal.abort() } as never), {
      name: "TypeError",
      message:
        "Cannot start supervisor 'supervisor' as 'sinal' is not an option: did you mean 'signal'?",
    });
    await assert.rejects(supervisor.start(null as never), {
      name: "TypeError",
      message:
        "Cannot start supervisor 'supervisor' as 'options' must be an object: current value is null",
    });
    await supervisor.start();
    await assert.rejects(supervisor.start({ signal: new AbortController().signal }), {
      name: "TypeError",
      message:
        "Cannot start supervisor 'supervisor' with a signal as it was started before: give the signal to the first start()",
    });
    await supervisor.stop();
  });

  it("survives a signal listener that calls back into the supervisor", () =>
    withFakeTime(async (time) => {
      const controller = new AbortController();
      const supervisor = new Supervisor();
      supervisor.add("a", untilAborted);
      // Added before start(): it runs first, and stops the supervisor itself.
      let stopped: Promise<unknown> | undefined;
      controller.signal.addEventListener("abort", () => stopped = supervisor.stop("mine"));
      await supervisor.start({ signal: controller.signal });
      controller.abort("theirs");
      assert.deepEqual(await settled(time, stopped!), { stopped: ["a"], timedOut: [] });
      await settled(time, supervisor.done);
      assert.equal(supervisor.state, "stopped");
    }));
});
