import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failAfter, readyAfter, recordEvents, untilAborted } from "./_log.ts";

describe("Supervisor readiness", () => {
  it("starts the next service only once a waitReady service is ready", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("db", readyAfter(300), { waitReady: true });
      supervisor.add("cache", readyAfter(200), { waitReady: 1000 });
      supervisor.add("http", untilAborted);
      let started = -1;
      supervisor.start().then(() => started = Date.now());
      assert.equal(supervisor.state, "starting");
      while (started < 0 && await time.nextAsync());
      assert.equal(started, 500);
      assert.equal(supervisor.state, "running");
      assert.deepEqual(log, [
        "0 start db#1",
        "300 ready db#1",
        "300 start cache#1",
        "500 ready cache#1",
        "500 start http#1",
      ]);
      assert.deepEqual(supervisor.status().map((s) => [s.name, s.ready]), [
        ["db", true],
        ["cache", true],
        ["http", false],
      ]);
      await supervisor.stop();
      assert.equal(time.countTimers(), 0);
    }));

  it("fails start() when a service fails before it is ready, after stopping the others", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ restartPolicy: "always" });
      const log = recordEvents(supervisor);
      supervisor.add("db", readyAfter(10), { waitReady: true });
      supervisor.add("migrate", async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error("schema mismatch");
      }, { waitReady: true });
      supervisor.add("http", untilAborted);
      let error: Error | undefined;
      supervisor.start().catch((e) => error = e);
      while (!error && await time.nextAsync());
      await time.tickAsync(0);
      assert.equal(
        error?.message,
        "Cannot start supervisor 'supervisor' as service 'migrate' failed before it was ready",
      );
      assert.equal((error?.cause as Error).message, "schema mismatch");
      assert.deepEqual(log, [
        "0 start db#1",
        "10 ready db#1",
        "10 start migrate#1",
        "60 exit migrate#1 failed",
        "60 exit db#1 stopped",
      ]);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, { message: error!.message });
      assert.equal(time.countTimers(), 0);
    }));

  it("fails start() when a service is not ready within its waitReady time", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("slow", readyAfter(5000), { waitReady: 1000 });
      let error: Error | undefined;
      supervisor.start().catch((e) => error = e);
      while (!error && await time.nextAsync());
      assert.equal(time.now, 1000);
      assert.equal(
        error?.message,
        "Cannot start supervisor 'supervisor' as service 'slow' was not ready within 1000 ms",
      );
      assert.deepEqual(supervisor.status().map((s) => s.state), ["stopped"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("counts a waitReady run that completes as ready (a one-shot job)", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      const log = recordEvents(supervisor);
      supervisor.add("warmup", () => new Promise((resolve) => setTimeout(resolve, 100)), {
        waitReady: true,
      });
      supervisor.add("http", untilAborted);
      let started = false;
      supervisor.start().then(() => started = true);
      while (!started && await time.nextAsync());
      assert.deepEqual(log, [
        "0 start warmup#1",
        "100 exit warmup#1 completed",
        "100 start http#1",
      ]);
      await supervisor.stop();
    }));

  it("still applies the restart policy to a waitReady run that completes before ready()", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      supervisor.add("job", () => {}, { restartPolicy: "always", waitReady: true, maxRestarts: 1 });
      supervisor.add("http", untilAborted);
      await supervisor.start();
      while (await time.nextAsync());
      assert.deepEqual(log, [
        "0 start job#1",
        "0 exit job#1 completed",
        "0 restart job#2 1000",
        "0 start http#1",
        "1000 start job#2",
        "1000 exit job#2 completed",
        "1000 giveup job",
      ]);
      await supervisor.stop();
    }));

  it("ignores ready() of an earlier run while the next run is live, destructured or not", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { initialDelay: 5, jitter: 0 } });
      const log = recordEvents(supervisor);
      const contexts: { ready(): void }[] = [];
      const readies: (() => void)[] = [];
      supervisor.add("svc", (signal, context) => {
        contexts.push(context);
        const { ready } = context;
        readies.push(ready);
        return contexts.length === 1 ? failAfter(10, signal) : untilAborted(signal);
      });
      await supervisor.start();
      await time.tickAsync(10);
      await time.tickAsync(5);
      assert.equal(supervisor.status()[0]?.attempt, 2);
      contexts[0]!.ready();
      readies[0]!();
      await time.tickAsync(0);
      assert.equal(supervisor.status()[0]?.ready, false);
      readies[1]!();
      await time.tickAsync(0);
      assert.equal(supervisor.status()[0]?.ready, true);
      assert.deepEqual(log, [
        "0 start svc#1",
        "10 exit svc#1 failed",
        "10 restart svc#2 5",
        "15 start svc#2",
        "15 ready svc#2",
      ]);
      await supervisor.stop();
    }));

  it("clears readiness on restart, and ignores ready() from a run that ended", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      const log = recordEvents(supervisor);
      let first: { ready(): void } | undefined;
      supervisor.add("svc", (signal, context) => {
        first ??= context;
        context.ready();
        context.ready();
        return failAfter(10, signal);
      });
      await supervisor.start();
      await time.tickAsync(10);
      await time.tickAsync(0);
      assert.equal(supervisor.status()[0]?.ready, false);
      first!.ready();
      assert.equal(supervisor.status()[0]?.ready, false);
      await time.tickAsync(1000);
      assert.deepEqual(log, [
        "0 start svc#1",
        "0 ready svc#1",
        "10 exit svc#1 failed",
        "10 restart svc#2 1000",
        "1010 start svc#2",
        "1010 ready svc#2",
      ]);
      await supervisor.stop();
    }));

  it("stops waiting and resolves start() when stopped while starting", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor();
      supervisor.add("never-ready", untilAborted, { waitReady: true });
      supervisor.add("next", untilAborted);
      const starting = supervisor.start();
      await time.tickAsync(100);
      assert.deepEqual(await supervisor.stop(), { stopped: ["never-ready"], timedOut: [] });
      await starting;
      assert.deepEqual(supervisor.status().map((s) => s.attempt), [1, 0]);
      assert.equal(time.countTimers(), 0);
    }));

  it("lets a parent wait for a child supervisor to be ready", () =>
    withFakeTime(async (time) => {
      const storage = new Supervisor({ name: "storage" });
      storage.add("db", readyAfter(100), { waitReady: true });
      const root = new Supervisor();
      const log = recordEvents(root);
      root.add(storage, { waitReady: true }).add("http", untilAborted);
      let started = false;
      root.start().then(() => started = true);
      while (!started && await time.nextAsync());
      assert.deepEqual(log, [
        "0 start storage#1",
        "0 start storage/db#1",
        "100 ready storage/db#1",
        "100 ready storage#1",
        "100 start http#1",
      ]);
      await root.stop();
    }));
});
