// Two copies of the module in one program, as when one dependency imports
// the package and another requires it: a supervisor from one copy nested
// under a supervisor from the other is still a child supervisor.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { DoNotRestartError, type EscalateError, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failsFirst, recordEvents, untilAborted } from "./_log.ts";

/** A fresh folder under the project's `.build/` (git-ignored). */
function freshDir(root: string): string {
  const dir = join(
    root,
    ".build",
    "copies",
    `${Date.now()}-${Math.random().toString(36).slice(2)}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Another copy of the module than this test's. Node runs the built package:
 * a test compiled to an ES module gets the CommonJS build by `require`, one
 * compiled to CommonJS a copy of the package. Deno and Bun run the sources:
 * a copy of them is a module of its own.
 */
async function otherCopy(): Promise<Copy> {
  const require = createRequire(join(process.cwd(), "index.js"));
  let entry: string | undefined;
  try {
    entry = require.resolve("@janus/supervisor");
  } catch {
    // Not the built package: the sources.
  }
  if (entry) {
    const required: Copy = require("@janus/supervisor");
    if (required.Supervisor !== Supervisor) return required;
    const pkg = dirname(dirname(entry));
    const dir = freshDir(dirname(pkg));
    cpSync(pkg, dir, { recursive: true, dereference: true });
    return require(join(dir, "script", "mod.js"));
  }
  const dir = freshDir(resolve("."));
  cpSync("mod.ts", join(dir, "mod.ts"));
  cpSync("src", join(dir, "src"), { recursive: true });
  return await import(pathToFileURL(join(dir, "mod.ts")).href);
}

/** What the tests use of a copy. */
interface Copy {
  Supervisor: typeof Supervisor;
  DoNotRestartError: typeof DoNotRestartError;
  EscalateError: typeof EscalateError;
}

describe("Supervisor from two copies of the module", () => {
  // No top-level await: Node runs this test compiled to CommonJS too.
  let Other: typeof Supervisor;
  let other: Copy;
  before(async () => {
    other = await otherCopy();
    Other = other.Supervisor;
  });

  it("are two classes: instanceof cannot tell one from the other", () => {
    assert.notEqual(Other, Supervisor);
    assert.equal(new Other() instanceof Supervisor, false);
  });

  for (const shape of ["a child from the other copy", "a parent from the other copy"]) {
    it(`nest as a tree with ${shape}: metrics, status, events, deadlines`, () =>
      withFakeTime(async (time) => {
        const [Parent, Child] = shape.startsWith("a child")
          ? [Supervisor, Other]
          : [Other, Supervisor];
        const feeds = new Child({ name: "feeds", backoff: { jitter: 0 } });
        feeds.add("binance", failsFirst(10)).add("kraken", untilAborted);
        const root = new Parent({ name: "root", shutdownTimeout: 2000 });
        const log = recordEvents(root as Supervisor);
        root.add("db", untilAborted).add(feeds);
        await root.start();
        await time.tickAsync(10);
        await time.tickAsync(1000);
        assert.deepEqual(root.metrics().map((m) => `${m.name} ${m.state} ${m.restarts}`), [
          "db running 0",
          "feeds running 0",
          "feeds/binance running 1",
          "feeds/kraken running 0",
        ]);
        assert.deepEqual(root.status()[1]?.children?.map((s) => `${s.name}#${s.attempt}`), [
          "binance#2",
          "kraken#1",
        ]);
        assert.throws(() => new Parent().add(feeds), {
          message: `Cannot add service "feeds" as it already has a parent supervisor`,
        });
        assert.deepEqual(await root.stop(), { stopped: ["feeds", "db"], timedOut: [] });
        assert.deepEqual(log, [
          "0 start db#1",
          "0 start feeds#1",
          "0 start feeds/binance#1",
          "0 start feeds/kraken#1",
          "0 ready feeds#1",
          "10 exit feeds/binance#1 failed",
          "10 restart feeds/binance#2 1000",
          "1010 start feeds/binance#2",
          "1010 exit feeds/kraken#1 stopped",
          "1010 exit feeds/binance#2 stopped",
          "1010 exit feeds#1 stopped",
          "1010 exit db#1 stopped",
        ]);
        assert.equal(time.countTimers(), 0);
      }));
  }
  it("recognize each other's DoNotRestartError and EscalateError", () =>
    withFakeTime(async (time) => {
      assert.notEqual(other.DoNotRestartError, DoNotRestartError);
      const supervisor = new Supervisor({
        restartPolicy: "always",
        escalate: true,
        backoff: { jitter: 0 },
      });
      supervisor.done.catch(() => {});
      const log = recordEvents(supervisor);
      supervisor.add("config", () => Promise.reject(new other.DoNotRestartError("no key")));
      await supervisor.start();
      await time.tickAsync(10_000);
      assert.equal(supervisor.status()[0]?.state, "failed");
      assert.deepEqual(log, ["0 start config#1", "0 exit config#1 failed"]);
      supervisor.add("disk", () => Promise.reject(new other.EscalateError("disk full")));
      await time.tickAsync(0);
      assert.equal(supervisor.state, "failed");
      await assert.rejects(supervisor.done, { name: "EscalateError", message: "disk full" });
      assert.equal(time.countTimers(), 0);
    }));

  for (const shape of ["a child from the other copy", "a parent from the other copy"]) {
    it(`do not restart ${shape} that was stopped for good`, () =>
      withFakeTime(async (time) => {
        const [Parent, Child] = shape.startsWith("a child")
          ? [Supervisor, Other]
          : [Other, Supervisor];
        const feeds = new Child({ name: "feeds" }).add("leaf", untilAborted);
        const root = new Parent({
          name: "root",
          restartPolicy: "always",
          backoff: { initialDelay: 5, jitter: 0 },
          maxRestarts: 3,
          escalate: true,
        });
        const log = recordEvents(root as Supervisor);
        root.add(feeds).add("http", untilAborted);
        await root.start();
        await feeds.stop();
        while (await time.nextAsync());
        assert.deepEqual(log.filter((line) => / feeds#/.test(line)), [
          "0 start feeds#1",
          "0 ready feeds#1",
          "0 exit feeds#1 completed",
          "0 restart feeds#2 5",
          "5 start feeds#2",
          "5 exit feeds#2 failed",
        ]);
        assert.equal(root.state, "running");
        assert.equal(root.status()[0]?.state, "failed");
        assert.deepEqual(await root.stop(), { stopped: ["http"], timedOut: [] });
        assert.equal(time.countTimers(), 0);
      }));
  }
});
