/**
 * The browser the browser row of `test_all.ts` drives: Debian's `chromium`,
 * installed with apt-get when it is missing (CI runs as root on Debian).
 * `playwright-core`, pinned in `scripts/tools/package.json`, drives it.
 *
 * @module
 */
import { exists, mustRun } from "./_util.ts";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Installs Debian's `chromium` unless it is there already, and returns its
 * version line. Throws when it cannot be installed.
 */
export async function ensureChromium(): Promise<string> {
  if (!await exists(CHROMIUM)) {
    console.log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await mustRun("apt-get", ["update"], { env, timeoutMs: 600_000 });
    await mustRun("apt-get", ["install", "-y", "chromium"], { env, timeoutMs: 900_000 });
  }
  const version = await mustRun(CHROMIUM, ["--version"], { quiet: true, timeoutMs: 60_000 });
  return version.trim().split("\n").at(-1) ?? "";
}
