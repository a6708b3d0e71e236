// Deno only: runs `examples/worker_demo.ts` as `deno task demo:worker` does
// and checks what it printed, times aside: run 1 fails, run 2 wedges and is
// killed after its grace, run 3 starts in a fresh Worker and stops on its own.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

describe("examples/worker_demo.ts", () => {
  it("kills the wedged run, reports it stopped, and restarts it in a fresh Worker", async () => {
    const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
    const [deno, ...args] = String(config.tasks["demo:worker"]).trim().split(/\s+/);
    assert.equal(deno, "deno", "the demo:worker task runs deno");
    const output = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const lines = stdout.trim().split("\n").map((line) => line.replace(/^\+\s*\d+ ms {2}/, ""));
    assert.deepEqual(lines, [
      "start    crunch run #1",
      "exit     crunch run #1 failed: RangeError: bad input after 9592 primes",
      "restart  crunch run #2 in 200 ms",
      "start    crunch run #2",
      "watchdog: no progress from run #2 for 300 ms, restarting it",
      "exit     crunch run #2 stopped",
      "restart  crunch run #3 in 0 ms",
      "start    crunch run #3",
      "exit     crunch run #3 stopped",
      'stop()   {"stopped":["crunch"],"timedOut":[]}',
      "workers  3 made, 3 terminated",
    ]);
  });
});
