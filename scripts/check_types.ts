/**
 * Compiles a small consumer project against the built npm package in every
 * TypeScript setup the README promises, with `strict` and no
 * `skipLibCheck`, so the package's `.d.ts` files are checked as a user's
 * compiler reads them:
 *
 * - types: Node's (`lib: ["es2022"]`, `@types/node`) or the DOM's
 *   (`lib: ["es2022", "dom"]`, no `@types/node`), and, where TypeScript reads
 *   `await using`, the DOM's with `lib: ["esnext", "dom"]`;
 * - modules: `nodenext` and `node16` (an ES module and a CommonJS file, so
 *   both `exports` conditions), `bundler`, and CommonJS;
 * - compilers: the oldest TypeScript 5 with the types of the oldest Node the
 *   package supports, and the current TypeScript with the current
 *   `@types/node`, all pinned in `scripts/tools/package.json`.
 *
 * The projects are `tests/types/*.ts`, laid out in `.build/types/` and
 * compiled a few at a time. Each setup passes when `tsc` reports nothing and
 * has read the build (`npm/esm` or `npm/script`) its resolution must pick.
 * Run it with `deno task test:types` after `deno task build:npm`;
 * `test_all.ts` runs it as the `types/consumers` step.
 *
 * @module
 */
import { join, relative } from "node:path";
import {
  BUILD_DIR,
  ensureNodeTools,
  exists,
  NPM_DIR,
  ROOT,
  run,
  stripAnsi,
  TOOLS_DIR,
} from "./_util.ts";

/** Where the consumer projects are laid out. */
export const TYPES_DIR: string = join(BUILD_DIR, "types");
const SOURCES = join(ROOT, "tests", "types");

/** A TypeScript to compile with, and the `@types/node` that goes with it. */
interface Compiler {
  /** The short name of the setups, `ts5.0`. */
  readonly id: string;
  /** The alias it is installed under in `.build/tools/node_modules`. */
  readonly package: string;
  /** The alias of its `@types/node` there. */
  readonly nodeTypes: string;
  /** Whether it knows `module: preserve` (5.4 on). */
  readonly preserve: boolean;
  /** Whether it reads `await using` (5.2 on). */
  readonly using: boolean;
  /** Whether it still has `moduleResolution: node10` (removed in 7.0). */
  readonly node10: boolean;
}

/**
 * TypeScript 5.0, the oldest the package claims, with the types of Node 20,
 * the oldest Node it supports (they still compile on 5.0); and the current
 * TypeScript with the current `@types/node`, which needs TypeScript 5.6 on.
 * TypeScript 6.0 is left out: 7.0 is its port, and checks alike.
 */
const COMPILERS: readonly Compiler[] = [
  {
    id: "ts5.0",
    package: "typescript-5.0",
    nodeTypes: "@types/node-20",
    preserve: false,
    using: false,
    node10: true,
  },
  {
    id: "ts7.0",
    package: "typescript-7.0",
    nodeTypes: "@types/node-26",
    preserve: true,
    using: true,
    node10: false,
  },
];

/** Which globals a project has, and whether they declare `Symbol.asyncDispose`. */
interface Globals {
  readonly lib: readonly string[];
  readonly types: readonly string[];
  readonly disposable: boolean;
  /** Only for compilers that read `await using`: older ones have no `esnext.disposable`. */
  readonly modern?: boolean;
}

const LIBS: Readonly<Record<string, Globals>> = {
  /** Node's types, no DOM: a server. */
  node: { lib: ["es2022"], types: ["node"], disposable: true },
  /** The DOM, no Node types: a browser app, a worker, an edge function. */
  dom: { lib: ["es2022", "dom"], types: [], disposable: false },
  /** The DOM and the newest lib, where `await using` works with no Node types. */
  "esnext-dom": { lib: ["esnext", "dom"], types: [], disposable: true, modern: true },
};

/** The build a setup must read: `npm/esm` (the `import` condition) or `npm/script`. */
type Build = "esm" | "script";

/** A module setup: its compiler options, its files' extensions, the builds it resolves to. */
interface Modules {
  readonly options: Readonly<Record<string, string>>;
  /** One copy of each consumer file per extension. */
  readonly extensions: readonly string[];
  /** `type` of the project's package.json. */
  readonly type: "module" | "commonjs";
  readonly builds: readonly Build[];
}

function modules(compiler: Compiler): Record<string, Modules> {
  const both = { extensions: [".mts", ".cts"], type: "module", builds: ["esm", "script"] } as const;
  return {
    nodenext: { options: { module: "nodenext", moduleResolution: "nodenext" }, ...both },
    node16: { options: { module: "node16", moduleResolution: "node16" }, ...both },
    bundler: {
      options: { module: compiler.preserve ? "preserve" : "esnext", moduleResolution: "bundler" },
      extensions: [".ts"],
      type: "module",
      builds: ["esm"],
    },
    // TypeScript 7 has no node10: a CommonJS project resolves as a bundler does.
    commonjs: {
      options: { module: "commonjs", moduleResolution: compiler.node10 ? "node10" : "bundler" },
      extensions: [".ts"],
      type: "commonjs",
      builds: ["script"],
    },
  };
}

/** One consumer project. */
interface Setup {
  /** `ts5.0/node-nodenext`. */
  readonly id: string;
  readonly compiler: Compiler;
  readonly dir: string;
  readonly builds: readonly Build[];
}

/** What checking one setup found. */
export interface SetupResult {
  readonly id: string;
  readonly ok: boolean;
  readonly seconds: number;
  /** The compiler's output, or why the setup failed. */
  readonly output: string;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}

async function symlink(target: string, path: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.remove(path).catch(() => {});
  await Deno.symlink(relative(join(path, ".."), target), path);
}

