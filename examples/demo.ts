/**
 * A live supervision tree with health endpoints, for `deno task demo`:
 *
 * ```
 * demo (one_for_one)
 * ├── cache-warmup          one-shot: policy never, waitReady
 * ├── heartbeat             steady: policy always
 * └── feeds (one_for_all)
 *     ├── binance           flaky market-data feed: fails at random, restarted with backoff
 *     └── parser            restarted together with binance
 * ```
 *
 * It serves `healthHandler` on 127.0.0.1 (`/healthz`, `/readyz`, `/metrics`)
 * and prints the URL. On a terminal it redraws a status table four times a
 * second, in place and cut to the terminal's size (`_screen.ts`); otherwise
 * it prints one timestamped line per event (`logEvents`). Ctrl-C,
 * SIGTERM or `--duration` stop it gracefully: it prints the stop report and
 * exits 0 (1 if a run had to be abandoned).
 *
 * ```sh
 * deno task demo                                   # port 8080, Ctrl-C to stop
 * deno task demo --port 0 --duration 10 --seed 42  # any free port, 10 s, reproducible
 * ```
 *
 * @module
 */
import { healthHandler, logEvents, type Service, type ServiceStatus, Supervisor } from "../mod.ts";
import { frame, redraw, type Size, usableSize } from "./_screen.ts";

const USAGE = `Usage: deno task demo [--port <n>] [--duration <seconds>] [--seed <n>]

  --port <n>            port of the health server on 127.0.0.1; 0 picks a free one (default 8080)
  --duration <seconds>  stop by itself after this long (default: run until Ctrl-C or SIGTERM)
  --seed <n>            seed of the random failures and jitter (default: a random seed, printed)`;

interface DemoArgs {
  readonly port: number;
  readonly duration: number | undefined;
  readonly seed: number;
}

/** Parses `--name value` and `--name=value`; prints the usage and exits 2 on bad input. */
function parseArgs(args: readonly string[]): DemoArgs {
  const fail = (message: string): never => {
    console.error(`${message}\n\n${USAGE}`);
    Deno.exit(2);
  };
  const values = new Map<string, number>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    }
    const match = /^--(port|duration|seed)(?:=(.*))?$/.exec(arg);
    if (!match) fail(`Unknown argument: ${arg}`);
    const [, name, inline] = match!;
    const text = inline ?? args[++i];
    const value = Number(text);
    if (text === undefined || text.trim() === "" || !Number.isFinite(value) || value < 0) {
      fail(`--${name} needs a number >= 0, got ${JSON.stringify(text ?? "")}`);
    }
    values.set(name!, value);
  }
  const port = values.get("port") ?? 8080;
  if (!Number.isInteger(port) || port > 65535) fail(`--port must be a port number, got ${port}`);
  const duration = values.get("duration");
  if (duration === 0) fail("--duration must be more than 0 seconds");
  return {
    port,
    duration,
    seed: values.get("seed") ?? Math.floor(Math.random() * 2 ** 31),
  };
}

/** mulberry32: a small seeded PRNG, returns numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits `ms`, or rejects with `signal.reason` as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

// ---------------------------------------------------------------- the tree

const args = parseArgs(Deno.args);
/** Jitter of the restart delays. */
const jitterRandom = seededRandom(args.seed);
/** When and how the feed fails: its own stream, so it does not depend on restart timing. */
const feedRandom = seededRandom(args.seed ^ 0x5bd1e995);

/** Small delays, so restarts are visible within seconds: 0.5 s, 1 s, 2 s, 4 s, 4 s … */
const BACKOFF = { initialDelay: 500, maxDelay: 4000, multiplier: 2, jitter: 0.2 };

const root = new Supervisor({
  name: "demo",
  backoff: BACKOFF,
  random: jitterRandom,
  stopTimeout: 2000,
  shutdownTimeout: 10_000,
});

/** Loads reference data once, then completes: it makes `start()` wait before the rest start. */
root.add("cache-warmup", async (signal, { ready }) => {
  for (const _table of ["symbols", "fee tiers", "order books"]) await sleep(150, signal);
  ready();
}, { restartPolicy: "never", waitReady: 5000 });

