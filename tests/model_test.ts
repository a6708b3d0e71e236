// Model-based property tests of the lifecycle (issue 9): fast-check's
// `commands` drive random sequences of add, remove, restart, stop, start,
// runs that complete or fail, ready(), timer steps, and the same calls made
// re-entrantly from listeners and from inside run(), in flat and nested trees
// under all three strategies, under fake time. After every command the
// supervisor is compared with a small reference model (one_for_one trees,
// exactly) and checked against the README's guarantees (every shape).
//
// fast-check prints the seed, the path and the shrunk command sequence of a
// failure; rerun one with `fc.assert(…, { seed, path })`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DoNotRestartError,
  EscalateError,
  RestartLimitError,
  type RestartPolicy,
  type RunContext,
  type ServiceMetrics,
  type ServiceStatus,
  type StopReport,
  type Strategy,
  Supervisor,
  type SupervisorState,
} from "../mod.ts";
import { type FakeTime, withFakeTime } from "./_fake_time.ts";

const RUNS = 1000;

// Every service gets the same options, so that each delay is known exactly:
// 10, 20, 40, 40 … ms with no jitter, at most 3 restarts within 100 ms, a
// backoff reset after a run of 80 ms (2 × maxDelay, the default), 5 ms to stop.
const INITIAL_DELAY = 10;
const MAX_DELAY = 40;
const RESET_AFTER = 2 * MAX_DELAY;
const MAX_RESTARTS = 3;
const RESTART_WINDOW = 100;
const STOP_TIMEOUT = 5;
const ROOT_SHUTDOWN = 8;
/** The child supervisor's shutdownTimeout, and so its stopTimeout as root's child. */
const SUB_SHUTDOWN = 6;
const OPTIONS = {
  backoff: { initialDelay: INITIAL_DELAY, maxDelay: MAX_DELAY, multiplier: 2, jitter: 0 },
  maxRestarts: MAX_RESTARTS,
  restartWindow: RESTART_WINDOW,
  stopTimeout: STOP_TIMEOUT,
};
/** The puppets' names under each supervisor. */
const NAMES = { root: ["a", "b", "c"], sub: ["x", "y"] };
/** Every delay the backoff can give, and the 0 of restart(). */
const DELAYS = [0, 10, 20, 40];

// ─── What the commands say ─────────────────────────────────────────────────

/** Which supervisor: the root, or the child supervisor `sub` of a nested tree. */
type Where = "root" | "sub";
/** A puppet service: its policy, and whether it ignores its signal. */
interface Spec {
  readonly policy: RestartPolicy;
  readonly stubborn: boolean;
  /** start() waits for its ready(). */
  readonly waitReady: boolean;
}
/**
 * How the test settles a run: it returns, or throws an Error, a
 * DoNotRestartError, or an EscalateError (a failure like any other where
 * the supervisor does not escalate).
 */
type How = "complete" | "fail" | "hard" | "escalate";
/** A call into the supervisor, made by a command or re-entrantly by a hook. */
type Action =
  | { readonly k: "remove" | "restart"; readonly where: Where; readonly name: string }
  | { readonly k: "stop" | "start" | "addSub" }
  | { readonly k: "add"; readonly where: Where; readonly name: string; readonly spec: Spec };
/**
 * When a hook fires: on the next event of that type for the service, inside
 * its next run(), or in the abort listener of its next run aborted.
 */
type On = "start" | "exit" | "restart" | "run" | "abort";
/** A one-shot re-entrant call. */
interface Hook {
  readonly where: Where;
  readonly name: string;
  readonly on: On;
  readonly action: Action;
  fired: boolean;
}
/** Fires the hooks armed for `on` of `where/name`, each once. */
function fireHooks(hooks: Hook[], where: Where, on: On, name: string, act: (a: Action) => void) {
  for (const hook of hooks) {
    if (hook.fired || hook.on !== on || hook.where !== where || hook.name !== name) continue;
    hook.fired = true;
    act(hook.action);
  }
}
/** What a call came to: a promise's fate, or whether add() threw. */
type Outcome = "pending" | "resolved" | "rejected" | "added" | "threw";

const specText = (spec: Spec) =>
  `${spec.policy}${spec.stubborn ? " stubborn" : ""}${spec.waitReady ? " waitReady" : ""}`;
function actionText(a: Action): string {
  switch (a.k) {
    case "stop":
    case "start":
      return `root.${a.k}()`;
    case "addSub":
      return "root.add(sub)";
    case "add":
      return `${a.where}.add(${a.name}, ${specText(a.spec)})`;
    default:
      return `${a.where}.${a.k}(${a.name})`;
  }
}

// ─── The reference model ───────────────────────────────────────────────────
//
// A service is in one of the README's six states, with two refinements of
// `stopping` the README describes in words: `abandoned` (its run outlived its
// stopTimeout) and why it is being stopped (its intent: the shutdown,
// remove(), restart(), or an abandoned run to start afresh once it settles).
// A tree has one mailbox, its root's: a call made while any supervisor of it
// handles a message (from a listener or a run) waits until that message and
// those queued before it are done, so it has the effect the same call would
// have a moment later; so does the next part of a change that goes on (the
// start going on to the next service, the shutdown to the next child). Only
// a child supervisor's run begins at once, within its parent's change. Runs
// settle in microtasks, in the order they settled. The model knows each
// restart timer exactly (one per restart, firing in the order they were set)
// and each bounded wait by when it ends (a stopTimeout, or a deadline; a wait
// under way only moves earlier); how the supervisor arms timers for its waits
// is its own affair, so a fake-time step is matched with what may fire at
// that instant (see World.options), and where the README leaves the order of
// things due at the same instant open, the model follows each order that
// still agrees with the supervisor (see Env.follow).

type Phase =
  | "stopped"
  | "running"
  | "backing_off"
  | "completed"
  | "failed"
  | "stopping"
  | "abandoned"
  | "removed";
type Intent = "stop" | "remove" | "restart" | "start";
type Input =
  | "start"
  | "settle"
  | "ready"
  | "timer"
  | "stop"
  | "remove"
  | "restart"
  | "timeout"
  | "cancel";
interface Facts {
  /** How a run that was not aborted ended. */
  outcome: "completed" | "failed";
  /** Its policy restarts that outcome. */
  restart: boolean;
  /** The supervisor runs and is not shutting down. */
  live: boolean;
  /** A restart now is within the restart limit. */
  admitted: boolean;
  /** start() waits for this service to be ready. */
  awaited: boolean;
}
/** The facts of any input but a run settling. */
const NO_FACTS: Omit<Facts, "awaited"> = {
  outcome: "completed",
  restart: false,
  live: false,
  admitted: false,
};

// Effects, carried out in this order whatever order a row names them in:
// first what no user code sees, then events, then user code (abort, run).
const WAIT = 1 << 0; // bound the wait for the aborted run
const UNWAIT = 1 << 1; // end that wait
const CANCEL = 1 << 2; // clear the pending restart timer
const LIMIT = 1 << 3; // lastError becomes a RestartLimitError
const SCHEDULE = 1 << 4; // count a restart, take the backoff delay, set its timer
const NOW = 1 << 5; // restart(): count it (once), set a 0 ms timer
const FORGET = 1 << 6; // forget the service; remove() resolves
const STOPTIMEOUT = 1 << 7; // fire stoptimeout
const EXIT = 1 << 8; // fire exit
const ANNOUNCE = 1 << 9; // fire restart
const GIVEUP = 1 << 10; // fire giveup
const READY = 1 << 11; // mark ready, fire ready
const ABORT = 1 << 12; // abort the run's signal
const LAUNCH = 1 << 13; // begin a run
const RESOLVE = 1 << 14; // restart() callers resolve
const REJECT = 1 << 15; // restart() callers reject
const PROCEED = 1 << 16; // start() goes on to the next service
const FAIL = 1 << 17; // start() fails: the service failed before it was ready

interface Next {
  readonly phase: Phase;
  readonly intent?: Intent;
  readonly fx: number;
}
const to = (phase: Phase, fx: number, intent?: Intent): Next =>
  intent === undefined ? { phase, fx } : { phase, fx, intent };

