// Deno only: runs `examples/demo.ts` as `deno task demo` does, not on a
// terminal, and checks its event lines, its health endpoints and its
// graceful stop. It reads deno.json, spawns Deno and fetches from
// 127.0.0.1, so it needs `--allow-read --allow-run --allow-net=127.0.0.1` (or
// `--allow-all`); without them its tests are skipped.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** The permissions the test needs and does not have. */
const needed: Deno.PermissionDescriptor[] = [
  { name: "read", path: "." },
  { name: "run" },
  { name: "net", host: "127.0.0.1" },
];
const missing = needed.filter((descriptor) =>
  Deno.permissions.querySync(descriptor).state !== "granted"
).map((descriptor) => descriptor.name);
const skip = missing.length > 0
  ? `needs --allow-${missing.join(" --allow-")} (deno test --allow-all tests/demo/)`
  : false;

/** The `demo` task's command line, with this Deno binary: the test grants what the task grants. */
function demoCommand(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const [deno, ...rest] = String(config.tasks.demo).trim().split(/\s+/);
  assert.equal(deno, "deno", "the demo task runs deno");
  return rest;
}

/** A running demo, its stdout collected line by line. */
class Demo {
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<string>;
  readonly #reading: Promise<void>;
  readonly #killTimer: ReturnType<typeof setTimeout>;
  #stdout = "";
  #waiters: (() => void)[] = [];

  constructor(args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...demoCommand(), ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#child = child;
    // A hung demo must not hang the suite.
    this.#killTimer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    this.#stderr = new Response(child.stderr).text();
    this.#reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.#stdout += chunk;
        for (const wake of this.#waiters.splice(0)) wake();
      }
      for (const wake of this.#waiters.splice(0)) wake();
    })();
  }

  get stdout(): string {
    return this.#stdout;
  }

  /** Resolves with the first match of `pattern` in stdout; fails if the demo ends first. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    let ended = false;
    this.#reading.then(() => ended = true);
    while (true) {
      const match = this.#stdout.match(pattern);
      if (match) return match;
      if (ended) {
        assert.fail(`the demo ended without printing ${pattern}:\n${this.#stdout}`);
      }
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        this.#reading,
      ]);
    }
  }

  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Waits for the exit: the status, all of stdout and stderr. */
  async exit(): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const [status, stderr] = await Promise.all([this.#child.status, this.#stderr, this.#reading]);
      return { code: status.code, stdout: this.#stdout, stderr };
    } finally {
      clearTimeout(this.#killTimer);
    }
  }
}

const SERVICES = ["cache-warmup", "heartbeat", "feeds", "feeds/binance", "feeds/parser"];
const URL_LINE = /^demo: serving (http:\/\/127\.0\.0\.1:(\d+))\/healthz /m;
const REPORT_LINE = /^demo: stop report: (.*)$/m;

/** The stop report the demo printed. */
function stopReport(stdout: string): unknown {
  const line = stdout.match(REPORT_LINE);
  assert.ok(line, `no stop report in:\n${stdout}`);
  return JSON.parse(line[1]!);
}

describe("examples/demo.ts", () => {
  it("runs the tree, serves its health, restarts the flaky feed, stops after --duration", {
    skip,
  }, async () => {
    const demo = new Demo(["--duration", "3", "--port", "0", "--seed", "1"]);
    const [, url] = await demo.waitFor(URL_LINE);
    assert.notEqual(url, "http://127.0.0.1:0");

    // Every service has started: the tree is running, cache-warmup completed.
    await demo.waitFor(/ start +feeds\/parser run #1$/m);
    const healthz = await fetch(`${url}/healthz`);
    assert.equal(healthz.status, 200);
    assert.equal((await healthz.json()).status, "ok");
    const readyz = await fetch(`${url}/readyz`);
    assert.equal(readyz.status, 200);
    assert.deepEqual(
      (await readyz.json()).services.map((s: { name: string }) => s.name),
      SERVICES,
    );
    const missingPath = await fetch(`${url}/nope`);
    assert.equal(missingPath.status, 404);
    await missingPath.body?.cancel();

    // The flaky feed fails and is restarted, with its sibling (one_for_all), after a delay.
    await demo.waitFor(/ restart +feeds\/parser run #2 in \d+ ms$/m);
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /^janus_supervisor_restarts_total\{service="feeds\/binance"\} [1-9]\d*$/m);
    assert.match(text, /^janus_supervisor_failures_total\{service="feeds\/binance"\} [1-9]\d*$/m);
    assert.match(text, /^janus_supervisor_service_up\{service="heartbeat"\} 1$/m);

    const { code, stdout, stderr } = await demo.exit();
    assert.equal(code, 0, stderr);
    for (const service of SERVICES) {
      assert.match(stdout, new RegExp(` start +${service} run #1$`, "m"), `start of ${service}`);
    }
    assert.match(stdout, / exit +cache-warmup run #1 completed$/m);
    assert.match(stdout, / exit +feeds\/binance run #1 failed: Error: .+$/m);
    const delay = stdout.match(/ restart +feeds\/binance run #2 in (\d+) ms$/m);
    assert.ok(delay, stdout);
    // initialDelay 500 with jitter 0.2: the first delay lies in [400, 500].
    assert.ok(Number(delay[1]) >= 400 && Number(delay[1]) <= 500, delay[0]);
    assert.match(stdout, / stopping \(--duration 3 s elapsed\)$/m);
    assert.deepEqual(stopReport(stdout), { stopped: ["feeds", "heartbeat"], timedOut: [] });
  });

  it("stops gracefully on SIGTERM and exits 0", { skip }, async () => {
    const demo = new Demo(["--port", "0", "--seed", "2"]);
    const [, url] = await demo.waitFor(URL_LINE);
    await demo.waitFor(/ start +feeds\/parser run #1$/m);
    const readyz = await fetch(`${url}/readyz`);
    assert.equal(readyz.status, 200);
    await readyz.body?.cancel();

    demo.kill("SIGTERM");
    const { code, stdout, stderr } = await demo.exit();
    assert.equal(code, 0, stderr);
    assert.match(stdout, / stopping \(SIGTERM\)$/m);
    assert.match(
      stdout,
      / exit +heartbeat run #1 stopped: AbortError: Supervisor 'demo' is stopping$/m,
    );
    assert.deepEqual(stopReport(stdout), { stopped: ["feeds", "heartbeat"], timedOut: [] });
  });
});
