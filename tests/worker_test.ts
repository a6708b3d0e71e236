// WorkerService and serveInWorker with real Workers, on every runtime: web
// Workers on Deno and Bun, node:worker_threads on Node (ESM and CommonJS,
// from the built package). Real time, short delays; assertions are on what
// happened (outcomes, event order, errors, Workers made and terminated),
// never on how long it took.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DoNotRestartError,
  EscalateError,
  type Service,
  Supervisor,
  WorkerService,
} from "../mod.ts";
import { readdirSync } from "node:fs";
import { RUNS } from "./_worker_runs.ts";
import { recordLifecycle } from "./_log.ts";
import {
  killsLoops,
  ON_NODE,
  threadAlive,
  WORKER_KINDS,
  WorkerCounts,
  workerFactory as makeFactory,
  type WorkerKind,
} from "./_workers.ts";

/** Polls `condition` on real time until it holds; throws after `limitMs` (a hang, not a timing). */
async function waitFor(what: string, condition: () => boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The fields of an error that must survive the boundary. */
function fields(error: unknown) {
  if (!(error instanceof Error)) return { value: error };
  const cause = error.cause instanceof Error
    ? { name: error.cause.name, message: error.cause.message }
    : error.cause;
  return { name: error.name, message: error.message, ...(cause ? { cause } : {}) };
}

/** The process's OS threads (a Worker is one), where Linux's /proc tells them. */
function threads(): number | undefined {
  try {
    return readdirSync("/proc/self/task").length;
  } catch {
    return undefined;
  }
}

const settled = (s: Supervisor, name: string) => () => {
  const state = s.status().find((x) => x.name === name)?.state;
  return state === "completed" || state === "failed";
};

for (const kind of WORKER_KINDS) describeKind(kind);

function describeKind(kind: WorkerKind): void {
  describe(`WorkerService (${kind === "web" ? "web Worker" : "node:worker_threads Worker"})`, () => {
    const workerFactory = (
      counts: WorkerCounts,
      behaviour: string,
      options?: Parameters<typeof makeFactory>[3],
    ) => makeFactory(kind, counts, behaviour, options);

    // Deno's web Worker cannot stop a worker stuck in a loop (see killsLoops):
    // there, only the node:worker_threads kind is tested with one.
    if (killsLoops(kind)) {
      it("kills a worker stuck in while (true) after its grace, reports it stopped, and restarts it in a fresh Worker", async () => {
        const counts = new WorkerCounts();
        const supervisor = new Supervisor({ backoff: { initialDelay: 5, jitter: 0 } });
        const { log } = recordLifecycle(supervisor);
        supervisor.add(
          new WorkerService("crunch", workerFactory(counts, "loop"), { grace: 50 }),
          { stopTimeout: 5_000 },
        );
        await supervisor.start();
        await waitFor("ready #1", () => supervisor.status()[0]?.ready === true);

        await supervisor.restart("crunch"); // aborts run #1, which never looks at its signal
        await waitFor("ready #2", () => supervisor.status()[0]?.ready === true);
        assert.equal(counts.created, 2);
        assert.equal(counts.terminated, 1, "run #1's Worker was terminated before run #2 began");

        const report = await supervisor.stop();
        assert.deepEqual(report, { stopped: ["crunch"], timedOut: [] });
        assert.deepEqual(log, [
          "start crunch#1",
          "ready crunch#1",
          "exit crunch#1 stopped",
          "restart crunch#2 0",
          "start crunch#2",
          "ready crunch#2",
          "exit crunch#2 stopped",
        ]);
        const messages = counts.messages as { moduleRuns: number; thread?: string }[];
        assert.deepEqual(messages.map((m) => m.moduleRuns), [1, 1], "fresh memory");
        assert.equal(counts.terminated, 2);
        assert.equal(counts.gone, 2, "every Worker's thread is gone once stop() resolved");
        // The spinning threads themselves are gone (where /proc tells).
        for (const { thread } of messages) {
          if (threadAlive(thread) === undefined) continue;
          await waitFor(`thread ${thread} to end`, () => threadAlive(thread) === false, 10_000);
        }
      });
    }

    it("passes the stop's reason to the worker's signal, and lets a cooperative worker end within its grace", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor();
      const { log } = recordLifecycle(supervisor);
      supervisor.add(
        new WorkerService("polite", workerFactory(counts, "reportReason"), { grace: 20_000 }),
      );
      await supervisor.start();
      await waitFor("ready", () => supervisor.status()[0]?.ready === true);
      const report = await supervisor.stop(new Error("deploying", { cause: "v2" }));
      assert.deepEqual(report, { stopped: ["polite"], timedOut: [] });
      assert.deepEqual(log, ["start polite#1", "ready polite#1", "exit polite#1 stopped"]);
      assert.deepEqual(counts.messages, [
        { reason: { type: "[object Error]", name: "Error", message: "deploying" } },
      ]);
      assert.equal(counts.terminated, 1);
      assert.equal(counts.gone, 1);
    });

    it("gives the worker the supervisor's own AbortError reason as a DOMException", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor({ name: "app" });
      supervisor.add(new WorkerService("polite", workerFactory(counts, "reportReason")));
      await supervisor.start();
      await waitFor("ready", () => supervisor.status()[0]?.ready === true);
      await supervisor.stop();
      assert.deepEqual(counts.messages, [
        {
          reason: {
            type: "[object DOMException]",
            name: "AbortError",
            message: "Supervisor 'app' is stopping",
          },
        },
      ]);
    });

    for (const name of Object.keys(RUNS).filter((n) => n !== "slowReady")) {
      it(`behaves as the same run in-process: ${name}`, async () => {
        const outcomes: unknown[] = [];
        const counts = new WorkerCounts();
        for (const inWorker of [false, true]) {
          const supervisor = new Supervisor({
            backoff: { initialDelay: 1, jitter: 0 },
            maxRestarts: 1,
            escalate: true,
          });
          supervisor.done.catch(() => {});
          const { log, exits } = recordLifecycle(supervisor);
          const service: Service = inWorker
            ? new WorkerService("svc", workerFactory(counts, name))
            : { name: "svc", run: RUNS[name]! };
          supervisor.add(service, { restartPolicy: "on_failure" });
          await supervisor.start();
          // Every run but `cooperative` settles for good; that one runs once ready.
          await waitFor(
            "a steady state",
            () =>
              supervisor.state === "failed" || settled(supervisor, "svc")() ||
              (name === "cooperative" && supervisor.status()[0]?.ready === true),
          );
          const failed = supervisor.state === "failed";
          const done = failed ? await supervisor.done.then(() => "resolved", (e) => fields(e)) : "";
          const report = failed ? undefined : await supervisor.stop();
          outcomes.push({
            log,
            errors: exits.map((e) => e.error === undefined ? undefined : fields(e.error)),
            classes: exits.map((e) =>
              e.error instanceof DoNotRestartError
                ? "DoNotRestartError"
                : e.error instanceof EscalateError
                ? "EscalateError"
                : typeof e.error
            ),
            status: supervisor.status().map(({ state, attempt, restarts, lastError }) => ({
              state,
              attempt,
              restarts,
              lastError: lastError === undefined ? undefined : fields(lastError),
            })),
            supervisor: supervisor.state,
            done,
            report,
          });
        }
        assert.deepEqual(outcomes[1], outcomes[0]);
        assert.equal(counts.terminated, counts.created);
        await waitFor("every Worker to be gone", () => counts.gone === counts.created);
      });
    }

    it("keeps the stack of an error thrown in the worker", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor({ restartPolicy: "never" });
      supervisor.add(new WorkerService("svc", workerFactory(counts, "throw")));
      const { exits } = recordLifecycle(supervisor);
      await supervisor.start();
      await waitFor("the failure", settled(supervisor, "svc"));
      const error = exits[0]?.error as Error;
      assert.equal(error.name, "TypeError");
      assert.equal(error.message, "boom");
      assert.match(error.stack ?? "", /^TypeError: boom\n/);
      assert.match(error.stack ?? "", /_worker_runs\.(ts|js)/, "the stack points into the worker");
      await supervisor.stop();
    });

    it("gates a waitReady start on context.ready() in the worker", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor();
      const { log } = recordLifecycle(supervisor);
      supervisor.add(new WorkerService("db", workerFactory(counts, "slowReady")), {
        waitReady: true,
      });
      supervisor.add(
        "http",
        (signal) =>
          new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())),
      );
      await supervisor.start();
      assert.deepEqual(log, ["start db#1", "ready db#1", "start http#1"]);
      assert.deepEqual(await supervisor.stop(), { stopped: ["http", "db"], timedOut: [] });
    });

    const failures: [string, string, RegExp | string][] = [
      ["an uncaught error", "uncaught", "thrown from a timer"],
      ["an unhandled rejection", "unhandled", "nobody handles this"],
      ["a worker that exits on its own", "exit", /^Worker of service 'svc' exited on its own/],
    ];
    for (const [what, behaviour, message] of failures) {
      it(`fails the run on ${what} in the worker`, async () => {
        const counts = new WorkerCounts();
        const supervisor = new Supervisor({ restartPolicy: "never" });
        const { log, exits } = recordLifecycle(supervisor);
        supervisor.add(new WorkerService("svc", workerFactory(counts, behaviour)));
        await supervisor.start();
        await waitFor("the failure", settled(supervisor, "svc"));
        assert.deepEqual(log, ["start svc#1", "exit svc#1 failed"]);
        const error = exits[0]?.error;
        assert.ok(error instanceof Error, `an Error, got ${String(error)}`);
        if (typeof message === "string") assert.equal(error.message, message);
        else assert.match(error.message, message);
        assert.equal(counts.terminated, 1);
        await waitFor("the Worker to be gone", () => counts.gone === 1);
        await supervisor.stop();
      });
    }

    it("fails the run of a worker that fails to load, and restarts it by policy", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor({
        backoff: { initialDelay: 1, jitter: 0 },
        maxRestarts: 1,
      });
      const { log, exits } = recordLifecycle(supervisor);
      supervisor.add(
        new WorkerService("svc", workerFactory(counts, "", { file: "_worker_broken" })),
      );
      await supervisor.start();
      await waitFor("the give-up", settled(supervisor, "svc"));
      assert.deepEqual(log, [
        "start svc#1",
        "exit svc#1 failed",
        "restart svc#2 1",
        "start svc#2",
        "exit svc#2 failed",
        "giveup svc",
      ]);
      const error = exits[0]?.error;
      assert.ok(error instanceof Error);
      assert.match(error.message, /broken at load/);
      assert.equal(counts.created, 2);
      assert.equal(counts.terminated, 2);
      await supervisor.stop();
    });

    it("fails the run of a worker whose module does not exist", async () => {
      const counts = new WorkerCounts();
      const supervisor = new Supervisor({ restartPolicy: "never" });
      const { log, exits } = recordLifecycle(supervisor);
      supervisor.add(
        new WorkerService("svc", workerFactory(counts, "", { file: "_no_such_module" })),
      );
      await supervisor.start();
      await waitFor("the failure", settled(supervisor, "svc"));
      assert.deepEqual(log, ["start svc#1", "exit svc#1 failed"]);
      // What the runtime says differs (not found; on `deno test`, a failed type check).
      assert.ok(exits[0]?.error instanceof Error);
      assert.notEqual((exits[0]?.error as Error).message, "");
      assert.equal(counts.terminated, 1);
      await supervisor.stop();
    });

    if (kind === "node" && ON_NODE) {
      it("fails the run of a worker that runs out of memory (Node's resourceLimits)", async () => {
        const counts = new WorkerCounts();
        const supervisor = new Supervisor({ restartPolicy: "never" });
        const { exits } = recordLifecycle(supervisor);
        const create = workerFactory(counts, "oom", {
          nodeOptions: {
            resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
          },
        });
        supervisor.add(new WorkerService("svc", create));
        await supervisor.start();
        await waitFor("the failure", settled(supervisor, "svc"));
        const error = exits[0]?.error as Error & { code?: string };
        assert.equal(error.code, "ERR_WORKER_OUT_OF_MEMORY");
        await waitFor("the Worker to be gone", () => counts.gone === 1);
        await supervisor.stop();
      });
    }

    it("leaves no Worker behind after many restarts: each terminated, its thread gone", async () => {
      const runs = 30;
      const threadsBefore = threads();
      const counts = new WorkerCounts();
      const supervisor = new Supervisor({
        restartPolicy: "always",
        backoff: { initialDelay: 0, jitter: 0 },
        maxRestarts: Infinity,
      });
      supervisor.add(new WorkerService("svc", workerFactory(counts, "complete")));
      await supervisor.start();
      await waitFor(`${runs} runs`, () => (supervisor.status()[0]?.attempt ?? 0) >= runs);
      await supervisor.stop();
      assert.equal(counts.terminated, counts.created);
      assert.ok(counts.created >= runs);
      await waitFor("every Worker to be gone", () => counts.gone === counts.created);
      if (threadsBefore !== undefined) {
        // The runtime's own pools come and go; leaked Workers would add one thread each.
        await waitFor(
          "the process's threads to come back near where they were",
          () => threads()! < threadsBefore + runs / 2,
        );
      }
    });
  });
}
