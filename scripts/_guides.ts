/**
 * The README's guides, run the way a user would run them, as the
 * `guides/*` steps of `test_all.ts`:
 *
 * - `guides/install-deno`: a Deno project outside the clone imports
 *   `@janus/supervisor` through an import map entry that points at the
 *   clone's `mod.ts`;
 * - `guides/install-npm`: `npm pack` of the built `npm/`, then
 *   `npm install` of that tarball and of the folder in fresh projects outside
 *   the clone, each imported as an ES module and required as CommonJS;
 * - `guides/install-bun`: `bun add` of the same tarball, imported by Bun;
 * - `guides/deno-fake-time`: `examples/testing/deno_fake_time_test.ts` with
 *   `@std/testing/time` mapped to `tests/_fake_time.ts` (JSR is out of reach:
 *   see that file);
 * - `guides/deno-sinon`: `examples/testing/deno_sinon_test.ts` as it is;
 * - `guides/tools`: the runners pinned in `scripts/guides/` installed into
 *   `.build/guides/node` beside the built package and the example files;
 * - `guides/vitest-nodeNN`, `guides/nodeNN-mock-timers`,
 *   `guides/bun-fake-timers`: each example file run by its own runner.
 *
 * @module
 */
import { join, relative } from "node:path";
import {
  BUILD_DIR,
  ensureNpmProject,
  exists,
  mustRun,
  nodeBinary,
  NPM_DIR,
  ROOT,
} from "./_util.ts";

/** A test runner's command, whose output `test_all.ts` reads the counts from. */
export interface GuideCommand {
  readonly cmd: string;
  readonly args: string[];
  readonly cwd: string;
}

/** One `guides/…` step: a check that throws on failure, or a test runner's command. */
export type GuideStep =
  & {
    readonly id: string;
    readonly needs: readonly string[];
    readonly describe: string;
  }
  & (
    | { readonly runner: "check"; readonly check: () => Promise<string> }
    | {
      readonly runner: "deno" | "tap" | "bun" | "vitest";
      readonly command: () => Promise<GuideCommand>;
    }
  );

/** Where the Node, vitest and Bun guides run: the pinned runners, the package, the examples. */
export const GUIDES_NODE_DIR: string = join(BUILD_DIR, "guides", "node");
const EXAMPLES = join(ROOT, "examples", "testing");
/** The example files that run against the built package, from `GUIDES_NODE_DIR`. */
const PACKAGE_EXAMPLES = [
  "vitest.test.ts",
  "node_mock_timers.test.mjs",
  "bun_fake_timers.test.ts",
] as const;
const BUN = "bun@1.4";
/** vitest 5 needs Node 22.12 or later. */
const VITEST_NODE_MAJORS = [22, 24] as const;
/** `mock.timers` with `apis` and `Date` exists from Node 20.11 on. */
const MOCK_TIMERS_NODE_MAJORS = [20, 22, 24] as const;

/** A small program that fails once, is restarted, and is stopped: what the install guides run. */
const PROGRAM = `
const supervisor = new Supervisor({ backoff: { initialDelay: 1, jitter: 0 } });
supervisor.add("feed", async (signal, { attempt }) => {
  if (attempt === 1) throw new Error("connection reset");
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
});
await supervisor.start();
while (supervisor.status()[0].attempt < 2) await new Promise((r) => setTimeout(r, 1));
const { attempt } = supervisor.status()[0];
console.log(JSON.stringify({ attempt, report: await supervisor.stop() }));
`;
const EXPECTED = JSON.stringify({ attempt: 2, report: { stopped: ["feed"], timedOut: [] } });

/** Throws unless the program's last output line is the expected report. */
function expectReport(output: string, what: string): void {
  const last = output.trim().split("\n").at(-1);
  if (last !== EXPECTED) {
    throw new Error(`${what} printed ${JSON.stringify(last)}, not ${EXPECTED}`);
  }
}

/** Runs `fn` in a fresh directory outside the clone, removed afterwards. */
async function outsideTheClone<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "janus-guide-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `npm pack` of the built package into `dir`; returns the tarball's path. */
async function pack(dir: string): Promise<string> {
  const output = await mustRun("npm", ["pack", NPM_DIR, "--pack-destination", dir, "--silent"], {
    quiet: true,
  });
  const name = output.trim().split("\n").at(-1)!;
  const tarball = join(dir, name);
  if (!name.endsWith(".tgz") || !await exists(tarball)) {
    throw new Error(`npm pack printed ${JSON.stringify(name)}: no tarball`);
  }
  return tarball;
}

