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
import { Supervisor } from "../mod.ts";
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
async function otherCopy(): Promise<typeof Supervisor> {
  const require = createRequire(join(process.cwd(), "index.js"));
  let entry: string | undefined;
  try {
    entry = require.resolve("@janus/supervisor");
  } catch {
    // Not the built package: the sources.
  }
  if (entry) {
    const required: typeof Supervisor = require("@janus/supervisor").Supervisor;
    if (required !== Supervisor) return required;
    const pkg = dirname(dirname(entry));
    const dir = freshDir(dirname(pkg));
    cpSync(pkg, dir, { recursive: true, dereference: true });
    return require(join(dir, "script", "mod.js")).Supervisor;
  }
  const dir = freshDir(resolve("."));
  cpSync("mod.ts", join(dir, "mod.ts"));
  cpSync("src", join(dir, "src"), { recursive: true });
  return (await import(pathToFileURL(join(dir, "mod.ts")).href)).Supervisor;
}

describe("Supervisor from two copies of the module", () => {
  // No top-level await: Node runs this test compiled to CommonJS too.
  let Other: typeof Supervisor;
  before(async () => {
    Other = await otherCopy();
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
});