/** The README's lifecycle diagram as a table; `undefined`: the input changes nothing. */
function table(phase: Phase, intent: Intent | undefined, input: Input, f: Facts): Next | undefined {
  // "start() ... waits for each to be ready before starting the next": it
  // goes on when the run it waits for is ready, completed, or will not be
  // followed by another.
  const proceed = f.awaited ? PROCEED : 0;
  switch (input) {
    case "start": // start(), add() while running, its supervisor runs again
      if (phase === "stopped" || phase === "completed" || phase === "failed") {
        return to("running", LAUNCH);
      }
      // "an abandoned run settles while its supervisor runs again": it starts then.
      if (phase === "abandoned" && intent !== "start") return to("abandoned", 0, "start");
      return undefined;
    case "settle":
      switch (phase) {
        case "running": {
          // "A run that completes before it is ready counts as ready (a
          // one-shot job; its restart policy still applies)."
          const ready = f.outcome === "completed" ? proceed : 0;
          // "failed before ready() while start() waits for it"
          if (f.outcome === "failed" && f.awaited) return to("failed", EXIT | FAIL);
          if (!f.restart) return to(f.outcome, EXIT | ready);
          // "ended on its own during shutdown, and its policy would restart it"
          if (!f.live) return to("stopped", EXIT | ready);
          if (!f.admitted) return to("failed", LIMIT | EXIT | GIVEUP | ready);
          return to("backing_off", SCHEDULE | EXIT | ANNOUNCE | ready);
        }
        case "stopping":
          if (intent === "remove") return to("removed", UNWAIT | FORGET | EXIT | proceed);
          if (intent === "restart") return to("backing_off", UNWAIT | NOW | EXIT | ANNOUNCE);
          return to("stopped", UNWAIT | EXIT);
        case "abandoned":
          return intent === "start" ? to("running", EXIT | LAUNCH) : to("stopped", EXIT);
        case "removed": // a removed service's abandoned run, settling late
          return to("removed", EXIT);
        default:
          return undefined;
      }
    case "ready":
      return phase === "running" ? to("running", READY | proceed) : undefined;
    case "timer":
      return phase === "backing_off" ? to("running", LAUNCH | RESOLVE) : undefined;
    case "stop": // the shutdown reaches it
      if (phase === "running") return to("stopping", WAIT | ABORT, "stop");
      if (phase === "stopping" || phase === "abandoned") {
        return to("stopping", WAIT, intent === "remove" ? "remove" : "stop");
      }
      return undefined;
    case "remove":
      if (phase === "running") return to("stopping", WAIT | ABORT, "remove");
      if (phase === "stopping") return to("stopping", REJECT, "remove");
      return to("removed", CANCEL | REJECT | FORGET | proceed);
    case "restart":
      if (phase === "running") return to("stopping", WAIT | ABORT, "restart");
      if (phase === "stopping") return undefined; // already on its way
      if (phase === "abandoned") return to("stopping", WAIT, "restart");
      return to("backing_off", CANCEL | NOW | ANNOUNCE);
    case "timeout": // its stopTimeout passed
      if (phase !== "stopping") return undefined;
      // An abandoned run is never restarted: no run follows it.
      if (intent === "remove") return to("removed", STOPTIMEOUT | FORGET | proceed);
      if (intent === "restart") return to("abandoned", STOPTIMEOUT | REJECT | proceed, intent);
      return to("abandoned", STOPTIMEOUT | proceed, intent);
    case "cancel": // the session ends: pending restarts are cancelled
      if (phase === "backing_off") return to("stopped", CANCEL | REJECT);
      if (phase === "stopping" && intent === "restart") return to("stopping", REJECT, "stop");
      if (phase === "abandoned" && intent !== "stop") return to("abandoned", 0, "stop");
      return undefined;
  }
}

const isLive = (phase: Phase) =>
  phase === "running" || phase === "stopping" || phase === "abandoned";
const publicState = (phase: Phase) => phase === "abandoned" ? "stopping" : phase;

/** A restart timer: each restart waits on exactly one. */
interface MTimer {
  readonly due: number;
  readonly seq: number;
  /** Whose restart it is, as the event log names it. */
  readonly path: string;
  readonly fire: () => void;
}
/**
 * What fake time's next step may fire at an instant: a restart timer, the
 * bounded waits of one supervisor that are due, or nothing the model sees
 * (a timer the supervisor keeps for its waits, firing with none due).
 */
type Option =
  | { readonly k: "timer"; readonly timer: MTimer }
  | { readonly k: "waits"; readonly sup: MSup; readonly keys: MChild[] }
  | { readonly k: "nothing" };

interface MRun {
  readonly sup: MSup;
  readonly child: MChild;
  readonly attempt: number;
  aborted: boolean;
  settled: boolean;
}

class MChild {
  readonly policy: RestartPolicy;
  readonly stopTimeout: number;
  phase: Phase = "stopped";
  intent: Intent | undefined;
  attempt = 0;
  /** Its attempt when the session began: start() starts it only if it has not run since. */
  base = 0;
  restarts = 0;
  /** The pending restart was counted already. */
  counted = false;
  /** Restarts since the backoff was reset: the n of the formula. */
  step = 0;
  /** Times of restarts within the window. */
  window: number[] = [];
  startedAt = 0;
  ready = false;
  run: MRun | undefined;
  timer: MTimer | undefined;
  delay = 0;
  lastError: string | undefined;
  failures = 0;
  completions = 0;
  giveups = 0;
  lastExitAt: number | undefined;
  restarters: number[] = [];
  /** Called once it is forgotten: remove() callers, a deferred add(). */
  removers: (() => void)[] = [];

  /** `spec`: a puppet's; `sub`: the child supervisor's model. */
  constructor(readonly name: string, readonly spec?: Spec, readonly sub?: MSup) {
    this.policy = spec?.policy ?? "on_failure";
    this.stopTimeout = sub ? SUB_SHUTDOWN : STOP_TIMEOUT;
  }
}

interface MSession {
  live: boolean;
  /** Why start() failed, if it did. */
  startError: string | undefined;
  /** For a child supervisor: the run of it its parent made. */
  readonly run: MRun | undefined;
  hurryAt: number;
}

/** A mailbox: the messages (each a call to make) waiting while one is handled. */
interface Box {
  readonly queue: (() => void)[];
  busy: boolean;
}

/** The fake clock, the microtask queue, the event log and the calls, as the model sees them. */
class World {
  now = 0;
  /** Inside a timer's callback: a 0 ms timer set now waits 1 ms (browsers, Node, FakeTime). */
  duringTick = false;
  #seq = 0;
  readonly timers = new Set<MTimer>();
  readonly micro: (() => void)[] = [];
  readonly log: string[] = [];
  /** Unsettled puppet runs, in the order they began. */
  readonly runs: MRun[] = [];
  readonly labels: string[] = [];
  readonly outcomes: Outcome[] = [];
  readonly hooks: Hook[] = [];
  readonly root: MSup;
  readonly sub: MSup | undefined;
  report: StopReport | undefined;

  constructor(nested: boolean) {
    this.root = new MSup(this, "root", "", ROOT_SHUTDOWN);
    this.sub = nested ? new MSup(this, "sub", "sub/", SUB_SHUTDOWN) : undefined;
  }

  sup(where: Where): MSup {
    return where === "root" ? this.root : this.sub!;
  }

