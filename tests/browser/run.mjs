/**
 * The browser row: runs `page.ts` in headless Chromium against the built
 * package and prints TAP-style results (`ok N - …`, `# pass N`, `# fail N`):
 *
 *   node tests/browser/run.mjs [path/to/chromium]
 *
 * Bundles `page.ts` and `worker.ts` with esbuild, with `npm/esm/mod.js`
 * standing in for `@janus/supervisor` and for the sources' `mod.ts`; serves
 * them on 127.0.0.1 from a small `node:http` server; drives Debian's
 * `chromium` (default `/usr/bin/chromium`) with the pinned `playwright-core`.
 * Needs `deno task build:npm` first (for `npm/esm/mod.js` and the pinned
 * tools in `.build/tools`); `deno task test` installs Chromium when it is
 * missing and runs this after the build.
 *
 * @module
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HERE = fileURLToPath(new URL("./", import.meta.url));
const BUILT = `${ROOT}npm/esm/mod.js`;
const tools = createRequire(`${ROOT}.build/tools/package.json`);
const LIMIT_MS = 120_000;

/** Bundles `entry` with the built ESM package standing in for the package and for `mod.ts`. */
async function bundle(entry, format) {
  const esbuild = tools("esbuild");
  const builtPackage = {
    name: "built-package",
    setup(build) {
      build.onResolve({ filter: /(^|\/)mod\.ts$/ }, (args) => {
        const path = resolve(args.resolveDir, args.path);
        return path === resolve(ROOT, "mod.ts") ? { path: BUILT } : undefined;
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    ...(format === "iife" ? { globalName: "__janusBrowser" } : {}),
    platform: "browser",
    target: "es2022",
    alias: { "@janus/supervisor": BUILT },
    plugins: [builtPackage],
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

/** Serves the page and the worker modules on 127.0.0.1, on a port the system picks. */
async function serve(files) {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const body = files[path];
    if (body === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const type = path.endsWith(".js") ? "text/javascript" : "text/html";
    response.writeHead(200, {
      "content-type": `${type}; charset=utf-8`,
      // Cross-origin isolation, for the SharedArrayBuffer that watches the spinning workers.
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    }).end(body);
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  return server;
}

async function main() {
  const executablePath = process.argv[2] ?? "/usr/bin/chromium";
  const timer = setTimeout(() => {
    console.log(`not ok - browser finished within ${LIMIT_MS / 1000} s\n# pass 0\n# fail 1`);
    process.exit(1);
  }, LIMIT_MS);
  timer.unref();

  const checks = [];
  let server;
  let browser;
  try {
    const files = {
      "/":
        '<!doctype html><meta charset="utf-8"><title>janus</title><script src="/page.js"></script>',
      "/page.js": await bundle(`${HERE}page.ts`, "iife"),
      "/worker.js": await bundle(`${HERE}worker.ts`, "esm"),
      "/broken.js": await bundle(`${ROOT}tests/_worker_broken.ts`, "esm"),
    };
    server = await serve(files);
    const origin = `http://127.0.0.1:${server.address().port}`;
    const { chromium } = tools("playwright-core");
    browser = await chromium.launch({ executablePath, timeout: 60_000 });
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (m) => console.log("# console:", m.text()));
    await page.goto(`${origin}/`);
    const report = await page.evaluate(
      (urls) => globalThis.__janusBrowser.runBrowserScenario(urls),
      {
        worker: `${origin}/worker.js`,
        broken: `${origin}/broken.js`,
        missing: `${origin}/no-such-module.js`,
      },
    );
    const globals = Object.entries(report.globals).map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(
      `# chromium ${browser.version()} (playwright-core ${
        tools("playwright-core/package.json").version
      }), served from ${origin}: ${globals}`,
    );
    const sandbox = ["process", "Deno", "Bun", "require"];
    const present = sandbox.filter((global) => report.globals[global] !== "undefined");
    checks.push({
      name: `the page has no ${sandbox.join(", ")}`,
      ok: present.length === 0,
      detail: present.length ? `present: ${present.join(", ")}` : "",
    });
    checks.push(...report.checks);
    checks.push({
      name: "the page raised no uncaught error",
      ok: errors.length === 0,
      detail: errors.join("\n"),
    });
  } catch (error) {
    checks.push({
      name: "the scenario runs in Chromium",
      ok: false,
      detail: error?.stack ?? String(error),
    });
  } finally {
    await browser?.close().catch(() => {});
    await new Promise((done) => server ? server.close(done) : done());
  }

  checks.forEach((check, i) => {
    console.log(`${check.ok ? "ok" : "not ok"} ${i + 1} - browser: ${check.name}`);
    if (!check.ok) console.log(check.detail.split("\n").map((line) => `#   ${line}`).join("\n"));
  });
  const failed = checks.filter((check) => !check.ok).length;
  console.log(`1..${checks.length}\n# pass ${checks.length - failed}\n# fail ${failed}`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
