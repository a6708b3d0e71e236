/**
 * Builds the npm package into `npm/`, doing dnt's job for a zero-dependency
 * module with TypeScript's compiler:
 *
 * 1. `compile`: `mod.ts` and `src/` to ESM (`npm/esm/`) and CommonJS
 *    (`npm/script/`, with its own `{"type":"commonjs"}`), each with `.d.ts`;
 *    `npm/package.json` from `deno.json`; README.md and LICENSE copied.
 * 2. `publint`: publint in strict mode; any message fails.
 * 3. `attw`: `attw --pack npm` (are the types wrong?); any problem fails.
 * 4. `size`: the ESM build bundled and minified with esbuild, then gzipped.
 *
 * Run it with `deno task build:npm`. `test_all.ts` runs the same steps.
 *
 * @module
 */
import ts from "typescript";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import {
  BUILD_DIR,
  ensureNodeTools,
  exists,
  mustRun,
  NPM_DIR,
  ROOT,
  stripAnsi,
  toolBin,
} from "./_util.ts";

const DESCRIPTION = "Keeps long-running async services alive in one process: restarts them by " +
  "policy with exponential backoff and a restart limit, and stops them gracefully. " +
  "Zero dependencies, web standards only.";

/** One step of the build: throws on failure, may return a one-line note. */
export interface BuildStep {
  readonly name: string;
  readonly run: () => Promise<string | void>;
}

/** The build's steps, in order; each needs the ones before it. */
export const BUILD_STEPS: readonly BuildStep[] = [
  { name: "compile", run: compile },
  { name: "publint", run: publint },
  { name: "attw", run: attw },
  { name: "size", run: size },
];

/** The compiler options both builds share, as a tsconfig would spell them. */
const BASE_OPTIONS = {
  target: "ES2022",
  lib: ["ES2022", "ESNext.Disposable", "DOM"],
  types: [],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  declaration: true,
  rewriteRelativeImportExtensions: true,
  rootDir: ".",
  skipLibCheck: true,
  noEmitOnError: true,
  newLine: "lf",
};

/** `./x.ts` to `./x.js` (and `.mts`, `.cts`), for relative specifiers only. */
function rewriteSpecifier(specifier: string): string | undefined {
  if (!/^\.\.?\//.test(specifier)) return undefined;
  const match = specifier.match(/\.([mc]?)ts$/);
  return match && !specifier.endsWith(".d.ts")
    ? `${specifier.slice(0, -match[0].length)}.${match[1]}js`
    : undefined;
}

/**
 * `rewriteRelativeImportExtensions` rewrites the JavaScript only: the
 * declarations keep `./x.ts`, naming files the package does not ship (recent
 * TypeScript maps them to `./x.d.ts`; other readers of `.d.ts` files need
 * not). This rewrites them to the shipped `./x.js`, as dnt's output has, in
 * imports, re-exports and `import("…")` types.
 */
const rewriteDeclarationImports: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => {
  const { factory } = context;
  const literal = (node: ts.Expression | undefined) =>
    node && ts.isStringLiteral(node) ? rewriteSpecifier(node.text) : undefined;
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node)) {
      const to = literal(node.moduleSpecifier);
      if (to) {
        return factory.updateImportDeclaration(
          node,
          node.modifiers,
          node.importClause,
          factory.createStringLiteral(to),
          node.attributes,
        );
      }
    } else if (ts.isExportDeclaration(node)) {
      const to = literal(node.moduleSpecifier);
      if (to) {
        return factory.updateExportDeclaration(
          node,
          node.modifiers,
          node.isTypeOnly,
          node.exportClause,
          factory.createStringLiteral(to),
          node.attributes,
        );
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const to = literal(node.argument.literal as ts.Expression);
      if (to) {
        return factory.updateImportTypeNode(
          node,
          factory.createLiteralTypeNode(factory.createStringLiteral(to)),
          node.attributes,
          node.qualifier,
          node.typeArguments,
          node.isTypeOf,
        );
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (root) => visit(root) as ts.SourceFile | ts.Bundle;
};

/** Compiles `mod.ts` and everything it imports into `outDir`, or throws with the diagnostics. */
function emit(outDir: string, format: { module: string; moduleResolution: string }): string[] {
  const converted = ts.convertCompilerOptionsFromJson(
    { ...BASE_OPTIONS, ...format, outDir },
    ROOT,
  );
  const diagnostics: ts.Diagnostic[] = [...converted.errors];
  const written: string[] = [];
  let program: ts.Program | undefined;
  if (diagnostics.length === 0) {
    program = ts.createProgram([join(ROOT, "mod.ts")], converted.options);
    diagnostics.push(...ts.getPreEmitDiagnostics(program));
  }
  if (diagnostics.length === 0) {
    const result = program!.emit(
      undefined,
      (fileName, text) => {
        ts.sys.writeFile(fileName, text);
        written.push(fileName);
      },
      undefined,
      false,
      { afterDeclarations: [rewriteDeclarationImports] },
    );
    diagnostics.push(...result.diagnostics);
  }
  if (diagnostics.length > 0) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => "\n",
    };
    const first = diagnostics[0]!;
    let where = "";
    if (first.file && first.start !== undefined) {
      const { line, character } = first.file.getLineAndCharacterOfPosition(first.start);
      where = `${relative(ROOT, first.file.fileName)}:${line + 1}:${character + 1} `;
    }
    const message = ts.flattenDiagnosticMessageText(first.messageText, " ");
    throw new Error(
      `TypeScript ${ts.version} (${format.module}), ${diagnostics.length} error(s): ` +
        `${where}TS${first.code} ${message}\n` +
        ts.formatDiagnosticsWithColorAndContext(diagnostics, host),
    );
  }
  return written;
}