  setTimer(delay: number, path: string, fire: () => void): MTimer {
    const ms = Math.trunc(delay);
    const due = this.now + (ms || (this.duringTick ? 1 : 0));
    const timer = { due, seq: this.#seq++, path, fire };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer: MTimer | undefined): void {
    if (timer) this.timers.delete(timer);
  }

  /**
   * What may have fired when fake time moved to `t` and `first` was the
   * first event logged: nothing is ever late (a restart timer fires on time,
   * a bounded wait within one timer tick); restart timers fire in the order
   * they were set; a supervisor's due waits end together or one after
   * another, in the order they were set. The order of different things due
   * at the same instant is left open, as the README leaves it.
   */
  options(t: number, first: string | undefined): Option[] {
    if (t < this.now) return [];
    let next: MTimer | undefined;
    for (const timer of this.timers) {
      if (timer.due < t) return [];
      if (timer.due === t && (!next || timer.seq < next.seq)) next = timer;
    }
    // A bounded wait ends within one timer tick of its time. One whose
    // service left `stopping` meanwhile (it timed out earlier in the same
    // batch, say) changes nothing when it ends: it is not waited for.
    const sups = this.sub ? [this.root, this.sub] : [this.root];
    for (const sup of sups) {
      for (const [child, until] of sup.waits) {
        if (child.phase === "stopping" && until < t - 1) return [];
      }
    }
    if (first === undefined) return [{ k: "nothing" }];
    const [, type, service] = first.split(" ");
    const path = service!.split("#")[0];
    if (type === "start") return next && next.path === path ? [{ k: "timer", timer: next }] : [];
    if (type !== "stoptimeout") return [];
    const options: Option[] = [];
    for (const sup of sups) {
      const keys = [...sup.waits]
        .filter(([child, until]) => until <= t && child.phase === "stopping")
        .map(([child]) => child);
      if (keys.length === 0 || sup.prefix + keys[0]!.name !== path) continue;
      for (let n = 1; n <= keys.length; n++) {
        options.push({ k: "waits", sup, keys: keys.slice(0, n) });
      }
    }
    return options;
  }

  /** Moves to `t` and fires `option`, as inside a timer's callback. */
  fire(t: number, option: Option): void {
    this.now = t;
    this.duringTick = true;
    try {
      if (option.k === "timer") {
        this.timers.delete(option.timer);
        option.timer.fire();
      } else if (option.k === "waits") {
        for (const key of option.keys) option.sup.waits.delete(key);
        const { sup, keys } = option;
        sup.post(() => {
          for (const child of keys) {
            if (sup.apply(child, "timeout")) sup.shutdown?.done(child, true);
          }
        });
      }
    } finally {
      this.duringTick = false;
    }
  }

  waitsText(): string {
    const sups = this.sub ? [this.root, this.sub] : [this.root];
    const waits = sups.flatMap((sup) =>
      [...sup.waits].map(([c, until]) => `${sup.prefix}${c.name}@${until}`)
    );
    return waits.join(", ");
  }

  drain(): void {
    for (let task = this.micro.shift(); task; task = this.micro.shift()) task();
  }

  call(label: string): number {
    this.labels.push(label);
    return this.outcomes.push("pending") - 1;
  }

  settleCall(id: number, outcome: Outcome): void {
    if (this.outcomes[id] === "pending") this.outcomes[id] = outcome;
  }

  act(a: Action): void {
    const id = this.call(actionText(a));
    switch (a.k) {
      case "remove":
        return this.sup(a.where).remove(a.name, id);
      case "restart":
        return this.sup(a.where).restart(a.name, id);
      case "stop":
        return this.root.stop(id);
      case "start":
        return this.root.start(id);
      case "addSub":
        return this.root.add("sub", undefined, this.sub, id);
      case "add":
        return this.sup(a.where).add(a.name, a.spec, undefined, id);
    }
  }

  /** The test settles a run (or a puppet honours its abort): the supervisor hears of it in a microtask. */
  settleRun(run: MRun, how: How): void {
    if (run.settled) return;
    run.settled = true;
    this.runs.splice(this.runs.indexOf(run), 1);
    const thrown = how === "complete"
      ? undefined
      : `${run.sup.prefix}${run.child.name}#${run.attempt} ${how}`;
    this.settleLater(run, thrown, how === "hard");
  }

  /** A run's promise settled: the supervisor that runs it hears of it in a microtask. */
  settleLater(run: MRun, thrown: string | undefined, hard: boolean): void {
    this.micro.push(() => run.sup.post(() => run.sup.settle(run, thrown, hard)));
  }

  fireHooks(where: Where, on: On, name: string): void {
    fireHooks(this.hooks, where, on, name, (action) => this.act(action));
  }
}

/**
 * start(): the children start in order, each once; a waitReady child must
 * be ready (or have completed) before the next starts; a call made
 * meanwhile goes first.
 */
class MStartup {
  #index = 0;
  #over = false;
  waiting: MChild | undefined;
  constructor(readonly sup: MSup, readonly children: MChild[]) {}

