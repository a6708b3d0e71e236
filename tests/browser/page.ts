/**
 * The browser row's scenario, run in a page of headless Chromium by
 * `run.mjs`: the real-time scenario the edge rows run (`../edge/scenario.ts`),
 * then `WorkerService` with real module Workers: a worker stuck in
 * `while (true) {}` killed after its grace, reported stopped and restarted
 * in a fresh Worker; runs that complete, throw or fail to load behaving as
 * their in-process equivalents; `ready()` gating a `waitReady` start; and no
 * Worker left behind.
 *
 * @module
 */
import { type Service, Supervisor, type WorkerLike, WorkerService } from "@janus/supervisor";
import { type Check, runScenario, type ScenarioReport } from "../edge/scenario.ts";
import { RUNS } from "../_worker_runs.ts";
import { recordLifecycle } from "../_log.ts";

/** Where `run.mjs` serves the worker modules. */
export interface WorkerUrls {
  /** `worker.ts`, bundled. */
  readonly worker: string;
  /** A module that throws while it loads. */
  readonly broken: string;
  /** A URL that answers 404. */
  readonly missing: string;
}

/** JSON with sorted keys, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  ) ?? "undefined";
}

async function waitFor(what: string, condition: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Every Worker the scenario made, terminated, and what they posted of their own. */
const counts = { created: 0, terminated: 0, messages: [] as unknown[] };

/**
 * Shared with the spinning workers, which count their loop's turns in it
 * (needs cross-origin isolation, which `run.mjs`'s headers give the page).
 */
const spins = typeof SharedArrayBuffer === "function" && globalThis.crossOriginIsolated
  ? new SharedArrayBuffer(4)
  : undefined;

function factory(url: string, behaviour: string): () => WorkerLike {
  return () => {
    counts.created++;
    const worker = new Worker(url, { type: "module" });
    worker.addEventListener("message", (event) => {
      const data = event.data;
      if (typeof data !== "object" || data === null || !("@janus/supervisor" in data)) {
        counts.messages.push(data);
      }
    });
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      counts.terminated++;
      terminate();
    };
    worker.postMessage({ behaviour, spins });
    return worker;
  };
}

function fields(error: unknown) {
  if (!(error instanceof Error)) return { value: error };
  return { name: error.name, message: error.message };
}

const settled = (s: Supervisor) => () => {
  const state = s.status()[0]?.state;
  return state === "completed" || state === "failed";
};

