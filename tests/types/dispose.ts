/**
 * For `scripts/check_types.ts`, in the setups whose types declare
 * `Symbol.asyncDispose` (Node's types, or a lib with `esnext.disposable`): a
 * supervisor is `AsyncDisposable`, keyed by that very symbol.
 *
 * @module
 */
import { Supervisor } from "@janus/supervisor";

/** Stops a supervisor through `Symbol.asyncDispose`. */
export async function dispose(): Promise<void> {
  const supervisor = new Supervisor();
  const disposable: AsyncDisposable = supervisor;
  await supervisor.start();
  await disposable[Symbol.asyncDispose]();
  await supervisor[Symbol.asyncDispose]();
}
