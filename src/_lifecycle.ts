import type { ServiceState } from "./supervisor.ts";

/**
 * The lifecycle of one service as one pure function: from where the service
 * is (its phase, and while it is being stopped, why) and what happened (an
 * input, with the facts the decision needs), the phase it goes to and the
 * effects to carry out. The supervisor commits the phase, then carries out
 * the effects; nothing else assigns a phase. OTP's `do_restart/3` decides the
 * same way, one clause per case.
 *
 * Tested as a table in `tests/lifecycle_test.ts`; the README's lifecycle
 * diagram is checked against it.
 */

/**
 * Where a service is. The public {@linkcode ServiceState} is a coarser view
 * (see {@linkcode publicState}):
 *
 * - `claimed`: running, but a group restart will stop it (public `running`);
 * - `grouped`: waiting for its group restart (public `backing_off`);
 * - `abandoned`: its run outlived its stop timeout (public `stopping`);
 * - `removed`: forgotten by `remove()` (in no list).
 */
export type Phase =
  | "stopped"
  | "running"
  | "claimed"
  | "backing_off"
  | "grouped"
  | "completed"
  | "failed"
  | "stopping"
  | "abandoned"
  | "removed";

/**
 * Why a run is being stopped, which decides what follows once it settles:
 * `stop` (the shutdown), `remove`, `restart` (`restart()`), `group` (its
 * group restart), `start` (an abandoned run to start afresh when it settles,
 * because its supervisor runs again).
 */
export type Intent = "stop" | "remove" | "restart" | "group" | "start";

/**
 * What happened to the service:
 *
 * - `start`: its supervisor starts it (`start()`, `add()` while running, a
 *   subtree running again);
 * - `settle`: its run settled;
 * - `ready`: its run called `context.ready()`;
 * - `timer`: its restart timer fired;
 * - `stop`: the shutdown stops it;
 * - `remove`, `restart`: `remove()`, `restart()`;
 * - `claim`: a group restart takes it in; `group`: the group stops it now;
 *   `release`: the group's timer fired;
 * - `timeout`: its run did not settle within its stop timeout;
 * - `cancel`: its supervisor's session ends (pending restarts are dropped).
 */
export type Input =
  | "start"
  | "settle"
  | "ready"
  | "timer"
  | "stop"
  | "remove"
  | "restart"
  | "claim"
  | "group"
  | "release"
  | "timeout"
  | "cancel";

/** The facts a decision may need; the supervisor fills them in before it asks. */
export interface Facts {
  /** `settle`: how the run ended, when its signal was not aborted. */
  outcome: "completed" | "failed";
  /** `settle`: the policy restarts this outcome (and it is no `DoNotRestartError`). */
  restart: boolean;
  /** `settle`: it failed with an `EscalateError` and the supervisor escalates. */
  escalates: boolean;
  /** `settle`: the supervisor escalates when a child gives up. */
  escalate: boolean;
  /** `settle`: the supervisor's session runs (it is not shutting down). */
  live: boolean;
  /** `settle`: a restart now stays within the restart limit. */
  admitted: boolean;
  /** `settle`: the strategy restarts a group (`one_for_all`, `rest_for_one`). */
  group: boolean;
  /** `settle`: the policy is `never`, so its group does not restart it. */
  never: boolean;
  /** `settle`: a restart now would exceed the supervisor's intensity (one-for-one). */
  intense: boolean;
  /** `settle`: the service is significant: its end for good may shut the supervisor down (any run). */
  significant: boolean;
  /** `start()` is waiting for this service to be ready. */
  awaited: boolean;
}

/*
 * The effects, as bits. The supervisor carries them out in this order
 * (ascending), whatever order the table names them in: first what changes
 * no user code sees, then the events, then the calls into user code, then
 * what goes on after this change. Plain constants, so a bundler inlines them.
 */
