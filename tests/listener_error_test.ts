// A listener that throws: Deno, Node and Bun report its error as uncaught,
// and end the process unless the program handles it. A program that does
// handle it (tests/_listener_error_program.ts, run in a process of its own on
// the runtime running this test) finds supervision going on as if the
// listener had returned.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";

/** The program as this runtime runs it: the source on Deno and Bun, the compiled file on Node. */
function command(): [string, string[]] {
  const source = "tests/_listener_error_program.ts";
  if ("Deno" in globalThis) return [process.execPath, ["run", "--quiet", source]];
  if ("Bun" in globalThis || existsSync(source)) return [process.execPath, [source]];
  return [process.execPath, ["tests/_listener_error_program.js"]];
}

describe("Supervisor with a listener that throws", () => {
  it("goes on supervising when the program handles the runtime's uncaught error", () => {
    const [file, args] = command();
    const result = spawnSync(file, args, { encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, 0, `the program exited with ${result.status}: ${result.stderr}`);
    const lines = result.stdout.trim().split("\n");
    const outcome = JSON.parse(lines[lines.length - 1]!);
    assert.deepEqual(outcome, {
      log: [
        "start 1",
        "exit 1 failed",
        "restart 2 5",
        "start 2",
        "exit 2 failed",
        "restart 3 10",
        "start 3",
        "exit 3 failed",
        "restart 4 20",
        "start 4",
        "exit 4 failed",
        "giveup",
      ],
      // One error per event, each reported by the runtime and handled.
      caught: 12,
      messages: [
        "a exit listener failed",
        "a giveup listener failed",
        "a restart listener failed",
        "a start listener failed",
      ],
      status: { state: "failed", attempt: 4, restarts: 3 },
      report: { stopped: [], timedOut: [] },
    });
  });
});
