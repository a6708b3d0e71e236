// Deno only: runs `examples/demo.ts` as `deno task demo` does, not on a
// terminal, and checks its event lines, its health endpoints and its
// graceful stop; then runs `deno task demo` and `deno task demo:restart` in
// a copy of the work tree as a fresh clone has it, with an empty Deno cache
// and an npm registry on 127.0.0.1 that records requests, and checks that
// they install nothing. It reads deno.json, spawns Deno, fetches from and
// serves on 127.0.0.1 and writes the copy in .build/, so it needs
// `--allow-read --allow-run --allow-net=127.0.0.1 --allow-write=.build` (or
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

/** A top-level entry a fresh clone does not have: git-ignored builds and installs. */
const NOT_IN_A_CLONE = new Set([".git", "node_modules", "npm", ".build"]);

/** Copies the work tree into `to` as a fresh clone would have it. */
async function copyTree(from: URL, to: URL, top = true): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (top && NOT_IN_A_CLONE.has(entry.name)) continue;
    const source = new URL(entry.name + (entry.isDirectory ? "/" : ""), from);
    const target = new URL(entry.name + (entry.isDirectory ? "/" : ""), to);
    if (entry.isDirectory) await copyTree(source, target, false);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}

/** Every file under `dir`, as paths relative to it; none if it does not exist. */
async function filesUnder(dir: URL, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = prefix + entry.name;
      if (entry.isDirectory) {
        found.push(...await filesUnder(new URL(`${entry.name}/`, dir), `${path}/`));
      } else found.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}

const exists = (url: URL) => Deno.stat(url).then(() => true, () => false);

/** Runs `deno task <task> …args` in `cwd` with an empty cache and the given npm registry. */
async function task(cwd: URL, denoDir: URL, registry: string, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    env: {
      DENO_DIR: denoDir.pathname,
      NPM_CONFIG_REGISTRY: registry,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
    },
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

const canWriteBuild = Deno.permissions.querySync({ name: "write", path: ".build" }).state ===
  "granted";
const skipFresh = skip ||
  (canWriteBuild ? false : "needs --allow-write=.build (deno test --allow-all tests/demo/)");

describe("deno task demo on a fresh clone", () => {
  it("installs no npm package: no registry request, no node_modules, nothing cached", {
    skip: skipFresh,
  }, async () => {
    // A registry on 127.0.0.1 that records each request and has no package at all.
    const requests: string[] = [];
    const registry = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => {
        requests.push(new URL(request.url).pathname);
        return new Response("no such package", { status: 404 });
      },
    );
    const url = `http://127.0.0.1:${registry.addr.port}/`;
    await Deno.mkdir(new URL(".build/", ROOT), { recursive: true });
    const clone = new URL(
      `${await Deno.makeTempDir({ dir: new URL(".build/", ROOT).pathname, prefix: "fresh-" })}/`,
      "file://",
    );
    try {
      await copyTree(ROOT, clone);
      const lock = await Deno.readTextFile(new URL("deno.lock", clone));
      const denoDir = new URL("deno_dir/", clone);

      const demo = await task(clone, denoDir, url, [
        "task",
        "demo",
        "--port",
        "0",
        "--duration",
        "1",
        "--seed",
        "3",
      ]);
      assert.equal(demo.code, 0, demo.stderr);
      assert.match(demo.stdout, / start +feeds\/parser run #1$/m);
      assert.deepEqual(stopReport(demo.stdout), { stopped: ["feeds", "heartbeat"], timedOut: [] });

      const restart = await task(clone, denoDir, url, ["task", "demo:restart"]);
      assert.equal(restart.code, 0, restart.stderr);
      assert.match(restart.stdout, / restart +market-feed run #4 in 800 ms$/m);
      assert.match(restart.stdout, /stopped: \{"stopped":\["market-feed"\],"timedOut":\[\]\}$/m);

      assert.deepEqual(requests, [], "requests to the npm registry");
      assert.equal(await exists(new URL("node_modules", clone)), false, "node_modules/ made");
      assert.deepEqual(await filesUnder(new URL("npm/", denoDir)), [], "npm packages cached");
      assert.equal(await Deno.readTextFile(new URL("deno.lock", clone)), lock, "deno.lock changed");

      // The same clone, cache and registry do see an install: the checks above can fail.
      const install = await task(clone, denoDir, url, ["install"]);
      assert.notEqual(install.code, 0, "deno install with no registry succeeded");
      assert.ok(requests.length > 0, "deno install asked the registry nothing");
    } finally {
      await registry.shutdown();
      await Deno.remove(clone, { recursive: true });
    }
  });
});
