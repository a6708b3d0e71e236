/**
 * For `scripts/check_types.ts`, in the setups with the DOM lib: values typed
 * with the DOM's own listener and options types go where the supervisor's
 * spelled-out ones are expected, and a supervisor goes where the DOM's
 * `EventTarget` is.
 *
 * @module
 */
import { Supervisor } from "@janus/supervisor";

/** Listens to a supervisor as generic DOM code would. */
export function listen(
  target: EventTarget,
  listener: EventListenerOrEventListenerObject,
  options: AddEventListenerOptions,
): Supervisor {
  const supervisor = new Supervisor();
  supervisor.addEventListener("custom", listener, options);
  supervisor.addEventListener("restart", listener, options);
  supervisor.removeEventListener("custom", listener, options satisfies EventListenerOptions);
  target.addEventListener("restart", listener, options);
  const targets: EventTarget[] = [target, supervisor];
  return targets[1] === supervisor ? supervisor : new Supervisor();
}