async function compile(): Promise<string> {
  const deno = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  await Deno.remove(NPM_DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(NPM_DIR, { recursive: true });

  const esm = emit(join(NPM_DIR, "esm"), { module: "ESNext", moduleResolution: "Bundler" });
  const cjs = emit(join(NPM_DIR, "script"), { module: "CommonJS", moduleResolution: "Node10" });
  await Deno.writeTextFile(
    join(NPM_DIR, "script", "package.json"),
    JSON.stringify({ type: "commonjs" }, null, 2) + "\n",
  );
  // Every relative specifier must have been rewritten to `.js`.
  for (const file of [...esm, ...cjs]) {
    const text = await Deno.readTextFile(file);
    const stale = text.match(/(?:from |require\(|import\()\s*["']\.{1,2}\/[^"']*\.ts["']/);
    if (stale) throw new Error(`${relative(ROOT, file)} still imports a .ts file: ${stale[0]}`);
  }

  const packageJson = {
    name: deno.name,
    version: deno.version,
    description: DESCRIPTION,
    keywords: ["supervisor", "restart", "backoff", "service", "abortsignal", "eventtarget"],
    license: "MIT",
    type: "module",
    main: "./script/mod.js",
    module: "./esm/mod.js",
    types: "./script/mod.d.ts",
    exports: {
      ".": {
        import: { types: "./esm/mod.d.ts", default: "./esm/mod.js" },
        require: { types: "./script/mod.d.ts", default: "./script/mod.js" },
      },
      "./package.json": "./package.json",
    },
    sideEffects: false,
    engines: { node: ">=20" },
    files: ["esm/", "script/", "README.md", "LICENSE"],
  };
  await Deno.writeTextFile(
    join(NPM_DIR, "package.json"),
    JSON.stringify(packageJson, null, 2) + "\n",
  );

  await Deno.copyFile(join(ROOT, "LICENSE"), join(NPM_DIR, "LICENSE"));
  let note = "";
  if (await exists(join(ROOT, "README.md"))) {
    await Deno.copyFile(join(ROOT, "README.md"), join(NPM_DIR, "README.md"));
  } else {
    note = "; README.md missing, not copied";
    console.warn("warning: README.md does not exist; the package ships without one");
  }
  const summary =
    `${deno.name}@${deno.version}: ${esm.length} ESM + ${cjs.length} CommonJS files ` +
    `(TypeScript ${ts.version})${note}`;
  console.log(summary);
  return summary;
}

async function publint(): Promise<void> {
  const output = await mustRun(toolBin("publint"), [
    "run",
    NPM_DIR,
    "--level",
    "suggestion",
    "--strict",
  ]);
  // --strict fails on warnings; a suggestion only prints, so fail on it here.
  if (/^(Suggestions|Warnings|Errors):/m.test(stripAnsi(output))) {
    throw new Error("publint reported problems (see above)");
  }
}

async function attw(): Promise<void> {
  await mustRun(toolBin("attw"), ["--pack", NPM_DIR, "--format", "table-flipped"]);
}

async function size(): Promise<string> {
  const outfile = join(BUILD_DIR, "size", "mod.min.js");
  await mustRun(toolBin("esbuild"), [
    join(NPM_DIR, "esm", "mod.js"),
    "--bundle",
    "--minify",
    "--format=esm",
    "--target=es2022",
    "--log-level=warning",
    `--outfile=${outfile}`,
  ]);
  const minified = await Deno.readFile(outfile);
  const gzipped = gzipSync(minified, { level: 9 }).length;
  const note = `npm/esm/mod.js: ${minified.length} B minified, ${gzipped} B minified+gzipped`;
  console.log(note);
  return note;
}

if (import.meta.main) {
  const started = performance.now();
  try {
    await ensureNodeTools();
    for (const step of BUILD_STEPS) {
      console.log(`\n== npm/${step.name}`);
      await step.run();
    }
  } catch (error) {
    console.error(`\nbuild:npm failed: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
  console.log(`\nbuild:npm: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