/** Bound the wait for the aborted run (its `stopTimeout`, or the deadline). */
export const WAIT = 1 << 0;
/** End that wait. */
export const UNWAIT = 1 << 1;
/** Clear the pending restart timer. */
export const CANCEL = 1 << 2;
/** Record the restart limit: `lastError` becomes a `RestartLimitError`. */
export const LIMIT = 1 << 3;
/** Count a restart, draw its delay, set its timer. */
export const SCHEDULE = 1 << 4;
/** Count a restart unless it was counted, set a 0 ms timer (`restart()`). */
export const RESTART_NOW = 1 << 5;
/** Begin a group restart with this service (after this change). */
export const TRIGGER = 1 << 6;
/** End the session with an escalation (after this change). */
export const ESCALATE = 1 << 7;
/** Forget the service; `remove()` resolves. */
export const FORGET = 1 << 8;
/** Fire `stoptimeout`. */
export const STOPTIMEOUT = 1 << 9;
/** Fire `exit`. */
export const EXIT = 1 << 10;
/** Fire `restart`. */
export const ANNOUNCE = 1 << 11;
/** Fire `giveup`. */
export const GIVEUP = 1 << 12;
/** Mark the run ready and fire `ready`. */
export const READY = 1 << 13;
/** Abort the run's signal. */
export const ABORT = 1 << 14;
/** Begin a run. */
export const LAUNCH = 1 << 15;
/** `restart()` callers resolve: the new run began. */
export const RESOLVE = 1 << 16;
/** `restart()` callers reject. */
export const REJECT = 1 << 17;
/** `start()` goes on to the next service. */
export const PROCEED = 1 << 18;
/** `start()` fails: the service failed before it was ready. */
export const FAIL = 1 << 19;
/** Fail the supervisor: its intensity is exceeded (after this change). */
export const INTENSITY = 1 << 20;
/**
 * A significant service ended for good (by itself, or stopped by its
 * supervisor with no restart to come): the supervisor may shut down.
 */
export const ENDED = 1 << 21;

/** The effects by name, for tests and for reading a decision. */
export const Fx = /* @__PURE__ */ Object.freeze({
  wait: WAIT,
  unwait: UNWAIT,
  cancel: CANCEL,
  limit: LIMIT,
  schedule: SCHEDULE,
  restartNow: RESTART_NOW,
  trigger: TRIGGER,
  escalate: ESCALATE,
  forget: FORGET,
  stoptimeout: STOPTIMEOUT,
  exit: EXIT,
  announce: ANNOUNCE,
  giveup: GIVEUP,
  ready: READY,
  abort: ABORT,
  launch: LAUNCH,
  resolve: RESOLVE,
  reject: REJECT,
  proceed: PROCEED,
  fail: FAIL,
  intensity: INTENSITY,
  ended: ENDED,
});

/** What the table decides. */
export interface Transition {
  readonly phase: Phase;
  /** Why it is stopping: set only with the phases `stopping` and `abandoned`. */
  readonly intent: Intent | undefined;
  /** Effect bits of {@linkcode Fx}. */
  readonly fx: number;
}

function to(phase: Phase, fx: number, intent?: Intent): Transition {
  return { phase, intent, fx };
}

/** The restart path's two decisions, made once: a crash loop allocates none. */
const BACK_OFF = Object.freeze(to("backing_off", SCHEDULE | EXIT | ANNOUNCE));
const RELAUNCH = Object.freeze(to("running", LAUNCH | RESOLVE));

/** The public state of a phase; `undefined` for a removed service. */
export function publicState(phase: Phase): ServiceState | undefined {
  switch (phase) {
    case "claimed":
      return "running";
    case "grouped":
      return "backing_off";
    case "abandoned":
      return "stopping";
    case "removed":
      return undefined;
    default:
      return phase;
  }
}

/** Whether a run is live: the service has a run that has not settled. */
export function isLive(phase: Phase): boolean {
  return phase === "running" || phase === "claimed" || phase === "stopping" ||
    phase === "abandoned";
}

