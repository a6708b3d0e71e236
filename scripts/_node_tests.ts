/**
 * Turns the Deno-first test suite into one Node runs against the built
 * package: every `tests/*.ts` but `docs_test.ts` is transpiled, once as ESM
 * into `.build/node/esm/tests/` and once as CommonJS into
 * `.build/node/cjs/tests/`, with `../mod.ts` replaced by `@janus/supervisor`
 * (linked to `npm/` from `.build/node_modules`) and `../src/x.ts` by the
 * built `npm/esm/src/x.js` or `npm/script/src/x.js`.
 *
 * @module
 */
import ts from "typescript";
import { join, relative } from "node:path";
import { BUILD_DIR, exists, NPM_DIR, ROOT } from "./_util.ts";

/** Where the transpiled tests go, one folder per module format. */
export const NODE_TESTS_DIR: string = join(BUILD_DIR, "node");
/** The module formats the built package is tested in, and where each lives in `npm/`. */
export const FORMATS = { esm: "esm", cjs: "script" } as const;
/** Test files that only Deno can run. */
const DENO_ONLY = new Set(["docs_test.ts"]);

/** The `tests/*_test.ts` files that Bun and Node run, sorted. */
export async function portableTestFiles(): Promise<string[]> {
  return (await testSources()).filter((name) => name.endsWith("_test.ts"));
}

/** Every top-level `tests/*.ts` file (tests and helpers) but the Deno-only ones. */
async function testSources(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "tests"))) {
    if (entry.isFile && entry.name.endsWith(".ts") && !DENO_ONLY.has(entry.name)) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

/** Points the test file's imports of the sources at the built package. */
function retarget(text: string, format: keyof typeof FORMATS): string {
  const testsDir = join(NODE_TESTS_DIR, format, "tests");
  return text
    .replace(/(["'])\.\.\/mod\.ts\1/g, '"@janus/supervisor"')
    .replace(/(["'])\.\.\/src\/([\w./-]+)\.ts\1/g, (_match, _quote, path: string) => {
      const built = join(NPM_DIR, FORMATS[format], "src", `${path}.js`);
      return JSON.stringify(relative(testsDir, built));
    });
}

/**
 * Transpiles the tests for Node (no type check: `deno check` did that) and
 * links the built package where Node resolves it. Throws on a syntax error
 * or when something the tests import is missing.
 */
export async function compileNodeTests(): Promise<string> {
  const sources = await testSources();
  const tests = sources.filter((name) => name.endsWith("_test.ts"));
  if (tests.length === 0) throw new Error("no tests/*_test.ts to run");
  const fakeTimers = join(ROOT, "node_modules", "@sinonjs", "fake-timers", "package.json");
  if (!await exists(fakeTimers)) {
    throw new Error("node_modules/@sinonjs/fake-timers is missing: run `deno install` first");
  }
  if (!await exists(join(NPM_DIR, "package.json"))) {
    throw new Error("npm/ is not built: run `deno task build:npm` first");
  }

  const link = join(BUILD_DIR, "node_modules", "@janus", "supervisor");
  await Deno.mkdir(join(link, ".."), { recursive: true });
  await Deno.remove(link).catch(() => {});
  await Deno.symlink(relative(join(link, ".."), NPM_DIR), link);

  for (const format of Object.keys(FORMATS) as (keyof typeof FORMATS)[]) {
    const outDir = join(NODE_TESTS_DIR, format);
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(join(outDir, "tests"), { recursive: true });
    const type = format === "esm" ? "module" : "commonjs";
    await Deno.writeTextFile(join(outDir, "package.json"), JSON.stringify({ type }) + "\n");
    for (const name of sources) {
      const source = await Deno.readTextFile(join(ROOT, "tests", name));
      const output = ts.transpileModule(retarget(source, format), {
        fileName: name,
        reportDiagnostics: true,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: format === "esm" ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
          esModuleInterop: true,
          rewriteRelativeImportExtensions: true,
          newLine: ts.NewLineKind.LineFeed,
        },
      });
      if (output.diagnostics?.length) {
        throw new Error(
          `tests/${name}: ${
            output.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
              .join("; ")
          }`,
        );
      }
      await Deno.writeTextFile(
        join(outDir, "tests", name.replace(/\.ts$/, ".js")),
        output.outputText,
      );
    }
  }
  return `${tests.length} test files + ${sources.length - tests.length} helpers, ESM and CommonJS`;
}
