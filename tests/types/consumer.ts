/**
 * A TypeScript project's use of the npm package, for `scripts/check_types.ts`:
 * it compiles this file against the built `npm/` in every setup the README
 * promises (Node's types or the DOM's, each module resolution, the oldest and
 * the newest TypeScript), with `strict` and no `skipLibCheck`. It is never
 * run; `deno check` checks it too. Each `@ts-expect-error` marks a line that
 * must stay an error: a listener typed `any` would let it through.
 *
 * @module
 */
import {
  type AutoShutdown,
  DoNotRestartError,
  EscalateError,
  type ExitOutcome,
  formatEvent,
  healthHandler,
  logEvents,
  RestartEvent,
  RestartIntensityError,
  RestartLimitError,
  type RunContext,
  type Service,
  type ServiceMetrics,
  type ServiceStatus,
  type StartOptions,
  type StopReport,
  Supervisor,
  type SupervisorEventMap,
  type SupervisorOptions,
  type SupervisorState,
  toPrometheus,
  type WhenOptions,
} from "@janus/supervisor";

/** A service written as a class. */
class Feed implements Service {
  readonly name = "feed";
  readonly restartPolicy = "always";

  async run(signal: AbortSignal, context: RunContext): Promise<void> {
    context.ready();
    if (context.attempt > 3) throw new DoNotRestartError("feed is gone", { cause: signal.reason });
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
}

/** What a listener written as a function declaration sees as `this`. */
function onStart(this: Supervisor, event: SupervisorEventMap["start"]): void {
  const attempt: number = event.attempt;
  const state: SupervisorState = this.state;
  console.log(event.service, attempt, state);
}

/** Builds a tree, listens to it, runs it, reads it, and stops it. */
export async function main(): Promise<string> {
  const options: SupervisorOptions = {
    name: "app",
    backoff: { initialDelay: 100, maxDelay: 5_000, jitter: 0 },
    maxRestarts: 5,
    strategy: "one_for_one",
    stopOrder: "reverse",
  };
  const supervisor = new Supervisor(options);
  const child = new Supervisor({ name: "workers", escalate: true });
  supervisor.add(new Feed());
  supervisor.add("tick", async (signal, { attempt }) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (attempt === 1) throw new EscalateError("first run", { cause: signal.reason });
  }, { restartPolicy: "on_failure", stopTimeout: 1_000 });
  child.add("job", () => {});
  supervisor.add(child, { stopTimeout: 10_000 });

  // Typed listeners: the event's type follows from its name.
  const delays: number[] = [];
  supervisor.addEventListener("restart", (event) => delays.push(event.delay));
  supervisor.addEventListener("exit", {
    handleEvent(event) {
      const outcome: ExitOutcome = event.outcome;
      if ("error" in event) console.error(outcome, event.error);
    },
  });
  supervisor.addEventListener("giveup", (event) => {
    const error: RestartLimitError = event.error;
    console.error(error.service, error.restarts, error.cause);
  }, { once: true });
  supervisor.addEventListener("start", onStart);
  supervisor.removeEventListener("start", onStart);
  const controller = new AbortController();
  supervisor.addEventListener("ready", (event) => event.service, { signal: controller.signal });
  supervisor.addEventListener("escalate", (event) => console.error(event.error), true);
  // @ts-expect-error: a start event has no delay.
  supervisor.addEventListener("start", (event) => event.delay);
  // @ts-expect-error: a delay is a number.
  supervisor.addEventListener("restart", (event) => event.delay.toUpperCase());

  // Any other event, as on any EventTarget.
  const listener = { handleEvent: (event: Event) => console.log(event.type) };
  supervisor.addEventListener("custom", listener);
  supervisor.addEventListener("custom", (event: Event) => event.type, { passive: true });
  supervisor.removeEventListener("custom", listener, { capture: false });
  supervisor.dispatchEvent(new RestartEvent("feed", { attempt: 2, delay: 100 }));
  const target: EventTarget = supervisor;
  controller.abort();

  // A batch that shuts itself down, tied to an outside signal, awaited without polling.
  const auto: AutoShutdown = "all_significant";
  const batch = new Supervisor({ autoShutdown: auto });
  batch.add("part", () => {}, { significant: true, restartPolicy: "never" });
  const third = batch.when("start", (event) => event.attempt === 3);
  const waitOptions: WhenOptions = { signal: controller.signal };
  const exit = await batch.when("exit", undefined, waitOptions).catch(() => undefined);
  const outcome: ExitOutcome | undefined = exit?.outcome;
  // @ts-expect-error: a start event has no outcome.
  batch.when("start", (event) => event.outcome === "failed");
  // @ts-expect-error: no such event.
  batch.when("stopped");
  const startOptions: StartOptions = { signal: new AbortController().signal };
  await batch.start(startOptions);
  await batch.done;
  await third.catch(() => undefined);
  console.log(outcome);

  // One line per event, to a function or a leveled logger.
  const lines: string[] = [];
  const logging = logEvents(supervisor, (line) => lines.push(line));
  const toConsole = logEvents(supervisor, console);
  supervisor.addEventListener("exit", (event) => lines.push(formatEvent(event)));
  toConsole.unsubscribe();

  await supervisor.start();
  logging.unsubscribe();
  const statuses: ServiceStatus[] = supervisor.status();
  const metrics: ServiceMetrics[] = supervisor.metrics();
  const text: string = toPrometheus(supervisor);
  const handle = healthHandler(supervisor);
  const response: Response = handle(new Request("http://localhost/readyz"));
  let report: StopReport;
  try {
    report = await supervisor.stop(new Error("shutting down"));
    await supervisor.done;
  } catch (error) {
    if (error instanceof RestartIntensityError) return `${error.intensity} in ${error.period} ms`;
    if (error instanceof RestartLimitError) return `${error.service} gave up`;
    throw error;
  }
  return [
    target === supervisor,
    statuses.map((status) => `${status.name} ${status.state} ${status.children?.length ?? 0}`),
    metrics.map((metric) => `${metric.name} ${metric.restarts} ${metric.lastExitAt ?? "-"}`),
    text.length,
    response.status,
    report.stopped,
    report.timedOut,
    delays,
  ].join("\n");
}
