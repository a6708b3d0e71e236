/**
 * Runs `scenario.ts` against the built package inside an edge runtime and
 * prints TAP-style results (`ok N - …`, `# pass N`, `# fail N`):
 *
 *   node tests/edge/run.mjs edge-runtime   # @edge-runtime/vm
 *   node tests/edge/run.mjs workerd        # Cloudflare workerd, through miniflare
 *
 * Needs `deno task build:npm` first (for `npm/esm/mod.js` and the pinned
 * tools in `.build/tools`); `deno task test` runs it after the build.
 *
 * @module
 */
import { createRequire } from "node:module";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HERE = fileURLToPath(new URL("./", import.meta.url));
const tools = createRequire(`${ROOT}.build/tools/package.json`);
const LIMIT_MS = 60_000;

const runtimes = {
  /** The scenario as a script defining `__janusScenario`, evaluated in an `EdgeVM`. */
  async "edge-runtime"() {
    const { EdgeVM } = tools("@edge-runtime/vm");
    const code = await bundle(`${HERE}scenario.ts`, "iife");
    const vm = new EdgeVM();
    vm.evaluate(code);
    const report = await vm.evaluate("__janusScenario.runScenario().then(JSON.stringify)");
    return {
      version: `@edge-runtime/vm ${tools("@edge-runtime/vm/package.json").version}`,
      report: JSON.parse(report),
      sandbox: ["process", "Deno", "Bun", "require"],
    };
  },

  /** The scenario as a module worker, served by miniflare's workerd and fetched once. */
  async workerd() {
    const { Miniflare } = tools("miniflare");
    const script = await bundle(`${HERE}worker.ts`, "esm");
    const mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-09-01" });
    try {
      const response = await mf.dispatchFetch("http://localhost/");
      const text = await response.text();
      if (!response.ok) throw new Error(`the worker answered ${response.status}: ${text}`);
      return {
        version: `miniflare ${tools("miniflare/package.json").version}, workerd ${
          tools("workerd/package.json").version
        }`,
        report: JSON.parse(text),
        sandbox: ["process", "Deno", "Bun"],
      };
    } finally {
      await mf.dispose();
    }
  },
};

/** Bundles `entry` with the built ESM package standing in for `@janus/supervisor`. */
async function bundle(entry, format) {
  const esbuild = tools("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    ...(format === "iife" ? { globalName: "__janusScenario" } : {}),
    platform: "neutral",
    target: "es2022",
    alias: { "@janus/supervisor": `${ROOT}npm/esm/mod.js` },
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

async function main() {
  const name = process.argv[2];
  const runtime = runtimes[name];
  if (!runtime) {
    console.error(`usage: node tests/edge/run.mjs <${Object.keys(runtimes).join("|")}>`);
    return 2;
  }
  const timer = setTimeout(() => {
    console.log(`not ok - ${name} finished within ${LIMIT_MS / 1000} s\n# pass 0\n# fail 1`);
    process.exit(1);
  }, LIMIT_MS);
  timer.unref();

  const checks = [];
  try {
    const { version, report, sandbox } = await runtime();
    const globals = Object.entries(report.globals).map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(`# ${name} (${version}): ${globals}`);
    const present = sandbox.filter((global) => report.globals[global] !== "undefined");
    checks.push({
      name: `the sandbox has no ${sandbox.join(", ")}`,
      ok: present.length === 0,
      detail: present.length ? `present: ${present.join(", ")}` : "",
    });
    checks.push(...report.checks);
  } catch (error) {
    checks.push({
      name: `the scenario runs in ${name}`,
      ok: false,
      detail: error?.stack ?? String(error),
    });
  }

  checks.forEach((check, i) => {
    console.log(`${check.ok ? "ok" : "not ok"} ${i + 1} - ${name}: ${check.name}`);
    if (!check.ok) console.log(check.detail.split("\n").map((line) => `#   ${line}`).join("\n"));
  });
  const failed = checks.filter((check) => !check.ok).length;
  console.log(`1..${checks.length}\n# pass ${checks.length - failed}\n# fail ${failed}`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
