import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ExitEvent,
  GiveupEvent,
  RestartEvent,
  RestartLimitError,
  StartEvent,
  StopTimeoutEvent,
  Supervisor,
} from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { forever, recordEvents } from "./_log.ts";

describe("Supervisor events", () => {
  it("are typed Event subclasses with readonly fields, not CustomEvent", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({
        maxRestarts: 1,
        backoff: { jitter: 0 },
        stopTimeout: 10,
      });
      const events: Event[] = [];
      for (const type of ["start", "exit", "restart", "giveup", "stoptimeout"]) {
        supervisor.addEventListener(type, (e) => events.push(e));
      }
      const boom = new Error("boom");
      supervisor.add("svc", () => Promise.reject(boom));
      supervisor.add("stuck", forever);
      await supervisor.start();
      while (await time.nextAsync());
      const stopping = supervisor.stop();
      while (await time.nextAsync());
      await stopping;
      assert.deepEqual(events.map((e) => [e.type, e.constructor.name]), [
        ["start", "StartEvent"],
        ["start", "StartEvent"],
        ["exit", "ExitEvent"],
        ["restart", "RestartEvent"],
        ["start", "StartEvent"],
        ["exit", "ExitEvent"],
        ["giveup", "GiveupEvent"],
        ["stoptimeout", "StopTimeoutEvent"],
      ]);
      const [start, , exit, restart, , , giveup, stoptimeout] = events;
      assert.ok(start instanceof StartEvent && start instanceof Event);
      assert.deepEqual([start.service, start.attempt], ["svc", 1]);
      assert.ok(exit instanceof ExitEvent);
      assert.deepEqual([exit.service, exit.attempt, exit.outcome, exit.error], [
        "svc",
        1,
        "failed",
        boom,
      ]);
      assert.ok(restart instanceof RestartEvent);
      assert.deepEqual([restart.service, restart.attempt, restart.delay], ["svc", 2, 1000]);
      assert.ok(giveup instanceof GiveupEvent && giveup.error instanceof RestartLimitError);
      assert.deepEqual([giveup.service, giveup.error.cause], ["svc", boom]);
      assert.ok(stoptimeout instanceof StopTimeoutEvent);
      assert.equal(stoptimeout.service, "stuck");
    }));

  it("fire exit before restart, with the state already updated for listeners", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const seen: string[] = [];
      supervisor.addEventListener(
        "exit",
        () => seen.push(`exit: ${supervisor.status()[0]?.state}`),
      );
      supervisor.addEventListener(
        "restart",
        () => seen.push(`restart: ${supervisor.status()[0]?.state}`),
      );
      supervisor.addEventListener(
        "start",
        () => seen.push(`start: ${supervisor.status()[0]?.state}`),
      );
      supervisor.add("svc", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.deepEqual(seen, ["start: running", "exit: backing_off", "restart: backing_off"]);
      await supervisor.stop();
    }));

  it("never let a throwing listener change what the supervisor does", () =>
    withFakeTime(async (time) => {
      // Deno, Node and Bun report a listener's error without throwing from
      // dispatchEvent; this EventTarget throws, as some implementations do.
      class Throwing extends Supervisor {
        override dispatchEvent(event: Event): boolean {
          super.dispatchEvent(event);
          throw new Error(`listener of ${event.type} failed`);
        }
      }
      const supervisor = new Throwing({ backoff: { jitter: 0 }, maxRestarts: 2 });
      const log = recordEvents(supervisor);
      supervisor.add("svc", () => Promise.reject(new Error("x")));
      await supervisor.start();
      while (await time.nextAsync());
      assert.deepEqual(log, [
        "0 start svc#1",
        "0 exit svc#1 failed",
        "0 restart svc#2 1000",
        "1000 start svc#2",
        "1000 exit svc#2 failed",
        "1000 restart svc#3 2000",
        "3000 start svc#3",
        "3000 exit svc#3 failed",
        "3000 giveup svc",
      ]);
      assert.equal(supervisor.status()[0]?.state, "failed");
      assert.deepEqual(await supervisor.stop(), { stopped: [], timedOut: [] });
    }));

  it("let a restart listener stop the supervisor before the wait begins", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.addEventListener("restart", () => void supervisor.stop());
      supervisor.add("svc", () => Promise.reject(new Error("x")));
      await supervisor.start();
      await time.tickAsync(0);
      assert.equal(time.countTimers(), 0);
      assert.deepEqual(await supervisor.stop(), { stopped: ["svc"], timedOut: [] });
    }));
});
