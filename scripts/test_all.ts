/**
 * Runs every check on every runtime the package promises, one named
 * "runtime/step" after another, and closes with a summary table and the
 * line `N passed, N failed`. Run it with `deno task test` (CI runs
 * `npx -y deno@2.9 task test`); `deno task test:deno` is the fast subset.
 *
 * - deno: `deno install` (`nodeModulesDir` is `manual`, so that nothing
 *   but this installs the tools), then each other command of the
 *   `test:deno` task (fmt, lint, check, doc lint, tests on the sources);
 * - npm: the pinned Node tools, then `build_npm.ts`'s steps (compile,
 *   publint, attw, size);
 * - types: `check_types.ts`, a consumer project compiled against the built
 *   package in each TypeScript setup the README promises (one check each);
 * - bun: `bun test` on the sources;
 * - node20, node22, node24: the tests against the built package, as ESM
 *   and as CommonJS;
 * - edge-runtime, workerd: `tests/edge/run.mjs` against the built package;
 * - guides: the README's install instructions and its "Testing your
 *   services" examples, each with its own runner (see `_guides.ts`).
 * - browser: Debian's Chromium (installed when missing), driven by the pinned
 *   `playwright-core` through `tests/browser/run.mjs`, against the bundled
 *   built package.
 *
 * A check step counts as 1 passed or 1 failed; a test step counts what its
 * runner reports. A step whose prerequisite failed is skipped.
 *
 * @module
 */
import { join } from "node:path";
import { BUILD_STEPS } from "./build_npm.ts";
import { checkTypes } from "./check_types.ts";
import { guideSteps } from "./_guides.ts";
import { compileNodeTests, FORMATS, NODE_TESTS_DIR, portableTestFiles } from "./_node_tests.ts";
import { CHROMIUM, ensureChromium } from "./_browser.ts";
import { ensureNodeTools, nodeBinary, ROOT, run, type RunResult, stripAnsi } from "./_util.ts";

const BUN = "bun@1.4";
const NODE_MAJORS = [20, 22, 24] as const;
/** The machine's Node runs the edge-runtime; miniflare's engines field asks for Node 22. */
const EDGE_NODE = { "edge-runtime": 20, workerd: 22 } as const;
/** A test step under load took 2m25s of the 3 min this was: 5 min leaves room. */
const TEST_TIMEOUT_MS = 300_000;
/**
 * Past this, the remaining steps are skipped: a hung suite must not eat CI's time. About 10 min
 * on an idle 2-core machine with every row (types, guides, browser); the same run took 14 min
 * while other work loaded it to a load average of 10. CI itself allows 90 min.
 */
const BUDGET_MS = 40 * 60_000;

/** What a step found. */
interface Outcome {
  readonly passed: number;
  readonly failed: number;
  readonly note: string;
}

interface Step {
  /** `runtime/step`. */
  readonly id: string;
  /** Ids of the steps that must have passed for this one to run. */
  readonly needs: readonly string[];
  readonly action: () => Promise<Outcome>;
  /** The command, for the header line. */
  readonly describe: string;
}

interface Row {
  readonly id: string;
  readonly status: "ok" | "FAILED" | "skipped";
  readonly passed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly note: string;
}

/** Counts a runner printed, from its last summary. */
type Parser = (output: string) => { passed: number; failed: number } | undefined;

function lastMatch(text: string, pattern: RegExp): RegExpMatchArray | undefined {
  return [...text.matchAll(pattern)].at(-1);
}

/** `ok | 12 passed (40 steps) | 0 failed`: the tests, with their steps in the note. */
const parseDeno: Parser = (output) => {
  const m = lastMatch(
    output,
    /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/gm,
  );
  return m && { passed: Number(m[1]), failed: Number(m[3]) };
};