/** A fresh npm project in `dir` with `@janus/supervisor` installed from `from`. */
async function npmProject(dir: string, from: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "my-app", version: "1.0.0", private: true }) + "\n",
  );
  await mustRun("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", from], {
    cwd: dir,
    quiet: true,
  });
}

/**
 * Runs the program as an ES module and as CommonJS with `node`, from `dir`,
 * checking that both load the package installed in `dir/node_modules`.
 */
async function runOnNode(dir: string, what: string): Promise<void> {
  const installed = await Deno.realPath(join(dir, "node_modules", "@janus", "supervisor"));
  const check = (resolved: string) =>
    `if (!${resolved}.startsWith(${JSON.stringify(installed + "/")})) {\n` +
    `  throw new Error("@janus/supervisor resolved to " + ${resolved});\n}\n`;
  const esm = `import { Supervisor } from "@janus/supervisor";\n` +
    check(`new URL(import.meta.resolve("@janus/supervisor")).pathname`) + PROGRAM;
  const cjs = `const { Supervisor } = require("@janus/supervisor");\n` +
    check(`require.resolve("@janus/supervisor")`) +
    `(async () => {${PROGRAM}})().catch((error) => {\n  console.error(error);\n  process.exit(1);\n});\n`;
  await Deno.writeTextFile(join(dir, "main.mjs"), esm);
  await Deno.writeTextFile(join(dir, "main.cjs"), cjs);
  const node = await nodeBinary(20);
  expectReport(await mustRun(node, ["main.mjs"], { cwd: dir }), `${what}, ES module`);
  expectReport(await mustRun(node, ["main.cjs"], { cwd: dir }), `${what}, CommonJS`);
}

async function installNpm(): Promise<string> {
  return await outsideTheClone(async (dir) => {
    const tarball = await pack(dir);
    await npmProject(join(dir, "from-tarball"), tarball);
    await runOnNode(join(dir, "from-tarball"), "npm install of the tarball");
    await npmProject(join(dir, "from-folder"), NPM_DIR);
    await runOnNode(join(dir, "from-folder"), "npm install of the npm/ folder");
    return `${relative(dir, tarball)}: ES module and CommonJS, from the tarball and the folder`;
  });
}

async function installBun(): Promise<string> {
  return await outsideTheClone(async (dir) => {
    const tarball = await pack(dir);
    const app = join(dir, "app");
    await Deno.mkdir(app);
    await Deno.writeTextFile(
      join(app, "package.json"),
      JSON.stringify({ name: "my-app", version: "1.0.0", private: true }) + "\n",
    );
    await mustRun("npx", ["-y", BUN, "add", tarball], { cwd: app });
    await Deno.writeTextFile(
      join(app, "main.ts"),
      `import { Supervisor } from "@janus/supervisor";\n${PROGRAM}`,
    );
    expectReport(await mustRun("npx", ["-y", BUN, "main.ts"], { cwd: app }), "bun add");
    return `bun add ${relative(dir, tarball)}`;
  });
}

async function installDeno(): Promise<string> {
  return await outsideTheClone(async (dir) => {
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ imports: { "@janus/supervisor": join(ROOT, "mod.ts") } }, null, 2) + "\n",
    );
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      `import { Supervisor } from "@janus/supervisor";\n${PROGRAM}`,
    );
    const output = await mustRun(Deno.execPath(), ["run", "--no-lock", "main.ts"], { cwd: dir });
    expectReport(output, "deno run with an import map entry");
    return "import map entry pointing at the clone's mod.ts";
  });
}

/**
 * Writes `.build/guides/deno.json`: the repository's import map, plus
 * `@std/testing/time` mapped to the FakeTime stand-in, and returns its path.
 */
async function fakeTimeConfig(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const dir = join(BUILD_DIR, "guides");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "deno.json");
  const imports = {
    ...config.imports,
    "@janus/supervisor": relative(dir, join(ROOT, "mod.ts")),
    "@std/testing/time": relative(dir, join(ROOT, "tests", "_fake_time.ts")),
  };
  await Deno.writeTextFile(
    path,
    JSON.stringify({ imports, compilerOptions: config.compilerOptions }, null, 2) + "\n",
  );
  return path;
}

