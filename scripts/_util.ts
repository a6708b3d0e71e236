/**
 * Helpers shared by `build_npm.ts` and `test_all.ts`: the repository's
 * paths, running a command while both streaming and keeping its output, the
 * pinned Node tools in `.build/tools`, and the pinned Node binaries.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, with no trailing slash. */
export const ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));
/** Git-ignored scratch space for everything the scripts build. */
export const BUILD_DIR: string = join(ROOT, ".build");
/** Where the pinned Node tools of `scripts/tools/package.json` are installed. */
export const TOOLS_DIR: string = join(BUILD_DIR, "tools");
/** The npm package, built by `build_npm.ts`. */
export const NPM_DIR: string = join(ROOT, "npm");

/** How {@linkcode run} runs a command. */
export interface RunOptions {
  /** @default {ROOT} */
  readonly cwd?: string;
  /** Added to the inherited environment. */
  readonly env?: Record<string, string>;
  /** Killed after this many milliseconds. @default {600_000} */
  readonly timeoutMs?: number;
  /** Keep the output without echoing it. @default {false} */
  readonly quiet?: boolean;
}

/** What {@linkcode run} reports. */
export interface RunResult {
  /** The exit code; 1 for a command that could not be spawned. */
  readonly code: number;
  /** stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  /** Whether the command was killed for running past `timeoutMs`. */
  readonly timedOut: boolean;
}

/**
 * Runs `cmd` with `args`, echoing its output as it arrives and keeping it for
 * the caller to parse. Never throws for a failing command: read `code`.
 */
export async function run(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const { cwd = ROOT, env = {}, timeoutMs = 600_000, quiet = false } = options;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    const message = `cannot run ${cmd}: ${error instanceof Error ? error.message : error}\n`;
    if (!quiet) await Deno.stderr.write(new TextEncoder().encode(message));
    return { code: 1, output: message, timedOut: false };
  }
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (!quiet) await sink.write(chunk);
    }
    output += decoder.decode();
  };
  const pumps = Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 5_000);
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const status = await child.status;
    // A grandchild that outlives the child may hold the pipes open: wait a little, not forever.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([pumps, new Promise((resolve) => grace = setTimeout(resolve, 5_000))]);
    clearTimeout(grace);
    if (timedOut) {
      const message = `\n${cmd} killed after ${timeoutMs / 1000} s\n`;
      output += message;
      if (!quiet) await Deno.stderr.write(new TextEncoder().encode(message));
    }
    return { code: timedOut && status.code === 0 ? 1 : status.code, output, timedOut };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
  }
}

/** Like {@linkcode run}, but throws with the output's tail when the command fails. */
export async function mustRun(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    const tail = options.quiet ? `\n${result.output.trim().split("\n").slice(-20).join("\n")}` : "";
    throw new Error(`${[cmd, ...args].join(" ")} exited with code ${result.code}${tail}`);
  }
  return result.output;
}

/** Removes ANSI colour codes, so output parses the same on a terminal and in CI. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** Whether `path` exists (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Installs the Node tools pinned in `scripts/tools/package.json` and
 * `package-lock.json` (esbuild, publint, attw, @edge-runtime/vm, miniflare, and
 * for `check_types.ts` two TypeScripts and two `@types/node`, under aliases)
 * into `.build/tools` with `npm ci`, unless the same lock is installed there
 * already. Install scripts are not run: every binary these tools need ships
 * inside a platform package of the npm registry.
 */
export function ensureNodeTools(): Promise<void> {
  return ensureNpmProject(join(ROOT, "scripts", "tools"), TOOLS_DIR);
}

/**
 * Installs the npm project pinned by `source`'s `package.json` and
 * `package-lock.json` into `target` with `npm ci --ignore-scripts`, unless
 * the same manifest and lock are installed there already.
 */
export async function ensureNpmProject(source: string, target: string): Promise<void> {
  const manifest = await Deno.readTextFile(join(source, "package.json"));
  const lock = await Deno.readTextFile(join(source, "package-lock.json"));
  const stamp = join(target, "node_modules", ".janus-tools-stamp");
  const wanted = await sha256(manifest + lock);
  if (await exists(stamp) && (await Deno.readTextFile(stamp)) === wanted) return;
  await Deno.mkdir(target, { recursive: true });
  await Deno.writeTextFile(join(target, "package.json"), manifest);
  await Deno.writeTextFile(join(target, "package-lock.json"), lock);
  console.log(`Installing the pinned packages of ${source} into ${target}`);
  await mustRun("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: target,
  });
  await Deno.writeTextFile(stamp, wanted);
}

/** The path of an installed Node tool's executable, e.g. `toolBin("esbuild")`. */
export function toolBin(name: string): string {
  return join(TOOLS_DIR, "node_modules", ".bin", name);
}

const nodeBinaries = new Map<number, Promise<string>>();

/**
 * The path of a Node binary of the given major version: the machine's `node`
 * when it is that version, else the `node@MAJOR` package of the npm registry
 * through `npx` (its binary ships inside an npm package).
 */
export function nodeBinary(major: number): Promise<string> {
  let found = nodeBinaries.get(major);
  if (!found) {
    found = (async () => {
      const local = await run("node", ["-p", "process.version + ' ' + process.execPath"], {
        quiet: true,
      });
      const [version, path] = local.output.trim().split(" ");
      if (local.code === 0 && version?.startsWith(`v${major}.`) && path) return path;
      const output = await mustRun("npx", ["-y", `node@${major}`, "-p", "process.execPath"], {
        quiet: true,
        timeoutMs: 300_000,
      });
      return output.trim().split("\n").at(-1)!;
    })();
    nodeBinaries.set(major, found);
  }
  return found;
}
