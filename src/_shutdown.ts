import type { Child, Host } from "./_child.ts";
import { isLive } from "./_lifecycle.ts";

/** What {@linkcode Supervisor.stop} reports, each list in stop order. */
export interface StopReport {
  /**
   * The services that were running or waiting to restart when the shutdown
   * began and are now at rest.
   */
  readonly stopped: string[];
  /**
   * The services whose run did not settle within its `stopTimeout` (or the
   * `shutdownTimeout`) after its signal was aborted, and was abandoned.
   */
  readonly timedOut: string[];
}

/**
 * One shutdown of a supervisor's children: one at a time in reverse order of
 * adding (OTP's order), or all together (OTP's `simple_one_for_one`, suture),
 * each run awaited up to its `stopTimeout`, all within the deadline. At the
 * deadline the children not yet reached are aborted together and given one
 * timer tick. A child supervisor is told the deadline and ends its own
 * shutdown by then.
 */
export class Shutdown {
  readonly #host: Host;
  /** The children to stop, in stop order. */
  readonly #children: readonly Child[];
  /** Per child: `true` stopped, `false` abandoned, `undefined` not yet known. */
  readonly #results: (boolean | undefined)[];
  /** Per child: whether its run was live when the shutdown began. */
  readonly #wasLive: boolean[];
  readonly #reason: unknown;
  readonly #lateReason: unknown;
  readonly #done: (report: StopReport) => void;
  #deadline: number;
  /** The next child to stop; past the deadline, the first of the late ones. */
  #index = 0;
  /** Whether the children are stopped together, from the start or from the deadline on. */
  readonly #parallel: boolean;
  /** Whether the children from `#index` on were stopped together. */
  #late = false;
  /** Runs stopped together and not yet at rest, with their places. */
  readonly #pending = new Map<Child, number>();
  #over = false;

  /**
   * @param host The supervisor.
   * @param children The children to stop, in stop order.
   * @param deadline When the shutdown must end (`Date.now()` time).
   * @param reason The abort reason of each run.
   * @param lateReason The abort reason of the runs reached at the deadline.
   * @param parallel Stop them all together instead of one at a time.
   * @param done Told the report once every child is at rest or abandoned.
   */
  constructor(
    host: Host,
    children: readonly Child[],
    deadline: number,
    reason: unknown,
    lateReason: unknown,
    parallel: boolean,
    done: (report: StopReport) => void,
  ) {
    this.#host = host;
    this.#children = children;
    this.#results = new Array(children.length);
    this.#wasLive = children.map((child) => isLive(child.phase));
    this.#deadline = deadline;
    this.#reason = reason;
    this.#lateReason = lateReason;
    this.#parallel = parallel;
    this.#done = done;
  }

  /** Stops the next child, or, past the deadline, every child left. */
  next(): void {
    if (this.#parallel && !this.#late) return this.#stopTogether(this.#reason, this.#deadline);
    const children = this.#children;
    while (!this.#late && this.#index < children.length) {
      const child = children[this.#index]!;
      if (!isLive(child.phase)) {
        // Its pending restart was cancelled, or it ended on its own meanwhile.
        this.#results[this.#index++] = true;
        continue;
      }
      if (Date.now() >= this.#deadline) return this.#stopLate();
      this.#host.apply(child, "stop", this.#reason, this.#deadline);
      return;
    }
    if (!this.#late) this.#finish();
  }

  /**
   * A child's run is at rest (settled) or abandoned (`timedOut`). Children
   * that are not this shutdown's to wait for are ignored.
   */
  done(child: Child, timedOut: boolean): void {
    if (this.#over) return;
    if (!this.#late) {
      if (this.#children[this.#index] !== child) return;
      this.#results[this.#index++] = !timedOut;
      this.#host.next(() => this.next());
      return;
    }
    const index = this.#pending.get(child);
    if (index === undefined) return;
    this.#pending.delete(child);
    this.#results[index] = !timedOut;
    if (this.#pending.size === 0) this.#finish();
  }

  /** The deadline moves to `at` if that is earlier: the runs awaited are hurried. */
  hurry(at: number): void {
    if (at >= this.#deadline || this.#over) return;
    this.#deadline = at;
    // A deadline already past: the children left are stopped together now,
    // within the same tick as the run being waited for.
    if (!this.#late && at <= Date.now()) return this.#stopLate();
    if (this.#late) {
      for (const child of this.#pending.keys()) this.#host.bound(child, at);
      return;
    }
    const child = this.#children[this.#index];
    if (child && isLive(child.phase)) this.#host.bound(child, at);
  }

  /** At the deadline: the children left are aborted together and get one timer tick. */
  #stopLate(): void {
    this.#stopTogether(this.#lateReason, Date.now());
  }

  /**
   * Stops every child from `#index` on together: each aborted with `reason`
   * and awaited up to its `stopTimeout`, and no later than `until`.
   */
  #stopTogether(reason: unknown, until: number): void {
    this.#late = true;
    const children = this.#children;
    for (let i = this.#index; i < children.length; i++) {
      const child = children[i]!;
      if (!isLive(child.phase)) {
        this.#results[i] = true;
        continue;
      }
      this.#pending.set(child, i);
    }
    // Aborted once every one is known: an abort runs user code.
    for (const child of [...this.#pending.keys()]) {
      if (this.#pending.has(child)) this.#host.apply(child, "stop", reason, until);
    }
    if (this.#pending.size === 0) this.#finish();
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    const stopped: string[] = [];
    const timedOut: string[] = [];
    this.#children.forEach((child, i) => {
      const atRest = this.#results[i] !== false;
      (atRest ? stopped : timedOut).push(child.name);
      // What a child supervisor that ran at this stop abandoned, by path;
      // known once it settled. One that was waiting to restart reports
      // nothing: its last shutdown is an earlier one.
      if (atRest && child.sub && this.#wasLive[i]) {
        for (const path of _timedOut(child)) timedOut.push(`${child.name}/${path}`);
      }
    });
    this.#done({ stopped, timedOut });
  }
}

/** What a child supervisor's last shutdown abandoned; nothing when its link will not say. */
function _timedOut(child: Child): readonly string[] {
  try {
    const paths = child.sub!.timedOut();
    return Array.isArray(paths) ? paths.filter((path) => typeof path === "string") : [];
  } catch {
    return [];
  }
}