/** The Worker checks; a step that throws is reported as a failed check and the rest go on. */
async function workerChecks(urls: WorkerUrls): Promise<Check[]> {
  const checks: Check[] = [];
  const check = (name: string, actual: unknown, expected: unknown) => {
    const [a, e] = [canonical(actual), canonical(expected)];
    checks.push({ name, ok: a === e, detail: a === e ? "" : `expected ${e}, got ${a}` });
  };
  const step = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      const detail = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
      checks.push({ name: `${name} runs without throwing`, ok: false, detail });
    }
  };

  await step("kill", async () => {
    const before = { ...counts, messages: counts.messages.length };
    const supervisor = new Supervisor({ backoff: { initialDelay: 5, jitter: 0 } });
    const { log } = recordLifecycle(supervisor);
    supervisor.add(new WorkerService("crunch", factory(urls.worker, "loop"), { grace: 50 }));
    await supervisor.start();
    await waitFor("ready #1", () => supervisor.status()[0]?.ready === true);
    await supervisor.restart("crunch");
    await waitFor("ready #2", () => supervisor.status()[0]?.ready === true);
    const report = await supervisor.stop();
    check("a worker stuck in while (true) is stopped, not timed out", report, {
      stopped: ["crunch"],
      timedOut: [],
    });
    check("it is killed, restarted in a fresh Worker, and killed again", log, [
      "start crunch#1",
      "ready crunch#1",
      "exit crunch#1 stopped",
      "restart crunch#2 0",
      "start crunch#2",
      "ready crunch#2",
      "exit crunch#2 stopped",
    ]);
    check("each run had fresh memory", counts.messages.slice(before.messages), [
      { moduleRuns: 1 },
      { moduleRuns: 1 },
    ]);
    // The loops themselves stopped: the count they share stops moving.
    // Chromium ends a worker that does not yield to its termination 2 s
    // after terminate() (Blink's forcible termination delay).
    check(
      "the page is cross-origin isolated, so the loops can be watched",
      spins !== undefined,
      true,
    );
    if (spins) {
      const view = new Int32Array(spins);
      const stoppedAt = Date.now();
      let last = Atomics.load(view, 0);
      let quiet = 0; // 200 ms intervals in a row in which the count did not move
      while (quiet < 2 && Date.now() - stoppedAt < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const now = Atomics.load(view, 0);
        quiet = now === last ? quiet + 1 : 0;
        last = now;
      }
      const still = quiet >= 2;
      console.log(`the killed loops stopped within ${Date.now() - stoppedAt} ms of stop()`);
      check("the killed loops had run, and stopped within 10 s", { ran: last > 0, still }, {
        ran: true,
        still: true,
      });
    }
    check("both Workers were terminated", {
      created: counts.created - before.created,
      terminated: counts.terminated - before.terminated,
    }, { created: 2, terminated: 2 });
  });

  for (const name of ["complete", "throw", "reject", "doNotRestart", "escalate", "cooperative"]) {
    await step(`in-process equivalence of ${name}`, async () => {
      const outcomes: unknown[] = [];
      for (const inWorker of [false, true]) {
        const supervisor = new Supervisor({
          backoff: { initialDelay: 1, jitter: 0 },
          maxRestarts: 1,
          escalate: true,
        });
        supervisor.done.catch(() => {});
        const { log, exits } = recordLifecycle(supervisor);
        const service: Service = inWorker
          ? new WorkerService("svc", factory(urls.worker, name))
          : { name: "svc", run: RUNS[name]! };
        supervisor.add(service);
        await supervisor.start();
        await waitFor(
          "a steady state",
          () =>
            supervisor.state === "failed" || settled(supervisor)() ||
            (name === "cooperative" && supervisor.status()[0]?.ready === true),
        );
        const failed = supervisor.state === "failed";
        const done = failed ? await supervisor.done.then(() => "resolved", fields) : "";
        outcomes.push({
          log,
          errors: exits.map((e) => e.error === undefined ? undefined : fields(e.error)),
          status: supervisor.status().map(({ state, attempt, restarts }) => ({
            state,
            attempt,
            restarts,
          })),
          done,
          report: failed ? undefined : await supervisor.stop(),
        });
      }
      check(
        `a run that does '${name}' behaves in a Worker as in-process`,
        outcomes[1],
        outcomes[0],
      );
    });
  }

  await step("stack", async () => {
    const supervisor = new Supervisor({ restartPolicy: "never" });
    const { exits } = recordLifecycle(supervisor);
    supervisor.add(new WorkerService("svc", factory(urls.worker, "throw")));
    await supervisor.start();
    await waitFor("the failure", settled(supervisor));
    const error = exits[0]?.error as Error;
    check("a thrown error keeps its name and message", fields(error), {
      name: "TypeError",
      message: "boom",
    });
    check(
      "and its stack",
      /^TypeError: boom\n/.test(error.stack ?? "") && /worker\.js/.test(error.stack ?? ""),
      true,
    );
    await supervisor.stop();
  });

  const failures: [string, string, string][] = [
    ["an uncaught error in the worker", urls.worker, "uncaught"],
    ["an unhandled rejection in the worker", urls.worker, "unhandled"],
    ["a worker that closes itself", urls.worker, "exit"],
    ["a worker that throws while it loads", urls.broken, ""],
    ["a worker whose module is not found (404)", urls.missing, ""],
  ];
  for (const [what, url, behaviour] of failures) {
    await step(what, async () => {
      const supervisor = new Supervisor({ restartPolicy: "never" });
      const { log, exits } = recordLifecycle(supervisor);
      supervisor.add(new WorkerService("svc", factory(url, behaviour)));
      await supervisor.start();
      await waitFor("the failure", settled(supervisor));
      check(`${what} fails the run`, {
        log,
        isError: exits[0]?.error instanceof Error,
      }, { log: ["start svc#1", "exit svc#1 failed"], isError: true });
      await supervisor.stop();
    });
  }

  await step("waitReady", async () => {
    const supervisor = new Supervisor();
    const { log } = recordLifecycle(supervisor);
    supervisor.add(new WorkerService("db", factory(urls.worker, "slowReady")), {
      waitReady: true,
    });
    supervisor.add(
      "http",
      (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())),
    );
    await supervisor.start();
    check("ready() in the worker gates a waitReady start", log, [
      "start db#1",
      "ready db#1",
      "start http#1",
    ]);
    check("stop() stops both", await supervisor.stop(), {
      stopped: ["http", "db"],
      timedOut: [],
    });
  });

  check("every Worker made was terminated", counts.terminated, counts.created);
  return checks;
}

/** Runs the edge scenario, then the Worker checks; never throws. */
export async function runBrowserScenario(urls: WorkerUrls): Promise<ScenarioReport> {
  const edge = await runScenario();
  const checks = edge.checks.map((c) => ({ ...c, name: `edge scenario: ${c.name}` }));
  checks.push(...await workerChecks(urls));
  return { checks, globals: { ...edge.globals, Worker: typeof Worker } };
}