/** The installed version of an aliased package in `.build/tools`. */
async function installedVersion(alias: string): Promise<string> {
  const manifest = join(TOOLS_DIR, "node_modules", alias, "package.json");
  return JSON.parse(await Deno.readTextFile(manifest)).version;
}

/** Lays out every consumer project in `.build/types/`, afresh. */
async function layOut(): Promise<Setup[]> {
  await Deno.remove(TYPES_DIR, { recursive: true }).catch(() => {});
  const read = (name: string) => Deno.readTextFile(join(SOURCES, name));
  const sources = {
    consumer: await read("consumer.ts"),
    dispose: await read("dispose.ts"),
    using: await read("using.ts"),
    dom: await read("dom.ts"),
  };
  const setups: Setup[] = [];
  for (const compiler of COMPILERS) {
    const base = join(TYPES_DIR, compiler.id);
    // Where a project of that setup finds its dependencies, as npm would lay them out.
    await symlink(NPM_DIR, join(base, "node_modules", "@janus", "supervisor"));
    await symlink(
      join(TOOLS_DIR, "node_modules", compiler.nodeTypes),
      join(base, "node_modules", "@types", "node"),
    );
    for (const [lib, globals] of Object.entries(LIBS)) {
      if (globals.modern && !compiler.using) continue;
      for (const [name, setup] of Object.entries(modules(compiler))) {
        const dir = join(base, `${lib}-${name}`);
        await Deno.mkdir(dir, { recursive: true });
        // Disposal is typed only where the globals declare Symbol.asyncDispose.
        const names: (keyof typeof sources)[] = ["consumer"];
        if (globals.disposable) names.push("dispose");
        if (globals.disposable && compiler.using) names.push("using");
        if (globals.lib.includes("dom")) names.push("dom");
        const files: string[] = [];
        for (const source of names) {
          for (const extension of setup.extensions) {
            files.push(`${source}${extension}`);
            await Deno.writeTextFile(join(dir, `${source}${extension}`), sources[source]);
          }
        }
        await writeJson(join(dir, "package.json"), { private: true, type: setup.type });
        await writeJson(join(dir, "tsconfig.json"), {
          compilerOptions: {
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            target: "es2022",
            lib: globals.lib,
            types: globals.types,
            ...setup.options,
          },
          files,
        });
        setups.push({ id: `${compiler.id}/${lib}-${name}`, compiler, dir, builds: setup.builds });
      }
    }
  }
  return setups;
}

/** Compiles one setup; passes when `tsc` is silent and has read the builds it must. */
async function check(setup: Setup): Promise<SetupResult> {
  const started = performance.now();
  const tsc = join(TOOLS_DIR, "node_modules", setup.compiler.package, "bin", "tsc");
  const result = await run("node", [tsc, "-p", setup.dir, "--listFiles", "--pretty", "false"], {
    quiet: true,
    timeoutMs: 300_000,
  });
  const seconds = (performance.now() - started) / 1000;
  const lines = stripAnsi(result.output).split("\n").map((line) => line.trim()).filter(Boolean);
  const npm = NPM_DIR + "/";
  const read = new Set(
    lines.filter((line) => line.startsWith(npm)).map((line) => line.slice(npm.length)),
  );
  const problems = lines.filter((line) => !line.startsWith("/"));
  if (result.code !== 0 || problems.length > 0) {
    return { id: setup.id, ok: false, seconds, output: problems.join("\n") || result.output };
  }
  const missing = setup.builds.filter((build) => !read.has(`${build}/mod.d.ts`));
  const stray = (["esm", "script"] as const).filter((build) =>
    !setup.builds.includes(build) && read.has(`${build}/mod.d.ts`)
  );
  if (missing.length > 0 || stray.length > 0) {
    const output = [
      ...missing.map((build) => `did not read npm/${build}/mod.d.ts`),
      ...stray.map((build) => `read npm/${build}/mod.d.ts, which this resolution must not pick`),
    ].join("\n");
    return { id: setup.id, ok: false, seconds, output };
  }
  return { id: setup.id, ok: true, seconds, output: `${read.size} files of npm/` };
}

/** Runs `tasks` with at most `limit` of them at a time, keeping their order. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * Lays out and compiles every setup, printing one line each, and returns
 * what each found. Needs the pinned tools and the built `npm/`.
 */
export async function checkTypes(): Promise<SetupResult[]> {
  if (!await exists(join(NPM_DIR, "package.json"))) {
    throw new Error("npm/ is not built: run `deno task build:npm` first");
  }
  const setups = await layOut();
  for (const compiler of COMPILERS) {
    console.log(
      `${compiler.id}: TypeScript ${await installedVersion(compiler.package)}, ` +
        `@types/node ${await installedVersion(compiler.nodeTypes)}`,
    );
  }
  // One setup per core: TypeScript 5 checks on one thread.
  const limit = Math.max(1, navigator.hardwareConcurrency);
  const results = await pool(
    setups.map((setup) => async () => {
      const result = await check(setup);
      const head = `${result.ok ? "ok    " : "FAILED"} ${result.id} (${
        result.seconds.toFixed(1)
      } s)`;
      console.log(result.ok ? `${head}: ${result.output}` : `${head}\n${result.output}`);
      return result;
    }),
    limit,
  );
  return results;
}

if (import.meta.main) {
  const started = performance.now();
  try {
    await ensureNodeTools();
    const results = await checkTypes();
    const failed = results.filter((result) => !result.ok).length;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`\ntypes: ${results.length} setups in ${seconds} s`);
    console.log(`${results.length - failed} passed, ${failed} failed`);
    Deno.exit(failed > 0 ? 1 : 0);
  } catch (error) {
    console.error(`check_types failed: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
