import type { Child, Host } from "./_child.ts";
import type { Strategy } from "./options.ts";

/** One group restart: the child that failed and the siblings its strategy names. */
interface Group {
  readonly trigger: Child;
  /** In the order they were added. */
  readonly members: readonly Child[];
  readonly delay: number;
  /** The next member to stop, counting down: members stop in reverse order. */
  index: number;
}

/**
 * Group restarts (OTP's `one_for_all` and `rest_for_one`): when a child is
 * to be restarted after it failed, the siblings its strategy names are
 * stopped in reverse order, one at a time; then, after the failed child's
 * delay on one timer, all of them start again in order. Groups are handled
 * one at a time, as OTP's supervisor handles one exit at a time; a group
 * that comes while another waits out its delay is merged into it.
 */
export class Groups {
  readonly #host: Host;
  readonly #strategy: Strategy;
  /** Groups stopping their members, the first one under way. */
  readonly #queue: Group[] = [];
  /** Members waiting for the group timer. */
  readonly #pending = new Set<Child>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #release: () => void;
  /** Counts and announces the restart of a member that will start after `delay`. */
  readonly #announce: (child: Child, delay: number) => void;

  /**
   * @param host The supervisor.
   * @param strategy `one_for_all` or `rest_for_one`.
   * @param release Called when the group timer fires (it posts a message).
   * @param announce Counts and announces one member's restart.
   */
  constructor(
    host: Host,
    strategy: Strategy,
    release: () => void,
    announce: (child: Child, delay: number) => void,
  ) {
    this.#host = host;
    this.#strategy = strategy;
    this.#release = release;
    this.#announce = announce;
  }

  /**
   * `trigger` failed and is to be restarted after `delay`: its group is
   * claimed now (a member that ends meanwhile waits for the group), and
   * stopped once the current change is done.
   */
  trigger(trigger: Child, delay: number): void {
    const all = [...this.#host.children()];
    const named = this.#strategy === "one_for_all" ? all : all.slice(all.indexOf(trigger));
    const members = named.filter((child) =>
      child === trigger || this.#host.apply(child, "claim") !== undefined
    );
    // A member an earlier group's timer still waits for goes with this group
    // now: that timer must not start it before this group is announced.
    for (const member of members) this.#pending.delete(member);
    this.#queue.push({ trigger, members, delay, index: members.length - 1 });
    if (this.#queue.length === 1) this.#host.next(() => this.#stopNext());
  }

  /** A member's run settled or was abandoned: the group stopping it goes on. */
  done(child: Child): void {
    const group = this.#queue[0];
    if (group && group.members[group.index] === child && child.phase !== "stopping") {
      group.index--;
      this.#host.next(() => this.#stopNext());
    }
  }

  /** The group timer fired: the members waiting for it start, in order. */
  release(): void {
    this.#timer = undefined;
    const members = [...this.#host.children()].filter((child) => this.#pending.has(child));
    this.#pending.clear();
    this.#start(members, 0);
  }

  /** The session ends: no group goes on. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    this.#queue.length = 0;
  }

  #start(members: readonly Child[], from: number): void {
    for (let i = from; i < members.length; i++) {
      this.#host.apply(members[i]!, "release");
      // A call a listener or a run made meanwhile goes first.
      if (i + 1 < members.length && this.#host.queued()) {
        return this.#host.next(() => this.#start(members, i + 1));
      }
    }
  }

  /** Stops the group's next member, or, with all stopped, sets the group timer. */
  #stopNext(): void {
    const group = this.#queue[0];
    if (!group) return;
    const reason = new DOMException(
      `Restarting with sibling '${group.trigger.name}' (${this.#strategy})`,
      "AbortError",
    );
    for (; group.index >= 0; group.index--) {
      const member = group.members[group.index]!;
      if (member === group.trigger) continue;
      // Still claimed: stop it now and wait. Anything else left the group or
      // already waits for it.
      if (this.#host.apply(member, "group", reason, Infinity)) return;
    }
    this.#queue.shift();
    this.#merge(group);
    if (this.#queue.length > 0) this.#host.next(() => this.#stopNext());
  }

  /** Every member is stopped: the group waits out its delay, with any group still waiting. */
  #merge(group: Group): void {
    clearTimeout(this.#timer);
    for (const member of group.members) this.#pending.add(member);
    const starting = [...this.#host.children()].filter((child) =>
      this.#pending.has(child) && child.phase === "grouped"
    );
    this.#pending.clear();
    for (const member of starting) this.#pending.add(member);
    if (starting.length === 0) return;
    this.#timer = setTimeout(this.#release, Math.trunc(group.delay));
    for (const member of starting) this.#announce(member, group.delay);
  }
}
