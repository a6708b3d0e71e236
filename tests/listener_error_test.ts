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

const SOURCE = "tests/_listener_error_program.ts";

/**
 * Runs the program on this runtime (the source on Deno and Bun, the compiled
 * file on Node) and returns its exit code and output.
 */
function runProgram(): { code: number | null; stdout: string; stderr: string } {
  if ("Deno" in globalThis) {
    // Deno.Command needs only --allow-run, where node:child_process reads the environment.
    const output = new Deno.Command(Deno.execPath(), { args: ["run", "--quiet", SOURCE] })
      .outputSync();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
  }
  const file = existsSync(SOURCE) ? SOURCE : "tests/_listener_error_program.js";
  const result = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("Supervisor with a listener that throws", () => {
  it("goes on supervising when the program handles the runtime's uncaught error", () => {
    const result = runProgram();
    assert.equal(result.code, 0, `the program exited with ${result.code}: ${result.stderr}`);
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
