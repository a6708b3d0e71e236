// A program that survives errors thrown by its event listeners, the way each
// runtime lets a program do it, and prints what its supervisor did as one
// line of JSON. Run by tests/listener_error_test.ts in a process of its own:
// a test runner fails a test on an uncaught error whatever the program does.
import process from "node:process";
import { Supervisor } from "../mod.ts";

const caught: string[] = [];
if ("Deno" in globalThis) {
  // Deno, as browsers: an uncaught listener error is an `error` event on the global scope.
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    caught.push((event as ErrorEvent).error?.message);
  });
} else {
  // Node and Bun: an uncaught exception on the process.
  process.on("uncaughtException", (error) => caught.push((error as Error).message));
}

// No top-level await: Node runs this compiled to CommonJS too.
async function main(): Promise<void> {
  const supervisor = new Supervisor({ backoff: { initialDelay: 5, jitter: 0 }, maxRestarts: 3 });
  const log: string[] = [];
  for (const type of ["start", "exit", "restart", "giveup"] as const) {
    supervisor.addEventListener(type, () => {
      throw new Error(`a ${type} listener failed`);
    });
    supervisor.addEventListener(type, (event) => {
      const e = event as Event & { attempt?: number; delay?: number; outcome?: string };
      log.push([type, e.attempt, e.outcome, e.delay].filter((x) => x !== undefined).join(" "));
    });
  }
  supervisor.add("flaky", () => Promise.reject(new Error("down")));
  await supervisor.start();
  for (let i = 0; i < 500 && supervisor.status()[0]?.state !== "failed"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const report = await supervisor.stop();
  // The runtime reports the last listener's error on a later turn.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const { state, attempt, restarts } = supervisor.status()[0]!;
  console.log(JSON.stringify({
    log,
    caught: caught.length,
    messages: [...new Set(caught)].sort(),
    status: { state, attempt, restarts },
    report,
  }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