/** `# pass 12` / `# fail 0` (TAP) or `ℹ pass 12` / `ℹ fail 0` (spec). */
const parseTap: Parser = (output) => {
  const pass = lastMatch(output, /^(?:#|ℹ) pass (\d+)\s*$/gm);
  const fail = lastMatch(output, /^(?:#|ℹ) fail (\d+)\s*$/gm);
  return pass && fail ? { passed: Number(pass[1]), failed: Number(fail[1]) } : undefined;
};

/** ` 12 pass` / ` 0 fail`. */
const parseBun: Parser = (output) => {
  const pass = lastMatch(output, /^\s*(\d+) pass\s*$/gm);
  const fail = lastMatch(output, /^\s*(\d+) fail\s*$/gm);
  return pass && fail ? { passed: Number(pass[1]), failed: Number(fail[1]) } : undefined;
};

/** vitest's summary: ` Tests  1 failed | 2 passed (3)`. */
const parseVitest: Parser = (output) => {
  const line = lastMatch(output, /^\s*Tests\s+(.*\(\d+\))\s*$/gm)?.[1];
  if (!line) return undefined;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed") };
};

/** A step that passes or fails as one. */
function checkOutcome(result: RunResult): Outcome {
  return result.code === 0
    ? { passed: 1, failed: 0, note: "" }
    : { passed: 0, failed: 1, note: result.timedOut ? "timed out" : `exit code ${result.code}` };
}

/** A test step: the runner's counts, made to agree with its exit code. */
function testOutcome(result: RunResult, parse: Parser): Outcome {
  const output = stripAnsi(result.output);
  const counts = parse(output);
  const notes: string[] = [];
  let { passed, failed } = counts ?? { passed: 0, failed: 0 };
  if (!counts) notes.push("no test counts in the output");
  if (result.timedOut) notes.push("timed out");
  if (result.code !== 0 && failed === 0) {
    failed = 1;
    if (!result.timedOut) notes.push(`exit code ${result.code} with no failed test`);
  } else if (result.code !== 0) {
    notes.push(`exit code ${result.code}`);
  }
  if (counts && passed + failed === 0) {
    failed = 1;
    notes.push("ran no test");
  }
  // Deno counts node:test's `describe` as a test and each `it` in it as a step.
  const steps = lastMatch(
    output,
    /^(?:ok|FAILED) \| \d+ passed(?: \((\d+) steps?\))? \| \d+ failed(?: \((\d+) steps?\))?/gm,
  );
  if (steps?.[1] || steps?.[2]) {
    notes.push(`steps: ${steps[1] ?? 0} passed, ${steps[2] ?? 0} failed`);
  }
  return { passed, failed, note: notes.join("; ") };
}

/** An in-process step that throws on failure. */
async function inProcess(action: () => Promise<string | void>): Promise<Outcome> {
  try {
    return { passed: 1, failed: 0, note: (await action()) ?? "" };
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return { passed: 0, failed: 1, note: message.slice(0, 120) };
  }
}

const deno = Deno.execPath();

/**
 * The commands of the `test:deno` task, one step each, so the fast task and
 * this agree; but its `deno install`, which the `deno/install` step runs
 * first. The task type-checks the sources, the tests and every doc example
 * with `deno check` first, then runs the tests with `--no-check`: under
 * `deno test` each Worker a test starts would type-check its module again,
 * about a second each, which made the Worker tests take minutes.
 */
async function denoSteps(): Promise<Step[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const task: string = config.tasks["test:deno"];
  const seen = new Map<string, number>();
  const commands = task.split("&&").map((part) => part.trim()).filter(Boolean);
  return commands.filter((command) => command !== "deno install").map((command) => {
    const sub = command.split(/\s+/)[1] ?? "command";
    const count = (seen.get(sub) ?? 0) + 1;
    seen.set(sub, count);
    // `deno run …/soak.ts` reads better as `deno/soak` than as `deno/run`.
    const script = sub === "run" ? /([\w-]+)\.ts\b/.exec(command)?.[1] : undefined;
    const name = sub === "doc" && command.includes("--lint") ? "doc-lint" : script ?? sub;
    const isTest = sub === "test";
    return {
      id: `deno/${name}${count > 1 ? `-${count}` : ""}`,
      needs: ["deno/install"],
      describe: command,
      action: async () => {
        const result = await run(deno, ["task", "--eval", command], {
          timeoutMs: isTest ? TEST_TIMEOUT_MS : 600_000,
        });
        return isTest ? testOutcome(result, parseDeno) : checkOutcome(result);
      },
    };
  });
}

async function steps(): Promise<Step[]> {
  const tests = await portableTestFiles();
  const all: Step[] = [
    {
      id: "deno/install",
      needs: [],
      describe: "deno install",
      action: async () => checkOutcome(await run(deno, ["install"])),
    },
    ...await denoSteps(),
    {
      id: "npm/tools",
      needs: [],
      describe: "npm ci the pinned tools of scripts/tools into .build/tools",
      action: () => inProcess(ensureNodeTools),
    },
    ...BUILD_STEPS.map((step, i) => ({
      id: `npm/${step.name}`,
      needs: i === 0 ? ["npm/tools", "deno/install"] : ["npm/tools", "npm/compile"],
      describe: `build_npm.ts ${step.name}`,
      action: () => inProcess(step.run),
    })),
    {
      id: "types/consumers",
      needs: ["npm/tools", "npm/compile"],
      describe: "check_types.ts: tsc on tests/types/ against npm/ in each TypeScript setup " +
        "(strict, no skipLibCheck), one check per setup",
      action: async () => {
        try {
          const results = await checkTypes();
          const failing = results.filter((result) => !result.ok).map((result) => result.id);
          if (results.length === 0) return { passed: 0, failed: 1, note: "no setup checked" };
          return {
            passed: results.length - failing.length,
            failed: failing.length,
            note: failing.length > 0 ? `failing: ${failing.join(", ")}` : "",
          };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          console.error(message);
          return { passed: 0, failed: 1, note: message.split("\n")[0]!.slice(0, 120) };
        }
      },
    },
    {
      id: "bun/test",
      needs: ["deno/install"],
      describe:
        `npx -y ${BUN} test --timeout 120000 ./tests/*_test.ts (${tests.length} files, no docs_test.ts)`,
      action: async () => {
        if (tests.length === 0) return { passed: 0, failed: 1, note: "no tests/*_test.ts" };
        // Bun's default of 5 s per test is too short for the property tests.
        const args = [
          "-y",
          BUN,
          "test",
          "--timeout",
          "120000",
          ...tests.map((t) => `./tests/${t}`),
        ];
        return testOutcome(await run("npx", args, { timeoutMs: TEST_TIMEOUT_MS }), parseBun);
      },
    },
    {
      id: "node/compile-tests",
      needs: ["deno/install", "npm/compile"],
      describe: "transpile tests/*.ts into .build/node/{esm,cjs} against @janus/supervisor",
      action: () => inProcess(compileNodeTests),
    },
  ];
  for (const major of NODE_MAJORS) {
    for (const format of Object.keys(FORMATS) as (keyof typeof FORMATS)[]) {
      const files = tests.map((t) => `tests/${t.replace(/\.ts$/, ".js")}`);
      all.push({
        id: `node${major}/${format}`,
        needs: ["node/compile-tests"],
        describe: `node@${major} --test --test-reporter=spec tests/*_test.js ` +
          `(${files.length} files, in .build/node/${format})`,
        action: async () => {
          const node = await nodeBinary(major).catch((error) => error as Error);
          if (node instanceof Error) {
            console.error(node.message);
            return { passed: 0, failed: 1, note: `no node@${major}` };
          }
          const args = ["--test", "--test-reporter=spec", ...files];
          const result = await run(node, args, {
            cwd: join(NODE_TESTS_DIR, format),
            timeoutMs: TEST_TIMEOUT_MS,
          });
          return testOutcome(result, parseTap);
        },
      });
    }
  }
  for (const runtime of ["edge-runtime", "workerd"] as const) {
    all.push({
      id: `${runtime}/scenario`,
      needs: ["npm/tools", "npm/compile"],
      describe: `node@${EDGE_NODE[runtime]} tests/edge/run.mjs ${runtime}`,
      action: async () => {
        const node = await nodeBinary(EDGE_NODE[runtime]).catch((error) => error as Error);
        if (node instanceof Error) {
          console.error(node.message);
          return { passed: 0, failed: 1, note: `no node@${EDGE_NODE[runtime]}` };
        }
        const args = ["tests/edge/run.mjs", runtime];
        return testOutcome(await run(node, args, { timeoutMs: 120_000 }), parseTap);
      },
    });
  }
  const parsers = { deno: parseDeno, tap: parseTap, bun: parseBun, vitest: parseVitest };
  for (const guide of guideSteps()) {
    all.push({
      id: guide.id,
      needs: guide.needs,
      describe: guide.describe,
      action: async () => {
        if (guide.runner === "check") return await inProcess(guide.check);
        let command;
        try {
          command = await guide.command();
        } catch (error) {
          console.error(error instanceof Error ? error.message : error);
          return { passed: 0, failed: 1, note: String(error).slice(0, 120) };
        }
        const result = await run(command.cmd, command.args, {
          cwd: command.cwd,
          timeoutMs: TEST_TIMEOUT_MS,
        });
        return testOutcome(result, parsers[guide.runner]);
      },
    });
  }
  all.push(
    {
      id: "browser/chromium",
      needs: [],
      describe: `${CHROMIUM} --version (apt-get install -y chromium when it is missing)`,
      action: () => inProcess(ensureChromium),
    },
    {
      id: "browser/scenario",
      needs: ["browser/chromium", "npm/tools", "npm/compile"],
      describe: `node tests/browser/run.mjs ${CHROMIUM}`,
      action: async () => {
        const node = await nodeBinary(20).catch((error) => error as Error);
        if (node instanceof Error) {
          console.error(node.message);
          return { passed: 0, failed: 1, note: "no node@20" };
        }
        const args = ["tests/browser/run.mjs", CHROMIUM];
        return testOutcome(await run(node, args, { timeoutMs: 180_000 }), parseTap);
      },
    },
  );
  return all;
}

function formatSeconds(seconds: number): string {
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`
    : `${seconds.toFixed(1)}s`;
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))
      .join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
  const started = performance.now();
  const rows: Row[] = [];
  const ok = new Set<string>();
  for (const step of await steps()) {
    const missing = step.needs.filter((id) => !ok.has(id));
    const overBudget = performance.now() - started > BUDGET_MS;
    if (missing.length > 0 || overBudget) {
      const note = overBudget
        ? `over the ${BUDGET_MS / 60_000} min budget`
        : `needs ${missing.join(", ")}`;
      rows.push({ id: step.id, status: "skipped", passed: 0, failed: 0, seconds: 0, note });
      console.log(`\n━━ ${step.id}: skipped, ${note}`);
      continue;
    }
    console.log(`\n━━ ${step.id}: ${step.describe}`);
    const t0 = performance.now();
    const outcome = await step.action();
    const seconds = (performance.now() - t0) / 1000;
    const status = outcome.failed === 0 ? "ok" : "FAILED";
    if (status === "ok") ok.add(step.id);
    rows.push({ id: step.id, status, seconds, ...outcome });
    console.log(
      `━━ ${step.id}: ${status} (${outcome.passed} passed / ${outcome.failed} failed, ` +
        `${formatSeconds(seconds)})${outcome.note ? `: ${outcome.note}` : ""}`,
    );
  }

  const total = (performance.now() - started) / 1000;
  const passed = rows.reduce((sum, row) => sum + row.passed, 0);
  const failed = rows.reduce((sum, row) => sum + row.failed, 0);
  const byRuntime = new Map<string, Row[]>();
  for (const row of rows) {
    const runtime = row.id.split("/")[0]!;
    byRuntime.set(runtime, [...byRuntime.get(runtime) ?? [], row]);
  }

  console.log("\n" + "═".repeat(72) + "\nSteps\n");
  console.log(table(
    ["runtime/step", "result", "passed", "failed", "time", "note"],
    rows.map((r) => [
      r.id,
      r.status,
      String(r.passed),
      String(r.failed),
      formatSeconds(r.seconds),
      r.note,
    ]),
    new Set([2, 3, 4]),
  ));
  console.log("\nPer runtime\n");
  console.log(table(
    ["runtime", "result", "passed", "failed", "skipped", "time"],
    [...byRuntime].map(([runtime, group]) => {
      const sum = (pick: (r: Row) => number) => group.reduce((s, r) => s + pick(r), 0);
      const result = group.some((r) => r.status === "FAILED")
        ? "FAILED"
        : group.some((r) => r.status === "skipped")
        ? "skipped"
        : "ok";
      return [
        runtime,
        result,
        String(sum((r) => r.passed)),
        String(sum((r) => r.failed)),
        String(group.filter((r) => r.status === "skipped").length),
        formatSeconds(sum((r) => r.seconds)),
      ];
    }),
    new Set([2, 3, 4, 5]),
  ));

  const failing = rows.filter((r) => r.status === "FAILED").map((r) => r.id);
  const skipped = rows.filter((r) => r.status === "skipped").map((r) => r.id);
  console.log(`\nTotal time: ${formatSeconds(total)}`);
  if (failing.length > 0) console.log(`FAILED: ${failing.join(", ")}`);
  if (skipped.length > 0) console.log(`Skipped: ${skipped.join(", ")}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failing.length > 0 || skipped.length > 0 ? 1 : 0;
}

Deno.exit(await main());