/**
 * Decides one step of a service's life. Returns `undefined` when the input
 * changes nothing in this phase (a stale timer, `ready()` after the run
 * ended, a group that finds nothing to stop).
 *
 * @param phase Where the service is.
 * @param intent Why it is stopping, in `stopping` and `abandoned`.
 * @param input What happened.
 * @param f The facts (see {@linkcode Facts}); only `awaited` matters to
 * every input, the rest to `settle`.
 */
export function transition(
  phase: Phase,
  intent: Intent | undefined,
  input: Input,
  f: Facts,
): Transition | undefined {
  // One small function per input, so that the runtime can inline the ones
  // on the restart path (settle, timer) into their callers.
  const proceed = f.awaited ? PROCEED : 0;
  switch (input) {
    case "start":
      return start(phase, intent);
    case "settle":
      return settle(phase, intent, f, proceed);
    case "ready":
      return phase === "running" || phase === "claimed" ? to(phase, READY | proceed) : undefined;
    case "timer":
      return phase === "backing_off" ? RELAUNCH : undefined;
    case "stop":
      return stop(phase, intent);
    case "remove":
      return remove(phase, proceed);
    case "restart":
      return restart(phase, intent);
    case "claim":
      return claim(phase, intent);
    case "group":
      return phase === "claimed" ? to("stopping", WAIT | ABORT, "group") : undefined;
    case "release":
      return phase === "grouped" ? to("running", LAUNCH | RESOLVE) : undefined;
    case "timeout":
      return timeout(phase, intent, proceed);
    case "cancel":
      return cancel(phase, intent);
  }
}

function start(phase: Phase, intent: Intent | undefined): Transition | undefined {
  if (phase === "stopped" || phase === "completed" || phase === "failed") {
    return to("running", LAUNCH);
  }
  // An abandoned run starts afresh once it settles.
  if (phase === "abandoned" && intent !== "start") return to("abandoned", 0, "start");
  return undefined;
}

function stop(phase: Phase, intent: Intent | undefined): Transition | undefined {
  if (phase === "running" || phase === "claimed") {
    return to("stopping", WAIT | ABORT, "stop");
  }
  // Already aborted (removed, restarted, grouped, or abandoned): the
  // shutdown bounds the wait again, within its deadline.
  if (phase === "stopping" || phase === "abandoned") {
    return to("stopping", WAIT, intent === "remove" ? "remove" : "stop");
  }
  return undefined;
}

function remove(phase: Phase, proceed: number): Transition | undefined {
  if (phase === "running" || phase === "claimed") {
    return to("stopping", WAIT | ABORT, "remove");
  }
  if (phase === "stopping") return to("stopping", REJECT, "remove");
  if (phase === "removed") return undefined;
  return to("removed", CANCEL | REJECT | FORGET | proceed);
}

function claim(phase: Phase, intent: Intent | undefined): Transition | undefined {
  if (phase === "running") return to("claimed", 0);
  if (phase === "backing_off") return to("grouped", CANCEL);
  if (phase === "grouped") return to("grouped", 0);
  // Being stopped for an earlier group: it goes with this one too.
  if (phase === "stopping" && intent === "group") return to("stopping", 0, "group");
  return undefined;
}

function timeout(
  phase: Phase,
  intent: Intent | undefined,
  proceed: number,
): Transition | undefined {
  if (phase !== "stopping") return undefined;
  if (intent === "remove") {
    return to("removed", STOPTIMEOUT | FORGET | proceed);
  }
  if (intent === "restart") {
    return to("abandoned", STOPTIMEOUT | REJECT | proceed, intent);
  }
  return to("abandoned", STOPTIMEOUT | proceed, intent);
}

