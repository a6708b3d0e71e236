/**
 * For `scripts/check_types.ts`, where `dispose.ts` compiles and TypeScript
 * reads `await using` (5.2 on): the supervisor stops as the scope ends.
 *
 * @module
 */
import { Supervisor } from "@janus/supervisor";

/** Runs a supervisor for the length of a scope. */
export async function scoped(): Promise<string> {
  await using supervisor = new Supervisor();
  supervisor.add("job", (signal) => {
    signal.throwIfAborted();
  });
  await supervisor.start();
  return supervisor.state;
}