/** A steady service object: it keeps its beat count across restarts. */
class Heartbeat implements Service {
  readonly name = "heartbeat";
  readonly restartPolicy = "always";
  beats = 0;
  async run(signal: AbortSignal): Promise<void> {
    while (true) {
      this.beats++;
      await sleep(1000, signal);
    }
  }
}
root.add(new Heartbeat());

/** What the feed hands the parser. */
const market = { price: 64_000, ticks: 0, parsed: 0 };

const FEED_ERRORS = [
  "connection reset by peer",
  "no heartbeat from the exchange for 5 s",
  "HTTP 502 Bad Gateway",
  "unexpected end of JSON input",
];

const feeds = new Supervisor({
  name: "feeds",
  strategy: "one_for_all",
  backoff: BACKOFF,
  random: jitterRandom,
  // A run that lasted 1.5 s resets the backoff to 0.5 s.
  resetAfter: 1500,
  // A market-data feed is worth retrying for ever; the backoff keeps it cheap.
  maxRestarts: Infinity,
  stopTimeout: 2000,
});
feeds.add("binance", async (signal, { ready }) => {
  // Each run lives 1 to 8 ticks of 250 ms, then fails.
  const lifetime = 1 + Math.floor(feedRandom() * 8);
  const error = FEED_ERRORS[Math.floor(feedRandom() * FEED_ERRORS.length)]!;
  await sleep(200, signal); // connect and subscribe
  ready();
  for (let tick = 1;; tick++) {
    await sleep(250, signal);
    market.price *= 1 + (feedRandom() - 0.5) / 500;
    market.ticks++;
    if (tick >= lifetime) throw new Error(error);
  }
});
feeds.add("parser", async (signal, { ready }) => {
  ready();
  while (true) {
    await sleep(100, signal);
    market.parsed = market.ticks; // stands in for decoding and publishing the ticks
  }
});
root.add(feeds);

// ---------------------------------------------------------------- output

const interactive = Deno.stdout.isTerminal();
const color = interactive && !Deno.noColor;
const paint = (code: string, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;
const STATE_COLORS: Record<string, string> = {
  running: "32",
  backing_off: "33",
  failed: "31",
  stopping: "35",
  completed: "2",
  stopped: "2",
};

/** `Name: message`, or `String(error)`; never throws, whatever was thrown. */
function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return "(an error that cannot be described)";
  }
}

/** The latest event lines, for the screen (on a terminal). */
const recent: string[] = [];
const RECENT = 8;
function log(line: string): void {
  const now = new Date().toISOString();
  if (interactive) {
    recent.push(`${now.slice(11, 23)} ${line}`); // the time of day is enough on screen
    if (recent.length > RECENT) recent.shift();
  } else {
    console.log(`${now} ${line}`);
  }
}

// One line per lifecycle event of the whole tree, children by path (`feeds/binance`).
logEvents(root, log);