/** Installs the pinned runners, links the built package and copies the examples. */
async function setUpNodeGuides(): Promise<string> {
  await ensureNpmProject(join(ROOT, "scripts", "guides"), GUIDES_NODE_DIR);
  if (!await exists(join(NPM_DIR, "package.json"))) {
    throw new Error("npm/ is not built: run `deno task build:npm` first");
  }
  const link = join(GUIDES_NODE_DIR, "node_modules", "@janus", "supervisor");
  await Deno.mkdir(join(link, ".."), { recursive: true });
  await Deno.remove(link).catch(() => {});
  await Deno.symlink(relative(join(link, ".."), NPM_DIR), link);
  for (const name of PACKAGE_EXAMPLES) {
    await Deno.copyFile(join(EXAMPLES, name), join(GUIDES_NODE_DIR, name));
  }
  return `${PACKAGE_EXAMPLES.length} examples beside @janus/supervisor -> npm/`;
}

/** The `guides/*` steps, in order. */
export function guideSteps(): GuideStep[] {
  const deno = Deno.execPath();
  const steps: GuideStep[] = [
    {
      id: "guides/install-deno",
      needs: ["deno/install"],
      describe: "a Deno project outside the clone, importing it through an import map entry",
      runner: "check",
      check: installDeno,
    },
    {
      id: "guides/install-npm",
      needs: ["npm/compile"],
      describe: "npm pack npm/, npm install of the tarball and of the folder, import and require",
      runner: "check",
      check: installNpm,
    },
    {
      id: "guides/install-bun",
      needs: ["npm/compile"],
      describe: `npx -y ${BUN} add <the npm pack tarball>, then import it`,
      runner: "check",
      check: installBun,
    },
    {
      id: "guides/deno-fake-time",
      needs: ["deno/install"],
      describe: "deno test examples/testing/deno_fake_time_test.ts " +
        "(@std/testing/time mapped to tests/_fake_time.ts)",
      runner: "deno",
      command: async () => ({
        cmd: deno,
        args: [
          "test",
          "--config",
          await fakeTimeConfig(),
          "--no-lock",
          join("examples", "testing", "deno_fake_time_test.ts"),
        ],
        cwd: ROOT,
      }),
    },
    {
      id: "guides/deno-sinon",
      needs: ["deno/install"],
      describe: "deno test examples/testing/deno_sinon_test.ts",
      runner: "deno",
      command: () =>
        Promise.resolve({
          cmd: deno,
          args: ["test", join("examples", "testing", "deno_sinon_test.ts")],
          cwd: ROOT,
        }),
    },
    {
      id: "guides/tools",
      needs: ["npm/compile"],
      describe: "npm ci scripts/guides (vitest) into .build/guides/node, link npm/, copy examples",
      runner: "check",
      check: setUpNodeGuides,
    },
  ];
  for (const major of VITEST_NODE_MAJORS) {
    steps.push({
      id: `guides/vitest-node${major}`,
      needs: ["guides/tools"],
      describe: `node@${major} vitest run vitest.test.ts (examples/testing/)`,
      runner: "vitest",
      command: async () => ({
        cmd: await nodeBinary(major),
        args: [join("node_modules", "vitest", "vitest.mjs"), "run", "vitest.test.ts"],
        cwd: GUIDES_NODE_DIR,
      }),
    });
  }
  for (const major of MOCK_TIMERS_NODE_MAJORS) {
    steps.push({
      id: `guides/node${major}-mock-timers`,
      needs: ["guides/tools"],
      describe: `node@${major} --test node_mock_timers.test.mjs (examples/testing/)`,
      runner: "tap",
      command: async () => ({
        cmd: await nodeBinary(major),
        args: ["--test", "--test-reporter=spec", "node_mock_timers.test.mjs"],
        cwd: GUIDES_NODE_DIR,
      }),
    });
  }
  steps.push({
    id: "guides/bun-fake-timers",
    needs: ["guides/tools"],
    describe: `npx -y ${BUN} test ./bun_fake_timers.test.ts (examples/testing/)`,
    runner: "bun",
    command: () =>
      Promise.resolve({
        cmd: "npx",
        args: ["-y", BUN, "test", "./bun_fake_timers.test.ts"],
        cwd: GUIDES_NODE_DIR,
      }),
  });
  return steps;
}