function cancel(phase: Phase, intent: Intent | undefined): Transition | undefined {
  if (phase === "backing_off" || phase === "grouped") {
    return to("stopped", CANCEL | REJECT);
  }
  if (phase === "claimed") return to("running", 0);
  if (phase === "stopping" && (intent === "restart" || intent === "group")) {
    return to("stopping", REJECT, "stop");
  }
  if (phase === "abandoned" && intent !== "stop") return to("abandoned", 0, "stop");
  return undefined;
}

function settle(
  phase: Phase,
  intent: Intent | undefined,
  f: Facts,
  proceed: number,
): Transition | undefined {
  return phase === "running" || phase === "claimed"
    ? exited(phase, f, proceed)
    : settleAborted(phase, intent, f, proceed);
}

/** A run that was not being stopped ended: restart it, or not, and how. */
function exited(phase: "running" | "claimed", f: Facts, proceed: number): Transition {
  // A run that completes counts as ready for start().
  const ready = f.outcome === "completed" ? proceed : 0;
  // Ended for good, with no restart to come: a significant one says so.
  const ended = f.significant ? ENDED : 0;
  if (f.outcome === "failed" && f.awaited) return to("failed", EXIT | FAIL);
  if (f.outcome === "failed" && f.escalates) return to("failed", ESCALATE | EXIT);
  if (!f.restart) return to(f.outcome, EXIT | ready | ended);
  // Shutting down: the restart the policy asks for is not made.
  if (!f.live) return to("stopped", EXIT | ready);
  // Its group restart is under way: it starts again with the group.
  if (phase === "claimed") return to("grouped", EXIT | ready);
  if (!f.admitted) {
    return to(
      "failed",
      LIMIT | (f.escalate ? ESCALATE : ended) | EXIT | GIVEUP | ready,
    );
  }
  // The supervisor's children, together, restart too often: it fails.
  if (f.intense) return to("failed", INTENSITY | EXIT | ready);
  if (f.group) return to("grouped", TRIGGER | EXIT | ready);
  return ready ? to("backing_off", SCHEDULE | EXIT | ANNOUNCE | ready) : BACK_OFF;
}

/** A run that was being stopped (or was abandoned, or removed) settled. */
function settleAborted(
  phase: Phase,
  intent: Intent | undefined,
  f: Facts,
  proceed: number,
): Transition | undefined {
  switch (phase) {
    case "stopping":
      switch (intent) {
        case "remove":
          return to("removed", UNWAIT | FORGET | EXIT | proceed);
        case "restart":
          return to("backing_off", UNWAIT | RESTART_NOW | EXIT | ANNOUNCE);
        case "group":
          // Its group restarts without it: stopped for good.
          return f.never
            ? to("stopped", UNWAIT | EXIT | proceed | (f.significant ? ENDED : 0))
            : to("grouped", UNWAIT | EXIT);
        default:
          return to("stopped", UNWAIT | EXIT);
      }
    case "abandoned":
      if (intent === "start") return to("running", EXIT | LAUNCH);
      // Abandoned by restart() or its group restart, it is not started again.
      return to(
        "stopped",
        EXIT | (f.significant && (intent === "restart" || intent === "group") ? ENDED : 0),
      );
    case "removed":
      // A removed service's abandoned run, settling late.
      return to("removed", EXIT);
    default:
      return undefined;
  }
}

function restart(phase: Phase, intent: Intent | undefined): Transition | undefined {
  switch (phase) {
    case "running":
    case "claimed":
      return to("stopping", WAIT | ABORT, "restart");
    case "stopping":
      // Taken from its group; stopped for good or removed: not restarted.
      return intent === "group" ? to("stopping", 0, "restart") : undefined;
    case "abandoned":
      return to("stopping", WAIT, "restart");
    case "backing_off":
    case "grouped":
    case "stopped":
    case "completed":
    case "failed":
      return to("backing_off", CANCEL | RESTART_NOW | ANNOUNCE);
    default:
      return undefined;
  }
}