  next(): void {
    while (!this.#over && this.#index < this.children.length) {
      const child = this.children[this.#index]!;
      if (child.phase !== "removed") {
        // A service that already began a run in this session (restart()
        // came first) is not started again: "completed and failed are final
        // until restart(name) or the next run() of the enclosing supervisor".
        if (child.attempt === child.base) this.sup.apply(child, "start");
        if (child.spec?.waitReady && !child.ready && willRun(child)) {
          this.waiting = child;
          return;
        }
      }
      this.#index++;
      // A call a listener or a run made meanwhile goes first.
      if (this.sup.box().queue.length > 0) return this.sup.next(() => this.next());
    }
    if (this.#over) return;
    this.#over = true;
    this.sup.startupOver(undefined);
  }

  proceed(child: MChild): void {
    if (child !== this.waiting || this.#over) return;
    this.waiting = undefined;
    this.#index++;
    this.sup.next(() => this.next());
  }

  fail(child: MChild): void {
    if (child !== this.waiting || this.#over) return;
    this.cut();
    this.sup.startupOver(
      `Cannot start supervisor '${this.sup.where}' as service '${child.name}' failed before it was ready`,
    );
  }

  cut(): void {
    this.#over = true;
    this.waiting = undefined;
  }
}

/** Whether a run of `child` is live, or will begin without another call. */
function willRun(child: MChild): boolean {
  switch (child.phase) {
    case "running":
    case "backing_off":
      return true;
    case "stopping":
      return child.intent === "restart";
    case "abandoned":
      return child.intent === "start";
    default:
      return false;
  }
}

/**
 * stop(): one at a time in reverse order, each within its stopTimeout, all
 * within the deadline; at the deadline the rest are aborted together.
 */
class MShutdown {
  #index = 0;
  #late = false;
  #over = false;
  readonly #results: (boolean | undefined)[];
  /** Per child: whether its run was live when the shutdown began. */
  readonly #wasLive: boolean[];
  readonly #pending = new Map<MChild, number>();

  constructor(
    readonly sup: MSup,
    readonly session: MSession,
    readonly children: MChild[],
    public deadline: number,
  ) {
    this.#results = new Array(children.length);
    this.#wasLive = children.map((child) => isLive(child.phase));
  }

  next(): void {
    while (!this.#late && this.#index < this.children.length) {
      const child = this.children[this.#index]!;
      if (!isLive(child.phase)) {
        this.#results[this.#index++] = true;
        continue;
      }
      if (this.sup.w.now >= this.deadline) return this.#stopLate();
      this.sup.apply(child, "stop", undefined, this.deadline);
      return;
    }
    if (!this.#late) this.#finish();
  }

  done(child: MChild, timedOut: boolean): void {
    if (this.#over) return;
    if (!this.#late) {
      if (this.children[this.#index] !== child) return;
      this.#results[this.#index++] = !timedOut;
      this.sup.next(() => this.next());
      return;
    }
    const index = this.#pending.get(child);
    if (index === undefined) return;
    this.#pending.delete(child);
    this.#results[index] = !timedOut;
    if (this.#pending.size === 0) this.#finish();
  }

  hurry(at: number): void {
    if (at >= this.deadline || this.#over) return;
    this.deadline = at;
    // A deadline already past: the children left are stopped together now.
    if (!this.#late && at <= this.sup.w.now) return this.#stopLate();
    if (this.#late) {
      for (const child of this.#pending.keys()) this.sup.bound(child, at);
      return;
    }
    const child = this.children[this.#index];
    if (child && isLive(child.phase)) this.sup.bound(child, at);
  }

  #stopLate(): void {
    this.#late = true;
    for (let i = this.#index; i < this.children.length; i++) {
      const child = this.children[i]!;
      if (isLive(child.phase)) this.#pending.set(child, i);
      else this.#results[i] = true;
    }
    const now = this.sup.w.now;
    for (const child of [...this.#pending.keys()]) {
      if (this.#pending.has(child)) this.sup.apply(child, "stop", undefined, now);
    }
    if (this.#pending.size === 0) this.#finish();
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    const stopped: string[] = [];
    const timedOut: string[] = [];
    this.children.forEach((child, i) => {
      const atRest = this.#results[i] !== false;
      (atRest ? stopped : timedOut).push(child.name);
      // A child supervisor's abandoned paths, if it ran at this stop.
      if (atRest && child.sub && this.#wasLive[i]) {
        for (const path of child.sub.lastReport?.timedOut ?? []) {
          timedOut.push(`${child.name}/${path}`);
        }
      }
    });
    this.sup.finish(this.session, { stopped, timedOut });
  }
}

/** One supervisor of the model. */
class MSup {
  readonly children = new Map<string, MChild>();
  readonly reserved = new Set<string>();
  /** Names remove() was called for, and how many times, until it is handled. */
  readonly removing = new Map<string, number>();
  /** Its own mailbox; a child supervisor uses its parent's, the tree's one. */
  readonly own: Box = { queue: [], busy: false };
  state: SupervisorState = "idle";
  session: MSession | undefined;
  startup: MStartup | undefined;
  shutdown: MShutdown | undefined;
  started = false;
  stopped = false;
  stopCalls: number[] | undefined;
  readonly startCalls: number[] = [];
  startOutcome: Outcome | undefined;
  lastReport: StopReport | undefined;
  /** For the child supervisor: whether a parent holds it. */
  parent: MSup | undefined;
  /**
   * Bounded waits for aborted runs, by when they end, in the order they were
   * set. A child supervisor has none: it is told the deadline and keeps it.
   */
  readonly waits = new Map<MChild, number>();
  /** How the run being handled ended, for its exit event. */
  outcome = "completed";

  constructor(
    readonly w: World,
    readonly where: Where,
    readonly prefix: string,
    readonly shutdownTimeout: number,
  ) {}

  // ── The calls, checked at once as the real ones are ──

  add(name: string, spec: Spec | undefined, sub: MSup | undefined, id: number): void {
    // README: "Calling stop() again returns the same promise. Afterwards
    // add() throws": from the moment stop() is called. A name whose service
    // a queued remove() is about to forget (it has no live run) is free.
    const holder = this.children.get(name);
    const freed = holder !== undefined && this.removing.has(name) && !isLive(holder.phase);
    // And from the moment the session start() made begins to end (README:
    // "add() on a supervisor start() started throws, as after stop()").
    if (
      this.stopCalls || this.stopped || (this.started && this.session?.live === false) ||
      (holder && !freed) || this.reserved.has(name) ||
      (sub && (sub.parent || sub.session || sub.stopped || sub.started))
    ) {
      return this.w.settleCall(id, "threw");
    }
    this.w.settleCall(id, "added");
    if (sub) sub.parent = this;
    this.reserved.add(name);
    const child = new MChild(name, spec, sub);
    this.post(() => this.register(child));
  }

  remove(name: string, id: number): void {
    this.removing.set(name, (this.removing.get(name) ?? 0) + 1);
    this.post(() => {
      const queued = this.removing.get(name)!;
      if (queued > 1) this.removing.set(name, queued - 1);
      else this.removing.delete(name);
      const child = this.children.get(name);
      if (!child) return this.w.settleCall(id, "rejected");
      child.removers.push(() => this.w.settleCall(id, "resolved"));
      this.apply(child, "remove");
    });
  }

  restart(name: string, id: number): void {
    this.post(() => {
      const child = this.children.get(name);
      if (!child || !this.live() || (child.phase === "stopping" && child.intent === "remove")) {
        return this.w.settleCall(id, "rejected");
      }
      child.restarters.push(id);
      this.apply(child, "restart");
    });
  }

  start(id: number): void {
    if (this.stopCalls || this.stopped) return this.w.settleCall(id, "rejected");
    if (this.started) {
      if (this.startOutcome) this.w.settleCall(id, this.startOutcome);
      else this.startCalls.push(id);
      return;
    }
    this.started = true;
    this.startCalls.push(id);
    this.post(() => this.begin(undefined));
  }

  stop(id: number): void {
    if (this.stopCalls) {
      this.stopCalls.push(id);
      if (this.w.report) this.w.settleCall(id, "resolved");
      return;
    }
    this.stopCalls = [id];
    this.post(() => {
      this.stopped = true;
      if (this.session) return this.end();
      if (this.state === "idle") this.state = "stopped";
      this.resolveStop(this.lastReport ?? { stopped: [], timedOut: [] });
    });
  }

  ready(run: MRun): void {
    this.post(() => {
      if (run.child.run === run && !run.child.ready) this.apply(run.child, "ready");
    });
  }

  // ── The mailbox, one per tree ──

  box(): Box {
    return this.parent?.box() ?? this.own;
  }

  post(message: () => void): void {
    const box = this.box();
    if (box.busy) return void box.queue.push(message);
    box.busy = true;
    message();
    for (let next = box.queue.shift(); next; next = box.queue.shift()) next();
    box.busy = false;
  }

  /** Runs `step` once the message being handled is done, after the calls queued before it. */
  next(step: () => void): void {
    this.box().queue.push(step);
  }

  /** A message (the service's add) waiting: registers it, and starts it if its supervisor runs. */
  register(child: MChild): void {
    this.reserved.delete(child.name);
    const holder = this.children.get(child.name);
    if (holder) {
      // Its name was being freed, but its run went live again meanwhile:
      // it is registered once that service is forgotten.
      holder.removers.push(() => this.post(() => this.register(child)));
      this.reserved.add(child.name);
      return;
    }
    this.children.set(child.name, child);
    if (!this.live()) return;
    if (this.startup) this.startup.children.push(child);
    else this.apply(child, "start");
  }

  live(): boolean {
    return this.session?.live === true;
  }

  // ── The session ──

  begin(run: MRun | undefined): void {
    if (this.session || this.stopped) {
      // A child supervisor's run rejects: its parent sees a failed run.
      const why = this.session ? "running" : "stopped";
      if (run) this.w.settleLater(run, `Cannot run supervisor 'sub' as it is ${why}`, false);
      return;
    }
    this.session = { live: true, startError: undefined, run, hurryAt: Infinity };
    this.state = "starting";
    for (const child of this.children.values()) {
      child.step = 0;
      child.window = [];
      child.base = child.attempt;
    }
    if (run?.aborted) return this.end();
    this.startup = new MStartup(this, [...this.children.values()]);
    this.startup.next();
  }

  startupOver(error: string | undefined): void {
    this.startup = undefined;
    if (error !== undefined) {
      this.session!.startError = error;
      return this.next(() => this.end());
    }
    this.state = "running";
    const run = this.session!.run;
    if (run) run.sup.ready(run);
    else this.resolveStart();
  }

  end(): void {
    const session = this.session;
    if (!session || !session.live) return;
    session.live = false;
    this.state = "stopping";
    this.startup?.cut();
    this.startup = undefined;
    const cancelled = new Set<MChild>();
    for (const child of this.children.values()) {
      if (this.apply(child, "cancel")?.phase === "stopped") cancelled.add(child);
    }
    const children = [...this.children.values()].reverse()
      .filter((child) => cancelled.has(child) || isLive(child.phase));
    const deadline = Math.min(this.w.now + this.shutdownTimeout, session.hurryAt);
    this.shutdown = new MShutdown(this, session, children, deadline);
    this.shutdown.next();
  }

  finish(session: MSession, report: StopReport): void {
    this.shutdown = undefined;
    this.waits.clear();
    this.session = undefined;
    this.lastReport = report;
    const error = session.startError;
    this.state = error === undefined ? "stopped" : "failed";
    if (this.started) this.stopped = true;
    if (this.stopped) this.resolveStop(report);
    const run = session.run;
    if (run) {
      this.w.settleLater(run, error, false);
    } else if (error === undefined) this.resolveStart();
    else {
      this.startOutcome ??= "rejected";
      for (const id of this.startCalls) this.w.settleCall(id, "rejected");
    }
  }

  resolveStart(): void {
    this.startOutcome ??= "resolved";
    for (const id of this.startCalls) this.w.settleCall(id, "resolved");
  }

  resolveStop(report: StopReport): void {
    if (!this.stopCalls) return;
    this.w.report ??= report;
    for (const id of this.stopCalls) this.w.settleCall(id, "resolved");
  }

  // ── One service ──

  settle(run: MRun, thrown: string | undefined, hard: boolean): void {
    const child = run.child;
    if (child.run !== run) return;
    child.run = undefined;
    child.ready = false;
    child.lastExitAt = this.w.now;
    const facts = { ...NO_FACTS };
    this.outcome = "stopped";
    if (!run.aborted) {
      this.outcome = facts.outcome = thrown === undefined ? "completed" : "failed";
      if (thrown !== undefined) {
        child.lastError = thrown;
        child.failures++;
      } else child.completions++;
      facts.restart = !hard &&
        (child.policy === "always" || (child.policy === "on_failure" && thrown !== undefined));
      facts.live = this.live();
      if (facts.restart && facts.live) {
        const now = this.w.now;
        child.window = child.window.filter((t) => now - t < RESTART_WINDOW);
        facts.admitted = child.window.length < MAX_RESTARTS;
      }
    }
    if (this.apply(child, "settle", facts)) this.shutdown?.done(child, false);
  }

  apply(child: MChild, input: Input, facts = NO_FACTS, until = Infinity): Next | undefined {
    const awaited = this.startup !== undefined && this.startup.waiting === child;
    const next = table(child.phase, child.intent, input, { ...facts, awaited });
    if (!next) return undefined;
    child.phase = next.phase;
    child.intent = next.intent;
    this.effects(child, next.fx, until);
    return next;
  }

  effects(child: MChild, fx: number, until: number): void {
    const w = this.w;
    // A wait under way (remove() before the shutdown reached it) only moves earlier.
    if (fx & WAIT) this.bound(child, Math.min(w.now + child.stopTimeout, until));
    if (fx & UNWAIT) this.waits.delete(child);
    if (fx & CANCEL && child.timer) {
      w.clearTimer(child.timer);
      child.timer = undefined;
    }
    if (fx & LIMIT) {
      child.lastError = "limit";
      child.giveups++;
    }
    if (fx & SCHEDULE) {
      // The delay: recorded against the limit, reset after a long run, no jitter.
      child.window.push(w.now);
      if (w.now - child.startedAt >= RESET_AFTER) child.step = 0;
      child.delay = Math.min(MAX_DELAY, INITIAL_DELAY * 2 ** child.step++);
      child.restarts++;
      child.counted = true;
      this.setTimer(child, child.delay);
    }
    if (fx & NOW) {
      // A service that never ran (restart() before start() reached it) is
      // started on the same timer, but neither counted nor announced.
      if (!child.counted && child.attempt > 0) child.restarts++;
      child.counted = child.attempt > 0;
      child.delay = 0;
      this.setTimer(child, 0);
    }
    if (fx & FORGET) {
      this.waits.delete(child);
      if (this.children.get(child.name) === child) this.children.delete(child.name);
      if (child.sub) child.sub.parent = undefined;
      const removers = child.removers;
      child.removers = [];
      for (const removed of removers) removed();
    }
    if (fx & STOPTIMEOUT) this.emit("stoptimeout", child.name, "");
    if (fx & EXIT) this.emit("exit", child.name, `#${child.attempt} ${this.outcome}`);
    if (fx & ANNOUNCE && child.attempt > 0) {
      this.emit("restart", child.name, `#${child.attempt + 1} ${child.delay}`);
    }
    if (fx & GIVEUP) this.emit("giveup", child.name, "");
    if (fx & READY) {
      child.ready = true;
      this.emit("ready", child.name, `#${child.attempt}`);
    }
    if (fx & ABORT) this.abort(child);
    if (fx & LAUNCH) this.launch(child);
    if (fx & (RESOLVE | REJECT)) {
      const ids = child.restarters;
      child.restarters = [];
      for (const id of ids) w.settleCall(id, fx & RESOLVE ? "resolved" : "rejected");
    }
    if (fx & PROCEED) this.startup?.proceed(child);
    if (fx & FAIL) this.startup?.fail(child);
  }

  setTimer(child: MChild, delay: number): void {
    const timer: MTimer = this.w.setTimer(
      delay,
      this.prefix + child.name,
      () =>
        this.post(() => {
          if (child.timer !== timer) return;
          child.timer = undefined;
          this.apply(child, "timer");
        }),
    );
    child.timer = timer;
  }

  /** The wait for the aborted run ends by `until`; a child supervisor is told it as its deadline. */
  bound(child: MChild, until: number): void {
    const { sub, run } = child;
    if (sub) {
      if (!run) return;
      // Its shutdown, under way or to come, must end by `until`.
      return sub.post(() => {
        const session = sub.session;
        if (!session || session.run !== run) return;
        if (sub.shutdown) sub.shutdown.hurry(until);
        else session.hurryAt = Math.min(session.hurryAt, until);
      });
    }
    const current = this.waits.get(child);
    this.waits.delete(child);
    this.waits.set(child, current === undefined ? until : Math.min(current, until));
  }

  abort(child: MChild): void {
    const run = child.run!;
    if (run.aborted) return;
    run.aborted = true;
    const sub = child.sub;
    if (sub) {
      // Its session on this run, if under way, ends in its turn.
      const session = sub.session;
      if (session?.run === run) sub.post(() => sub.session === session && sub.end());
      return;
    }
    if (!child.spec!.stubborn) this.w.settleRun(run, "complete");
    this.w.fireHooks(this.where, "abort", child.name);
  }

  launch(child: MChild): void {
    const run: MRun = {
      sup: this,
      child,
      attempt: ++child.attempt,
      aborted: false,
      settled: false,
    };
    child.run = run;
    child.ready = false;
    child.counted = false;
    child.startedAt = this.w.now;
    this.emit("start", child.name, `#${run.attempt}`);
    // A child supervisor's run begins within this change, not in its turn.
    if (child.sub) return child.sub.begin(run);
    this.w.runs.push(run);
    this.w.fireHooks(this.where, "run", child.name);
  }

  emit(
    type: "start" | "exit" | "restart" | "stoptimeout" | "giveup" | "ready",
    name: string,
    detail: string,
  ) {
    // What status() shows inside the listener: the change is committed first.
    const state = this.children.get(name);
    this.w.log.push(
      `${this.w.now} ${type} ${this.prefix}${name}${detail} [${
        state ? publicState(state.phase) : "gone"
      }]`,
    );
    if (type === "start" || type === "exit" || type === "restart") {
      this.w.fireHooks(this.where, type, name);
    }
  }

  metricsLines(): string[] {
    return [...this.children.values()].flatMap((c) => [
      metricsText({ ...c, state: publicState(c.phase) }, c.run && this.w.now - c.startedAt),
      ...(c.sub?.metricsLines().map((line) => `${c.name}/${line}`) ?? []),
    ]);
  }

  statusLines(): string[] {
    return [...this.children.values()].map((c) =>
      statusText({ ...c, state: publicState(c.phase) }, c.lastError)
    );
  }
}

/** What metrics() says of a service, in a line; `uptime` only while it is up. */
function metricsText(
  m:
    & Pick<ServiceMetrics, "name" | "restarts" | "failures" | "completions" | "giveups" | "ready">
    & {
      readonly state: string;
      readonly lastExitAt?: number | undefined;
    },
  uptime: number | undefined,
): string {
  return `${m.name} ${m.state} r${m.restarts} f${m.failures} c${m.completions} g${m.giveups} ` +
    `${uptime === undefined ? "down" : `up ${uptime}`} last ${m.lastExitAt ?? "-"}` +
    `${m.ready ? " ready" : ""}`;
}

/** What status() says of a service, in a line. */
function statusText(
  s: Pick<ServiceStatus, "name" | "attempt" | "restarts" | "ready"> & { readonly state: string },
  lastError: string | undefined,
): string {
  return `${s.name} ${s.state} #${s.attempt} r${s.restarts}${s.ready ? " ready" : ""}${
    lastError === undefined ? "" : ` (${lastError})`
  }`;
}

// ─── The real supervisors, with puppet services ────────────────────────────

/** One run of a puppet: a promise the test settles, or that settles when aborted. */
interface RealRun {
  readonly where: Where;
  readonly name: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly context: RunContext;
  readonly incarnation: Incarnation;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  readyCalled: boolean;
}
/** One service object added under a name: its runs, and the restarts announced for it. */
class Incarnation {
  runs = 0;
  live: RealRun | undefined;
  /** The attempts a restart event announced. */
  readonly announced = new Set<number>();
  /** The attempts announced with no delay: by restart(). */
  readonly now = new Set<number>();
  constructor(readonly policy: RestartPolicy) {}
}
interface Logged {
  readonly t: number;
  readonly type: string;
  readonly path: string;
  readonly attempt: number | undefined;
  readonly delay: number | undefined;
}

class Real {
  readonly root: Supervisor;
  readonly sub: Supervisor | undefined;
  readonly log: string[] = [];
  readonly events: Logged[] = [];
  /** Unsettled puppet runs, in the order they began. */
  readonly runs: RealRun[] = [];
  readonly labels: string[] = [];
  readonly outcomes: Outcome[] = [];
  readonly hooks: Hook[] = [];
  /** The service object now under each `where/name`. */
  readonly incarnations = new Map<string, Incarnation>();
  /** The service added under a name a queued remove() frees, until the old one is forgotten. */
  readonly pending = new Map<string, Incarnation>();
  /** Broken guarantees seen inside callbacks, reported at the next check. */
  readonly problems: string[] = [];
  stopCalledAt: number | undefined;
  stoppedAt: number | undefined;
  report: StopReport | undefined;

  constructor(readonly time: FakeTime, readonly shape: Shape) {
    const options = { ...OPTIONS, name: "root", strategy: shape.root };
    this.root = new Supervisor({ ...options, shutdownTimeout: ROOT_SHUTDOWN });
    this.#record(this.root, "root");
    if (!shape.sub) return;
    const { sub: strategy, escalate } = shape;
    this.sub = new Supervisor({
      ...options,
      name: "sub",
      strategy,
      escalate,
      shutdownTimeout: SUB_SHUTDOWN,
    });
    this.#record(this.sub, "sub");
  }

  sup(where: Where): Supervisor {
    return where === "root" ? this.root : this.sub!;
  }

  /** Records each supervisor's own events; a child supervisor's reach the log from it. */
  #record(supervisor: Supervisor, where: Where): void {
    const prefix = where === "sub" ? "sub/" : "";
    for (const type of ["start", "exit", "restart", "giveup", "stoptimeout", "ready"]) {
      supervisor.addEventListener(type, (e) => {
        const event = e as Event & {
          service: string;
          attempt?: number;
          outcome?: string;
          delay?: number;
        };
        if (event.service.includes("/")) return;
        const detail = type === "exit"
          ? `#${event.attempt} ${event.outcome}`
          : type === "restart"
          ? `#${event.attempt} ${event.delay}`
          : event.attempt === undefined
          ? ""
          : `#${event.attempt}`;
        const path = prefix + event.service;
        const state = supervisor.status().find((s) => s.name === event.service)?.state ?? "gone";
        this.log.push(`${Date.now()} ${type} ${path}${detail} [${state}]`);
        const key = `${where}/${event.service}`;
        if (state === "gone") this.#promote(key);
        if (type === "restart") {
          // "A child with policy never is stopped with its group but not
          // restarted": only restart() restarts it (unannounced when it
          // never ran, so its group may announce its first run).
          const current = this.incarnations.get(key)!;
          const attempt = event.attempt!;
          current.announced.add(attempt);
          if (event.delay === 0) current.now.add(attempt);
          else if (current.policy === "never" && attempt > 1 && !current.now.has(attempt)) {
            this.problems.push(`${path} (policy never) restarts after a backoff of ${event.delay}`);
          }
        }
        this.events.push({ t: Date.now(), type, path, attempt: event.attempt, delay: event.delay });
        if (type === "start" || type === "exit" || type === "restart") {
          fireHooks(this.hooks, where, type, event.service, (action) => this.act(action));
        }
      });
    }
  }

  call(label: string): number {
    this.labels.push(label);
    return this.outcomes.push("pending") - 1;
  }

  track(id: number, promise: Promise<unknown>): void {
    promise.then(() => this.outcomes[id] = "resolved", () => this.outcomes[id] = "rejected");
  }

  act(a: Action): void {
    const id = this.call(actionText(a));
    switch (a.k) {
      case "remove":
        return this.track(id, this.sup(a.where).remove(a.name));
      case "restart":
        return this.track(id, this.sup(a.where).restart(a.name));
      case "stop": {
        this.stopCalledAt ??= this.time.now;
        const stopping = this.root.stop();
        stopping.then((report) => {
          this.report ??= report;
          this.stoppedAt ??= Date.now();
        });
        return this.track(id, stopping);
      }
      case "start":
        return this.track(id, this.root.start());
      case "addSub":
        return this.#add(id, "root", "sub", new Incarnation("on_failure"), (s) => s.add(this.sub!));
      case "add": {
        const next = new Incarnation(a.spec.policy);
        const options = {
          restartPolicy: a.spec.policy,
          ...(a.spec.waitReady ? { waitReady: true } : {}),
        };
        const puppet = this.#puppet(a.where, a.name, a.spec, next);
        return this.#add(id, a.where, a.name, next, (s) => s.add(a.name, puppet, options));
      }
    }
  }

  /**
   * Adds a service, the incarnation its name stands for from then on. One
   * added while a queued remove() frees its name stands for it once the
   * service holding it is forgotten: when that remove() is handled, at the
   * end of the change under way, or, if its run went live meanwhile, when it
   * is gone.
   */
  #add(id: number, where: Where, name: string, next: Incarnation, add: (s: Supervisor) => void) {
    const key = `${where}/${name}`;
    const supervisor = this.sup(where);
    const before = this.incarnations.get(key);
    const held = supervisor.status().some((s) => s.name === name);
    if (!held) this.incarnations.set(key, next);
    try {
      add(supervisor);
      this.outcomes[id] = "added";
    } catch {
      if (before) this.incarnations.set(key, before);
      else this.incarnations.delete(key);
      this.outcomes[id] = "threw";
      return;
    }
    if (!held) return;
    this.pending.set(key, next);
    const runs = before!.runs;
    queueMicrotask(() => {
      if (before!.runs === runs) this.#promote(key);
    });
  }

  /** The service a pending add() waited for is forgotten: the name is the new one's. */
  #promote(key: string): void {
    const next = this.pending.get(key);
    if (!next) return;
    this.pending.delete(key);
    this.incarnations.set(key, next);
  }

  settle(run: RealRun, how: How): void {
    if (run.settled) return;
    run.settled = true;
    this.runs.splice(this.runs.indexOf(run), 1);
    if (run.incarnation.live === run) run.incarnation.live = undefined;
    const path = `${run.where === "sub" ? "sub/" : ""}${run.name}#${run.attempt}`;
    if (how === "complete") run.resolve();
    else if (how === "fail") run.reject(new Error(`${path} fail`));
    else if (how === "hard") run.reject(new DoNotRestartError(`${path} hard`));
    else run.reject(new EscalateError(`${path} escalate`));
  }

  #puppet(where: Where, name: string, spec: Spec, incarnation: Incarnation) {
    return (signal: AbortSignal, context: RunContext): Promise<void> => {
      const where_ = `${where}/${name}#${context.attempt}`;
      if (incarnation.live) {
        this.problems.push(`${where_} began while #${incarnation.live.attempt} was live`);
      }
      if (context.attempt !== incarnation.runs + 1) {
        this.problems.push(`${where_} began after run #${incarnation.runs}`);
      }
      incarnation.runs = context.attempt;
      if (this.pending.get(`${where}/${name}`) === incarnation) this.#promote(`${where}/${name}`);
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const run: RealRun = {
        where,
        name,
        attempt: context.attempt,
        signal,
        context,
        incarnation,
        resolve,
        reject,
        settled: false,
        readyCalled: false,
      };
      incarnation.live = run;
      this.runs.push(run);
      if (!spec.stubborn) {
        signal.addEventListener("abort", () => this.settle(run, "complete"), { once: true });
      }
      signal.addEventListener("abort", () => {
        fireHooks(this.hooks, where, "abort", name, (action) => this.act(action));
      }, { once: true });
      fireHooks(this.hooks, where, "run", name, (action) => this.act(action));
      return promise;
    };
  }
}

// ─── The commands ──────────────────────────────────────────────────────────

interface Shape {
  readonly root: Strategy;
  readonly sub: Strategy | undefined;
  /** Whether the model predicts every step (one_for_one trees). */
  readonly exact: boolean;
  /** The child supervisor escalates (only where the model does not predict every step). */
  readonly escalate: boolean;
}

/** One step the model took: with a tick, the time it moved to and which option fired. */
interface Entry {
  readonly step: Step;
  readonly t: number;
  readonly first: string | undefined;
  readonly option: number;
}
/** The steps a world took, newest first, shared between branches. */
interface History {
  readonly entry: Entry;
  readonly before: History | undefined;
}
/** One way the model may have gone, and how it got there (to rebuild it by replay). */
interface Branch {
  readonly world: World;
  readonly history: History | undefined;
}

/**
 * The model side of a run. Where the README leaves the order of things due
 * at the same instant open, the model keeps each way that still agrees with
 * the supervisor (rarely more than one, never more than 8).
 */
class Env {
  branches: Branch[];
  constructor(readonly shape: Shape) {
    this.branches = shape.exact
      ? [{ world: new World(shape.sub !== undefined), history: undefined }]
      : [];
  }

  /** Rebuilds a world from its history. */
  replay(history: History | undefined): World {
    const entries: Entry[] = [];
    for (let h = history; h; h = h.before) entries.push(h.entry);
    const world = new World(this.shape.sub !== undefined);
    for (const entry of entries.reverse()) {
      entry.step.model(world, entry);
      world.drain();
    }
    return world;
  }

  /** Takes `step` in every branch, keeping the ways that agree with the supervisor. */
  follow(step: Step, real: Real, first: string | undefined): void {
    const t = real.time.now;
    const next: Branch[] = [];
    let mismatch: string | undefined;
    for (const branch of this.branches) {
      const count = step.options(branch.world, t, first);
      if (count === 0) {
        mismatch ??= `nothing the model expects at ${t} fires first with ${first ?? "no event"}` +
          `; restart timers due: ${[...branch.world.timers].map((x) => `${x.path}@${x.due}`)}` +
          `; waits: ${branch.world.waitsText()}`;
      }
      for (let option = 0; option < count; option++) {
        const world = count === 1 ? branch.world : this.replay(branch.history);
        const entry = { step, t, first, option };
        step.model(world, entry);
        world.drain();
        const diff = differences(world, real);
        if (diff) mismatch ??= diff;
        else next.push({ world, history: { entry, before: branch.history } });
      }
    }
    if (next.length === 0) throw new Error(`${mismatch}\nevents:\n  ${real.log.join("\n  ")}`);
    this.branches = next.slice(0, 8);
  }
}
type Cmd = fc.AsyncCommand<Env, Real>;

/** Does the same to the model and to the supervisor, lets microtasks run, then compares. */
abstract class Step implements Cmd {
  check(): boolean {
    return true;
  }
  async run(env: Env, real: Real): Promise<void> {
    const seen = real.log.length;
    await this.real(real);
    await real.time.runMicrotasks();
    try {
      if (env.shape.exact) env.follow(this, real, real.log[seen]);
      verify(real);
    } catch (error) {
      throw new Error(`After \`${this}\`: ${(error as Error).message}`);
    }
  }
  /** In how many ways the model may take this step. */
  options(_world: World, _t: number, _first: string | undefined): number {
    return 1;
  }
  abstract real(real: Real): void | Promise<void>;
  abstract model(world: World, entry: Entry): void;
  abstract toString(): string;
}

class Call extends Step {
  constructor(readonly action: Action) {
    super();
  }
  real(real: Real): void {
    real.act(this.action);
  }
  model(world: World): void {
    world.act(this.action);
  }
  toString(): string {
    return actionText(this.action);
  }
}

/**
 * The test settles the `index`-th unsettled run (in launch order), or the
 * run calls `context.ready()`.
 */
class Settle extends Step {
  constructor(readonly index: number, readonly how: How | "ready") {
    super();
  }
  real(real: Real): void {
    const run = real.runs[this.index % Math.max(1, real.runs.length)];
    if (!run) return;
    if (this.how !== "ready") return real.settle(run, this.how);
    run.readyCalled = true;
    run.context.ready();
  }
  model(world: World): void {
    const run = world.runs[this.index % Math.max(1, world.runs.length)];
    if (!run) return;
    if (this.how === "ready") run.sup.ready(run);
    else world.settleRun(run, this.how);
  }
  toString(): string {
    return `${this.how === "ready" ? "ready() in" : this.how} live run [${this.index}]`;
  }
}

/** Fake time moves to the next timer, which fires (`FakeTime.nextAsync`). */
class Tick extends Step {
  async real(real: Real): Promise<void> {
    await real.time.nextAsync();
  }
  override options(world: World, t: number, first: string | undefined): number {
    return world.options(t, first).length;
  }
  model(world: World, entry: Entry): void {
    world.fire(entry.t, world.options(entry.t, entry.first)[entry.option]!);
  }
  toString(): string {
    return "tick";
  }
}

/** Arms a one-shot re-entrant call. */
class Arm extends Step {
  constructor(
    readonly where: Where,
    readonly name: string,
    readonly on: On,
    readonly action: Action,
  ) {
    super();
  }
  #hook(): Hook {
    return { where: this.where, name: this.name, on: this.on, action: this.action, fired: false };
  }
  real(real: Real): void {
    real.hooks.push(this.#hook());
  }
  model(world: World): void {
    world.hooks.push(this.#hook());
  }
  toString(): string {
    const at = this.on === "run"
      ? `inside next run() of`
      : this.on === "abort"
      ? "on next abort of a run of"
      : `on next '${this.on}' of`;
    return `${at} ${this.where === "sub" ? "sub/" : ""}${this.name}: ${actionText(this.action)}`;
  }
}

// ─── The checks ────────────────────────────────────────────────────────────

function errorText(error: unknown): string {
  if (error instanceof RestartLimitError) return "limit";
  return error instanceof Error ? error.message : String(error);
}

const realStatus = (supervisor: Supervisor) =>
  supervisor.status().map((s) =>
    statusText(s, "lastError" in s ? errorText(s.lastError) : undefined)
  );
const realMetrics = (supervisor: Supervisor) =>
  supervisor.metrics().map((m) => metricsText(m, m.up ? m.uptime : undefined));

const runText = (where: Where, name: string, attempt: number, aborted: boolean) =>
  `${where === "sub" ? "sub/" : ""}${name}#${attempt}${aborted ? " (aborted)" : ""}`;
const callsText = (labels: string[], outcomes: Outcome[]) =>
  labels.map((label, i) => `${label} → ${outcomes[i]}`);

/** Unhandled rejections seen while a property runs. */
const unhandled: unknown[] = [];

/** Where the model and the supervisor disagree, if they do. */
function differences(world: World, real: Real): string | undefined {
  const pairs: [string, unknown, unknown][] = [
    ["the time", real.time.now, world.now],
    ["the event log", real.log, world.log],
    ...(real.sub ? [real.root, real.sub] : [real.root]).flatMap((supervisor, i) => {
      const model = i === 0 ? world.root : world.sub!;
      return [
        [`${model.where}.status()`, realStatus(supervisor), model.statusLines()],
        [`${model.where}.state`, supervisor.state, model.state],
        [`${model.where}.metrics()`, realMetrics(supervisor), model.metricsLines()],
      ] as [string, unknown, unknown][];
    }),
    [
      "the unsettled runs",
      real.runs.map((r) => runText(r.where, r.name, r.attempt, r.signal.aborted)),
      world.runs.map((r) => runText(r.sup.where, r.child.name, r.attempt, r.aborted)),
    ],
    [
      "the calls' outcomes",
      callsText(real.labels, real.outcomes),
      callsText(world.labels, world.outcomes),
    ],
    ["the stop report", real.report, world.report],
  ];
  for (const [what, actual, expected] of pairs) {
    try {
      assert.deepStrictEqual(actual, expected);
    } catch (error) {
      return `${what} differs from the model (actual, expected):\n${(error as Error).message}`;
    }
  }
  // Each restart waits on exactly one timer; the bounded waits of each
  // supervisor share at most one more.
  const timers = real.time.countTimers();
  const restarts = world.timers.size;
  const most = restarts + (world.sub ? 2 : 1);
  if (timers < restarts || timers > most) {
    return `${timers} timers pending, ${restarts} restarts scheduled (at most ${most} timers)`;
  }
  return undefined;
}

/** After every step, in every shape: the README's guarantees hold. */
function verify(real: Real): void {
  if (real.problems.length > 0) throw new Error(real.problems.join("; "));
  if (unhandled.length > 0) {
    throw new Error(`unhandled rejection: ${unhandled.map(String).join("; ")}`);
  }
  // stop() settles within shutdownTimeout plus one timer tick.
  if (real.stopCalledAt !== undefined) {
    const took = (real.stoppedAt ?? real.time.now) - real.stopCalledAt;
    if (took > ROOT_SHUTDOWN + 1) {
      throw new Error(`stop() took ${took} ms and more, shutdownTimeout ${ROOT_SHUTDOWN}`);
    }
  }
  // status() agrees with what the runs are doing.
  for (const where of ["root", "sub"] as const) {
    const supervisor = where === "root" ? real.root : real.sub;
    if (!supervisor) continue;
    for (const s of supervisor.status()) {
      const path = `${where}/${s.name}`;
      const incarnation = real.incarnations.get(path)!;
      if (s.restarts !== incarnation.announced.size) {
        throw new Error(
          `${path} counts ${s.restarts} restarts, ${incarnation.announced.size} were announced`,
        );
      }
      if (s.name === "sub" && where === "root") {
        // A child supervisor runs while its parent's run of it is live; it
        // may be shutting down on its own (it escalates, or failed to start).
        const sub = real.sub!.state;
        const ok = s.state === "running"
          ? sub === "starting" || sub === "running" || sub === "stopping"
          : s.state === "stopping"
          ? sub === "stopping"
          : sub === "idle" || sub === "stopped" || sub === "failed";
        if (!ok) throw new Error(`root says sub is ${s.state}, sub says it is ${sub}`);
        continue;
      }
      const live = incarnation.live;
      if (s.state === "running" && (!live || live.signal.aborted)) {
        throw new Error(`${path} is running without a live, unaborted run`);
      }
      if (s.state === "stopping" && (!live || !live.signal.aborted)) {
        throw new Error(`${path} is stopping without a live, aborted run`);
      }
      if (s.state !== "running" && s.state !== "stopping" && live) {
        throw new Error(`${path} is ${s.state} while run #${live.attempt} is live`);
      }
      if (s.attempt !== incarnation.runs) {
        throw new Error(`${path} reports attempt ${s.attempt} after ${incarnation.runs} runs`);
      }
      if (s.ready && !live?.readyCalled) {
        throw new Error(`${path} is ready but its live run never called ready()`);
      }
    }
  }
}

/**
 * The end of every run: stop() (if no command did), time moved on until it
 * settles, every run still pending settled; then nothing is left behind, and
 * the event log shows the promised delays.
 */
async function finish(env: Env, real: Real): Promise<void> {
  const fail = (message: string) => {
    throw new Error(`${message}; events:\n  ${real.log.join("\n  ")}`);
  };
  if (real.stopCalledAt === undefined) await new Call({ k: "stop" }).run(env, real);
  for (let i = 0; i < 100 && real.report === undefined; i++) await new Tick().run(env, real);
  if (real.report === undefined) fail("stop() never settled");
  while (real.runs.length > 0) await new Settle(0, "complete").run(env, real);
  const left = real.time.countTimers();
  if (left !== 0) fail(`${left} timer(s) left after stop()`);
  const pending = real.labels.filter((_, i) => real.outcomes[i] === "pending");
  if (pending.length > 0) fail(`calls never settled: ${pending.join(", ")}`);
  for (const supervisor of [real.root, real.sub]) {
    for (const s of supervisor?.status() ?? []) {
      if (s.state !== "stopped" && s.state !== "completed" && s.state !== "failed") {
        fail(`${s.name} is ${s.state} after stop() and every run settled`);
      }
    }
  }
  checkDelays(real);
}

/**
 * Every delay is one the backoff gives (jitter 0: exactly the ceiling), and
 * each run after the first starts exactly its announced delay after its
 * restart event (a 0 ms timer set while timers fire waits 1 ms). A child
 * supervisor's children start afresh when it runs again, unannounced.
 */
function checkDelays(real: Real): void {
  const announced = new Map<string, Logged>();
  for (const e of real.events) {
    const key = `${e.path}#${e.attempt}`;
    if (e.type === "restart") {
      if (!DELAYS.includes(e.delay!)) throw new Error(`${key} announced with delay ${e.delay}`);
      announced.set(key, e);
    } else if (e.type === "start" && e.attempt! > 1 && !e.path.startsWith("sub/")) {
      const restart = announced.get(key);
      if (!restart) throw new Error(`${key} started at ${e.t} unannounced`);
      const late = e.t - restart.t - restart.delay!;
      if (late < 0 || late > 1) {
        throw new Error(`${key} started at ${e.t}, announced at ${restart.t} in ${restart.delay}`);
      }
    }
  }
}

// ─── The arbitraries ───────────────────────────────────────────────────────

/** A puppet: half of them ignore their signal; a quarter hold start() until they are ready. */
const spec: fc.Arbitrary<Spec> = fc.record({
  policy: fc.constantFrom<RestartPolicy>("on_failure", "always", "never"),
  stubborn: fc.boolean(),
  waitReady: fc.oneof(
    { arbitrary: fc.constant(false), weight: 3 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
});
const how = fc.constantFrom<How>("fail", "complete", "hard", "escalate");

function commandsFor(shape: Shape) {
  const nested = shape.sub !== undefined;
  const where = nested ? fc.constantFrom<Where>("root", "sub") : fc.constant<Where>("root");
  const puppet = where.chain((w) =>
    fc.constantFrom(...NAMES[w]).map((name) => ({ where: w, name }))
  );
  // Any service: a puppet, or the child supervisor as root's service.
  const service = nested
    ? fc.oneof({ arbitrary: puppet, weight: 4 }, {
      arbitrary: fc.constant({ where: "root" as Where, name: "sub" }),
      weight: 1,
    })
    : puppet;
  const remove = service.map(({ where, name }): Action => ({ k: "remove", where, name }));
  const restart = service.map(({ where, name }): Action => ({ k: "restart", where, name }));
  const add = fc.tuple(puppet, spec).map(([p, spec]): Action => ({ k: "add", ...p, spec }));
  const stop = fc.constant<Action>({ k: "stop" });
  // stop() ends a run's story: rare, so that most sequences get somewhere first.
  const action = fc.oneof(
    { arbitrary: remove, weight: 3 },
    { arbitrary: restart, weight: 3 },
    { arbitrary: add, weight: 2 },
    { arbitrary: stop, weight: 1 },
    { arbitrary: fc.constant<Action>({ k: "start" }), weight: 1 },
  );
  const arm = fc.oneof(
    fc.tuple(service, fc.constantFrom<On>("start", "exit", "restart"), action),
    fc.tuple(puppet, fc.constantFrom<On>("run", "abort"), action),
  ).map(([{ where, name }, on, action]) => new Arm(where, name, on, action));
  const settle = fc.tuple(fc.nat(5), how).map(([index, how]) => new Settle(index, how));
  const tick = fc.constant(new Tick());
  const call = fc.oneof(remove, restart, add).map((a) => new Call(a));
  const rare = fc.oneof(
    { arbitrary: tick, weight: 6 },
    { arbitrary: fc.constant(new Call({ k: "stop" })), weight: 1 },
    { arbitrary: fc.constant(new Call({ k: "start" })), weight: 1 },
    ...(nested ? [{ arbitrary: fc.constant(new Call({ k: "addSub" })), weight: 1 }] : []),
  );
  const ready = fc.nat(5).map((index) => new Settle(index, "ready"));
  const weighted = [settle, settle, settle, tick, tick, tick, arm, arm, call, call, ready, rare];
  return fc.commands<Env, Real, false>(weighted, { maxCommands: 80, size: "max" });
}

/** The services a tree starts with, and whether it is started before the commands. */
function setupFor() {
  const services = (names: string[]) =>
    fc.uniqueArray(fc.tuple(fc.constantFrom(...names), spec), {
      selector: ([name]) => name,
      minLength: 1,
      maxLength: names.length,
    });
  return fc.record({
    root: services(NAMES.root),
    sub: services(NAMES.sub),
    subAt: fc.nat(3),
    started: fc.oneof(
      { arbitrary: fc.constant(true), weight: 4 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
  });
}

function property(shape: fc.Arbitrary<Shape>) {
  return fc.asyncProperty(
    shape.chain((s) => fc.tuple(fc.constant(s), setupFor(), commandsFor(s))),
    async ([shape, setup, commands]) => {
      unhandled.length = 0;
      await withFakeTime(async (time) => {
        const real = new Real(time, shape);
        const env = new Env(shape);
        // The initial tree, built with the same steps as the commands.
        const steps: Step[] = [];
        setup.root.forEach(([name, spec], i) => {
          if (shape.sub && i === setup.subAt) steps.push(new Call({ k: "addSub" }));
          steps.push(new Call({ k: "add", where: "root", name, spec }));
        });
        if (shape.sub) {
          if (setup.subAt >= setup.root.length) steps.push(new Call({ k: "addSub" }));
          for (const [name, spec] of setup.sub) {
            steps.push(new Call({ k: "add", where: "sub", name, spec }));
          }
        }
        if (setup.started) steps.push(new Call({ k: "start" }));
        for (const step of steps) await step.run(env, real);
        await fc.asyncModelRun(() => ({ model: env, real }), commands);
        await finish(env, real);
      });
    },
  );
}

/**
 * Records unhandled rejections, so that a property fails on one with its
 * seed and shrunk sequence (Node, Bun). Deno's test runner fails the test on
 * one by itself, at once, whatever a listener does.
 */
function watchUnhandled(): () => void {
  if ("Deno" in globalThis) {
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      unhandled.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    return () => globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  const process = (globalThis as unknown as {
    process: {
      on(type: string, listener: (reason: unknown) => void): void;
      off(type: string, listener: (reason: unknown) => void): void;
    };
  }).process;
  const onRejection = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onRejection);
  return () => process.off("unhandledRejection", onRejection);
}

/**
 * The property before this one. A runner may end a test before its property
 * is done (Deno, on an unhandled rejection); the next waits for it, so that
 * two never share the fake clock.
 */
let previous: Promise<unknown> = Promise.resolve();

function check(shape: fc.Arbitrary<Shape>): Promise<void> {
  const run = previous.then(async () => {
    const unwatch = watchUnhandled();
    try {
      await fc.assert(property(shape), { numRuns: RUNS });
    } finally {
      unwatch();
    }
  });
  previous = run.catch(() => {});
  return run;
}

const strategy = fc.constantFrom<Strategy>("one_for_one", "one_for_all", "rest_for_one");
const group = fc.constantFrom<Strategy>("one_for_all", "rest_for_one");

describe("Supervisor against a reference model of its lifecycle", () => {
  it(
    `agrees with the model step by step in a flat one_for_one tree (${RUNS} runs)`,
    { timeout: 600_000 },
    () => check(fc.constant({ root: "one_for_one", sub: undefined, exact: true, escalate: false })),
  );

  it(
    `agrees with the model step by step in a nested one_for_one tree (${RUNS} runs)`,
    { timeout: 600_000 },
    () =>
      check(fc.constant({ root: "one_for_one", sub: "one_for_one", exact: true, escalate: false })),
  );

  it(
    `keeps the guarantees in flat one_for_all and rest_for_one trees (${RUNS} runs)`,
    { timeout: 600_000 },
    () => check(group.map((root) => ({ root, sub: undefined, exact: false, escalate: false }))),
  );

  it(
    `keeps the guarantees in nested trees with group strategies (${RUNS} runs)`,
    { timeout: 600_000 },
    () =>
      check(
        fc.tuple(strategy, strategy, fc.boolean())
          .filter(([root, sub]) => root !== "one_for_one" || sub !== "one_for_one")
          .map(([root, sub, escalate]) => ({ root, sub, exact: false, escalate })),
      ),
  );
});