/** When each service's pending restart was scheduled, and its delay, by path. */
const pendingRestarts = new Map<string, { readonly at: number; readonly delay: number }>();
root.addEventListener("start", (e) => pendingRestarts.delete(e.service));
root.addEventListener("restart", (e) => {
  pendingRestarts.set(e.service, { at: Date.now(), delay: e.delay });
});

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${String(Math.floor(ms / 1000) % 60).padStart(2, "0")} s`;
}

/** The status table, one row per service path; the screen cuts it to the terminal's width. */
function table(): string[] {
  const now = Date.now();
  const uptimes = new Map(root.metrics().map((m) => [m.name, m.uptime]));
  const rows: string[][] = [];
  const walk = (statuses: readonly ServiceStatus[], prefix: string) => {
    for (const s of statuses) {
      const path = prefix + s.name;
      const pending = pendingRestarts.get(path);
      const next = s.state === "backing_off"
        ? pending ? formatMs(Math.max(0, pending.at + pending.delay - now)) : "(with group)"
        : "";
      const uptime = uptimes.get(path) ?? 0;
      rows.push([
        path,
        s.state,
        String(s.attempt),
        String(s.restarts),
        next,
        uptime > 0 ? formatMs(uptime) : "",
        "lastError" in s ? describeError(s.lastError) : "",
      ]);
      if (s.children) walk(s.children, `${path}/`);
    }
  };
  walk(root.status(), "");
  const header = ["SERVICE", "STATE", "RUN", "RESTARTS", "NEXT RESTART", "UP FOR", "LAST ERROR"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], isHeader: boolean) => {
    const fixed = cells.slice(0, -1).map((cell, i) => cell.padEnd(widths[i]!)).join("  ") + "  ";
    const last = cells.at(-1)!;
    if (isHeader) return paint("1", (fixed + last).trimEnd());
    const state = cells[1]!;
    const colored = fixed.replace(
      ` ${state.padEnd(widths[1]!)} `,
      ` ${paint(STATE_COLORS[state] ?? "0", state.padEnd(widths[1]!))} `,
    );
    return (last ? colored + paint("31", last) : colored).trimEnd();
  };
  return [line(header, true), ...rows.map((r) => line(r, false))];
}

/** The terminal's size, or 80 × 24 when it does not say. */
function terminalSize(): Size {
  try {
    return usableSize(Deno.consoleSize());
  } catch {
    return usableSize(undefined); // not a console after all
  }
}

const encoder = new TextEncoder();
/** Writes all of `text`: a terminal may take a large write in parts. */
function write(text: string): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

let url = "";
/** Lines of the frame on screen, and the size it was drawn for. */
let drawn = 0;
let drawnFor: Size | undefined;
/** Redraws the header, the table and the recent events in place, cut to the terminal. */
function draw(): void {
  const size = terminalSize();
  const lines = frame({
    title: paint(
      "1",
      `janus supervisor demo · seed ${args.seed} · supervisor '${root.name}' is ${root.state}`,
    ),
    health: `health: ${url}  →  /healthz /readyz /metrics   ·   Ctrl-C stops`,
    table: table(),
    eventsHeading: paint("2", "recent events:"),
    events: recent.map((line) => paint("2", line)),
  }, size);
  const resized = drawnFor !== undefined &&
    (drawnFor.columns !== size.columns || drawnFor.rows !== size.rows);
  write(redraw(drawn, lines, resized));
  drawn = lines.length;
  drawnFor = size;
}

// ---------------------------------------------------------------- running

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: args.port,
  onListen({ port }) {
    url = `http://127.0.0.1:${port}`;
    if (!interactive) {
      console.log(`demo: serving ${url}/healthz ${url}/readyz ${url}/metrics (seed ${args.seed})`);
    }
  },
}, healthHandler(root));

let redrawTimer: ReturnType<typeof setInterval> | undefined;
let durationTimer: ReturnType<typeof setTimeout> | undefined;
let stopping: Promise<never> | undefined;

/** Stops the tree, prints the report, shuts the server down and exits. */
function shutdown(why: string, code = 0): Promise<never> {
  return stopping ??= (async () => {
    clearTimeout(durationTimer);
    log(`stopping (${why})`);
    const report = await root.stop();
    clearInterval(redrawTimer);
    if (interactive) {
      draw();
      write("\n\x1b[?25h"); // below the last frame, and show the cursor again
    }
    console.log(`demo: stop report: ${JSON.stringify(report)}`);
    await server.shutdown();
    // A run abandoned after its stopTimeout still holds its timers: exit explicitly.
    Deno.exit(report.timedOut.length > 0 ? 1 : code);
  })();
}

const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
for (const signal of signals) {
  Deno.addSignalListener(signal, () => {
    if (stopping) {
      if (interactive) write("\n\x1b[?25h"); // below the frame; show the cursor again
      console.error(`demo: ${signal} again, exiting without waiting`);
      Deno.exit(130);
    }
    shutdown(signal);
  });
}

// `done` rejects if the tree fails: here, only if cache-warmup fails before it is ready.
root.done.catch((error) => {
  // On a terminal, a line of its own would push the frame down: it goes with the events.
  if (interactive) log(`supervisor failed: ${describeError(error)}`);
  else console.error(`demo: supervisor failed: ${describeError(error)}`);
  shutdown("supervisor failed", 1);
});

if (interactive) {
  write("\x1b[?25l"); // hide the cursor
  redrawTimer = setInterval(draw, 250);
  draw();
}
if (args.duration !== undefined) {
  const seconds = args.duration;
  durationTimer = setTimeout(() => shutdown(`--duration ${seconds} s elapsed`), seconds * 1000);
}
// A rejection here also rejects `done`, handled above.
await root.start().catch(() => {});
