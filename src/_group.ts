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
  /** The member being stopped, whose run the group waits for. */
  waiting: Child | undefined;
  /** The timer the members wait on, once all are stopped. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Group restarts (OTP's `one_for_all` and `rest_for_one`): when a child is
 * to be restarted after it failed, the siblings its strategy names are
 * stopped in reverse order, one at a time; then, after the failed child's
 * delay on one timer, all of them start again in order. Groups stop their
 * members one group at a time, as OTP's supervisor handles one exit at a
 * time. A member belongs to the last group that took it in: a group that
 * comes while an earlier one is under way takes over the members they share,
 * so each member is announced once and starts on one timer.
 */
export class Groups {
  readonly #host: Host;
  readonly #strategy: Strategy;
  /** Groups stopping their members, the first one under way. */
  readonly #queue: Group[] = [];
  /** Groups whose timer is pending. */
  readonly #timed = new Set<Group>();
  /** Which group each member belongs to. */
  readonly #owner = new Map<Child, Group>();
  /** Posts a message (a timer fired) to the supervisor's mailbox. */
  readonly #post: (message: () => void) => void;
  /** Counts and announces the restart of a member that will start after `delay`. */
  readonly #announce: (child: Child, delay: number) => void;

  /**
   * @param host The supervisor.
   * @param strategy `one_for_all` or `rest_for_one`.
   * @param post Posts a message to the supervisor's mailbox.
   * @param announce Counts and announces one member's restart.
   */
  constructor(
    host: Host,
    strategy: Strategy,
    post: (message: () => void) => void,
    announce: (child: Child, delay: number) => void,
  ) {
    this.#host = host;
    this.#strategy = strategy;
    this.#post = post;
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
    const group: Group = {
      trigger,
      members,
      delay,
      index: members.length - 1,
      waiting: undefined,
      timer: undefined,
    };
    // Members an earlier group stops or waits for go with this one now.
    for (const member of members) this.#owner.set(member, group);
    this.#queue.push(group);
    if (this.#queue.length === 1) this.#host.next(() => this.#stopNext());
  }

  /** A member's run settled or was abandoned: the group stopping it goes on. */
  done(child: Child): void {
    const group = this.#queue[0];
    if (group && group.waiting === child && child.phase !== "stopping") {
      group.waiting = undefined;
      group.index--;
      this.#host.next(() => this.#stopNext());
    }
  }

  /** The session ends: no group goes on. */
  clear(): void {
    for (const group of this.#timed) clearTimeout(group.timer);
    this.#timed.clear();
    this.#owner.clear();
    this.#queue.length = 0;
  }

  /** Stops the group's next member, or, with all stopped, sets the group's timer. */
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
      if (this.#host.apply(member, "group", reason, Infinity)) {
        group.waiting = member;
        return;
      }
    }
    this.#queue.shift();
    this.#arm(group);
    if (this.#queue.length > 0) this.#host.next(() => this.#stopNext());
  }

  /** Every member is stopped: those still the group's wait out its delay, announced. */
  #arm(group: Group): void {
    const starting = group.members.filter((member) => this.#owns(group, member));
    for (const member of group.members) {
      if (this.#owner.get(member) === group && !starting.includes(member)) {
        this.#owner.delete(member);
      }
    }
    if (starting.length === 0) return;
    // Each member restarted counts against the supervisor's intensity; past
    // it, no member restarts and the supervisor fails.
    if (!this.#host.admit(starting.length, group.trigger)) return;
    group.timer = setTimeout(
      () => this.#post(() => this.#release(group)),
      group.delay,
    );
    this.#timed.add(group);
    for (const member of starting) this.#announce(member, group.delay);
  }

  /** The group's timer fired: its members start, in order. */
  #release(group: Group): void {
    if (!this.#timed.delete(group)) return; // cleared after it fired
    const members = group.members.filter((member) => this.#owns(group, member));
    for (const member of members) this.#owner.delete(member);
    this.#start(members, 0);
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

  /** Whether `member` still belongs to `group` and waits for it. */
  #owns(group: Group, member: Child): boolean {
    return this.#owner.get(member) === group && member.phase === "grouped";
  }
}
