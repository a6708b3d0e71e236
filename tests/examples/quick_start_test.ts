// Deno only: runs the README's quick start, `examples/quick_start.ts`, as a
// user would (`deno run`, type-checked, from the repository, where deno.json maps
// `@janus/supervisor` to mod.ts), and stops it with the signals it handles.
// It spawns Deno, so it needs `--allow-read --allow-run` (or `--allow-all`);
// without them its tests are skipped.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

const missing = ([{ name: "read", path: "." }, { name: "run" }] as const)
  .filter((descriptor) => Deno.permissions.querySync(descriptor).state !== "granted")
  .map((descriptor) => descriptor.name);
const skip = missing.length > 0
  ? `needs --allow-${missing.join(" --allow-")} (deno test --allow-all tests/examples/)`
  : false;

/** Runs the quick start, sends `signal` once stdout matches `when`, and returns what it printed. */
async function runUntil(when: RegExp, signal: Deno.Signal) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--check", "examples/quick_start.ts"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // A quick start that ignores its signal must not hang the suite.
  const killTimer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let sent = false;
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      if (!sent && when.test(stdout)) {
        child.kill(signal);
        sent = true;
      }
    }
    const status = await child.status;
    return { code: status.code, sent, stdout, stderr: await stderr };
  } finally {
    clearTimeout(killTimer);
  }
}

/** Every line the quick start can print, in its grammar. */
const LINE =
  /^(?:run #\d+: poll [12]|run #\d+ (?:failed|stopped)|restart in \d+ ms|stopped: \{ stopped: \[ "poller" \], timedOut: \[\] \})$/;

describe("examples/quick_start.ts", () => {
  it("keeps the flaky poller alive with backoff, and stops on SIGTERM", { skip }, async () => {
    const { code, sent, stdout, stderr } = await runUntil(/^run #2: poll 1$/m, "SIGTERM");
    assert.ok(sent, `never printed "run #2: poll 1":\n${stdout}\n${stderr}`);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 3), ["run #1: poll 1", "run #1: poll 2", "run #1 failed"]);
    // initialDelay 100 with the default jitter of 0.2: the first delay lies in [80, 100].
    const delay = Number(/^restart in (\d+) ms$/.exec(lines[3]!)?.[1]);
    assert.ok(delay >= 80 && delay <= 100, lines[3]);
    assert.equal(lines[4], "run #2: poll 1");
    for (const line of lines) assert.match(line, LINE);
    assert.equal(lines.at(-1), 'stopped: { stopped: [ "poller" ], timedOut: [] }');
    assert.equal(lines.filter((line) => line.startsWith("stopped:")).length, 1);
  });

  it("stops on SIGINT (Ctrl-C) too", { skip }, async () => {
    const { code, sent, stdout, stderr } = await runUntil(/^run #1: poll 1$/m, "SIGINT");
    assert.ok(sent, `never printed "run #1: poll 1":\n${stdout}\n${stderr}`);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    for (const line of lines) assert.match(line, LINE);
    assert.equal(lines.at(-1), 'stopped: { stopped: [ "poller" ], timedOut: [] }');
  });
});
