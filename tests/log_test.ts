import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EscalateError,
  EscalateEvent,
  ExitEvent,
  formatEvent,
  GiveupEvent,
  type LevelLogger,
  logEvents,
  ReadyEvent,
  RestartEvent,
  RestartLimitError,
  StartEvent,
  StopTimeoutEvent,
  Supervisor,
} from "../mod.ts";
import { _CLASSES } from "../src/events.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failAfter, forever, recordEvents, untilAborted } from "./_log.ts";

const boom = new Error("connection reset");

/** An error whose `name` getter throws. */
function throwingName(): Error {
  const error = new Error("hidden");
  Object.defineProperty(error, "name", {
    get() {
      throw new Error("no name for you");
    },
  });
  return error;
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const failedWith = (error: unknown) =>
  formatEvent(new ExitEvent("a", { attempt: 1, outcome: "failed", error }));

describe("formatEvent", () => {
  it("formats every event type as one line: type, service path, what happened", () => {
    const limit = new RestartLimitError("binance", 5, { cause: boom });
    const one = new RestartLimitError("binance", 1, { cause: boom });
    const cases: [Event, string][] = [
      [new StartEvent("feeds/binance", { attempt: 2 }), "start       feeds/binance run #2"],
      [new ReadyEvent("feeds/binance", { attempt: 2 }), "ready       feeds/binance run #2"],
      [
        new ExitEvent("feeds/binance", { attempt: 2, outcome: "failed", error: boom }),
        "exit        feeds/binance run #2 failed: Error: connection reset",
      ],
      [
        new ExitEvent("cache", { attempt: 1, outcome: "completed" }),
        "exit        cache run #1 completed",
      ],
      [
        new ExitEvent("feeds", { attempt: 3, outcome: "stopped" }),
        "exit        feeds run #3 stopped",
      ],
      [
        new ExitEvent("heartbeat", {
          attempt: 1,
          outcome: "stopped",
          error: new DOMException("Supervisor 'demo' is stopping", "AbortError"),
        }),
        "exit        heartbeat run #1 stopped: AbortError: Supervisor 'demo' is stopping",
      ],
      [
        new ExitEvent("a", { attempt: 4, outcome: "failed", error: undefined }),
        "exit        a run #4 failed: undefined",
      ],
      [
        new ExitEvent("a", { attempt: 4, outcome: "failed", error: "plain string" }),
        "exit        a run #4 failed: plain string",
      ],
      [
        new RestartEvent("feeds/binance", { attempt: 3, delay: 2000 }),
        "restart     feeds/binance run #3 in 2000 ms",
      ],
      [
        new RestartEvent("feeds/binance", { attempt: 3, delay: 437.6 }),
        "restart     feeds/binance run #3 in 438 ms",
      ],
      [new RestartEvent("a", { attempt: 2, delay: 0 }), "restart     a run #2 in 0 ms"],
      [
        new GiveupEvent("feeds/binance", { error: limit }),
        "giveup      feeds/binance after 5 restarts: Error: connection reset",
      ],
      [
        new GiveupEvent("feeds/binance", { error: one }),
        "giveup      feeds/binance after 1 restart: Error: connection reset",
      ],
      [new StopTimeoutEvent("mid/leaf/stubborn"), "stoptimeout mid/leaf/stubborn"],
      [
        new EscalateEvent("feeds/binance", { error: new EscalateError("disk full") }),
        "escalate    feeds/binance: EscalateError: disk full",
      ],
      [
        new EscalateEvent("feeds/binance", { error: limit }),
        "escalate    feeds/binance: RestartLimitError: Service 'binance' gave up after 5 restarts",
      ],
    ];
    for (const [event, line] of cases) assert.equal(formatEvent(event), line);
  });

  it("formats an event it does not know by its type, then service, attempt and error", () => {
    assert.equal(formatEvent(new Event("custom")), "custom");
    const event = Object.assign(new Event("paused"), { service: "feeds/binance", attempt: 7 });
    assert.equal(formatEvent(event), "paused      feeds/binance run #7");
    Object.assign(event, { error: boom });
    assert.equal(formatEvent(event), "paused      feeds/binance run #7: Error: connection reset");
  });

  it("describes hostile thrown values without throwing", () => {
    const noToString = { toString: () => ({}), valueOf: () => ({}) };
    const throwingMessage = new Error("x");
    Object.defineProperty(throwingMessage, "message", {
      get() {
        throw new Error("no message");
      },
    });
    const cases: [unknown, string][] = [
      [throwingName(), "[object Error]"],
      [throwingMessage, "[object Error]"],
      [Object.create(null), "[object Object]"],
      [noToString, "[object Object]"],
      [revokedProxy(), "[object]"],
      [Symbol("why"), "Symbol(why)"],
      [null, "null"],
      [12n, "12"],
    ];
    for (const [error, description] of cases) {
      assert.equal(failedWith(error), `exit        a run #1 failed: ${description}`);
    }
  });

  it("survives an event whose fields throw, and any value at all", () => {
    const event = new StartEvent("a", { attempt: 1 });
    Object.defineProperty(event, "service", {
      get() {
        throw new Error("no service");
      },
    });
    assert.equal(formatEvent(event), "start       undefined run #1");
    const restart = new RestartEvent("a", { attempt: 2, delay: 5 });
    Object.defineProperty(restart, "delay", { value: "soon" });
    assert.equal(formatEvent(restart), "restart     a run #2 in soon ms");
    const giveup = new GiveupEvent("a", { error: revokedProxy() as RestartLimitError });
    assert.equal(formatEvent(giveup), "giveup      a: [object]");
    for (const value of [null, undefined, 42, revokedProxy(), Object.create(null)]) {
      assert.equal(typeof formatEvent(value as Event), "string");
    }
    assert.equal(formatEvent(null as unknown as Event), "undefined");
  });

  it("keeps one event on one line: line breaks and control characters are escaped", () => {
    assert.equal(
      failedWith(new Error("first line\nsecond line\r\nthird\u2028fourth")),
      "exit        a run #1 failed: Error: first line\\nsecond line\\r\\nthird\\u2028fourth",
    );
    assert.equal(
      failedWith(new Error("\x1b[31mred\x1b[0m\ttabbed\x00\x7f\x9b")),
      "exit        a run #1 failed: Error: \\u001b[31mred\\u001b[0m\ttabbed\\u0000\\u007f\\u009b",
    );
    assert.equal(
      formatEvent(new StartEvent("odd\nname", { attempt: 1 })),
      "start       odd\\nname run #1",
    );
  });
});

/** A logger that records every line as `level line`. */
function recorder(): { lines: string[]; sink: LevelLogger } {
  const lines: string[] = [];
  return {
    lines,
    sink: {
      info: (line) => lines.push(`info ${line}`),
      warn: (line) => lines.push(`warn ${line}`),
      error: (line) => lines.push(`error ${line}`),
    },
  };
}

describe("logEvents", () => {
  it("sends every event of a tree with its level, children by path", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({
        name: "feeds",
        maxRestarts: 1,
        backoff: { initialDelay: 100, jitter: 0 },
      });
      feeds.add("binance", (signal) => failAfter(10, signal, "connection reset"));
      const root = new Supervisor({ stopTimeout: 50, backoff: { initialDelay: 1000, jitter: 0 } });
      root.add(feeds);
      root.add("stuck", (_signal, { ready }) => {
        ready();
        return forever();
      });
      const { lines, sink } = recorder();
      const subscription = logEvents(root, sink);
      await root.start();
      await time.advanceTo(200);
      const stopping = root.stop();
      while (await time.nextAsync());
      await stopping;
      assert.deepEqual(lines, [
        "info start       feeds run #1",
        "info start       feeds/binance run #1",
        "info ready       feeds run #1",
        "info start       stuck run #1",
        "info ready       stuck run #1",
        "warn exit        feeds/binance run #1 failed: Error: connection reset",
        "info restart     feeds/binance run #2 in 100 ms",
        "info start       feeds/binance run #2",
        "warn exit        feeds/binance run #2 failed: Error: connection reset",
        "error giveup      feeds/binance after 1 restart: Error: connection reset",
        "error stoptimeout stuck",
        "info exit        feeds run #1 stopped",
      ]);
      subscription.unsubscribe();
    }));

  it("sends the escalation of a child supervisor as an error", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds", escalate: true });
      feeds.add("disk", () => Promise.reject(new EscalateError("disk full")));
      const root = new Supervisor({ maxRestarts: 0 });
      root.add(feeds);
      const { lines, sink } = recorder();
      using _log = logEvents(root, sink);
      await root.start();
      while (await time.nextAsync());
      assert.deepEqual(lines.filter((line) => !/^info (start|ready) /.test(line)), [
        "warn exit        feeds/disk run #1 failed: EscalateError: disk full",
        "error escalate    feeds/disk: EscalateError: disk full",
        "warn exit        feeds run #1 failed: EscalateError: disk full",
        "error giveup      feeds after 0 restarts: EscalateError: disk full",
      ]);
      await root.stop();
    }));

  it("listens to each event type once and removes every listener on unsubscribe", () => {
    const added: [string, unknown][] = [];
    const removed: [string, unknown][] = [];
    const target = {
      addEventListener: (type: string, listener: unknown) => added.push([type, listener]),
      removeEventListener: (type: string, listener: unknown) => removed.push([type, listener]),
    } as unknown as EventTarget;
    const subscription = logEvents(target, () => {});
    assert.deepEqual(added.map(([type]) => type), Object.keys(_CLASSES));
    assert.deepEqual(Object.keys(_CLASSES).sort(), [
      "escalate",
      "exit",
      "giveup",
      "ready",
      "restart",
      "start",
      "stoptimeout",
    ]);
    assert.deepEqual(removed, []);
    subscription.unsubscribe();
    assert.deepEqual(removed, added);
    subscription.unsubscribe();
    subscription[Symbol.dispose]();
    assert.equal(removed.length, added.length, "a second unsubscribe removes nothing more");
  });

  it("formats every event type a supervisor fires, with its path", () => {
    const target = new EventTarget();
    const { lines, sink } = recorder();
    using _log = logEvents(target, sink);
    for (const [type, Class] of Object.entries(_CLASSES)) {
      const event = new Class("parent/child", { attempt: 1, delay: 1, error: boom } as never);
      assert.equal(event.type, type);
      target.dispatchEvent(event);
    }
    assert.equal(lines.length, Object.keys(_CLASSES).length);
    for (const [i, type] of Object.keys(_CLASSES).entries()) {
      assert.match(lines[i]!, new RegExp(`^(info|warn|error) ${type} +parent/child\\b`));
    }
  });

  it("sends nothing after unsubscribe or dispose, even from the same dispatch", () => {
    const target = new EventTarget();
    const { lines, sink } = recorder();
    const first = logEvents(target, sink);
    target.dispatchEvent(new StartEvent("a", { attempt: 1 }));
    first.unsubscribe();
    target.dispatchEvent(new StartEvent("a", { attempt: 2 }));
    {
      using _second = logEvents(target, sink);
      target.dispatchEvent(new StartEvent("a", { attempt: 3 }));
    }
    target.dispatchEvent(new StartEvent("a", { attempt: 4 }));
    // A sink that unsubscribes while a listener after it is still to be called.
    const late: string[] = [];
    const self: { subscription?: ReturnType<typeof logEvents> } = {};
    target.addEventListener("start", () => self.subscription?.unsubscribe());
    self.subscription = logEvents(target, (line) => late.push(line));
    target.dispatchEvent(new StartEvent("a", { attempt: 5 }));
    assert.deepEqual(lines, ["info start       a run #1", "info start       a run #3"]);
    assert.deepEqual(late, []);
  });

  it("contains a sink that throws or rejects: supervision and logging go on", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { initialDelay: 100, jitter: 0 } });
      const log = recordEvents(supervisor);
      const offered: string[] = [];
      using _throwing = logEvents(supervisor, (line) => {
        offered.push(line);
        throw new Error("disk full");
      });
      using _rejecting = logEvents(supervisor, () => Promise.reject(new Error("socket closed")));
      using _hostile = logEvents(supervisor, () => {
        throw revokedProxy();
      });
      supervisor.add(
        "a",
        (signal, { attempt }) => attempt < 3 ? failAfter(10, signal) : untilAborted(signal),
      );
      await supervisor.start();
      await time.advanceTo(500);
      assert.deepEqual(log, [
        "0 start a#1",
        "10 exit a#1 failed",
        "10 restart a#2 100",
        "110 start a#2",
        "120 exit a#2 failed",
        "120 restart a#3 200",
        "320 start a#3",
      ]);
      assert.equal(offered.length, log.length, "every event was offered to the throwing sink");
      await supervisor.stop();
    }));

  it("by default writes to console.info, console.warn or console.error by level", () => {
    const written: string[] = [];
    const saved = { info: console.info, warn: console.warn, error: console.error };
    const target = new EventTarget();
    const subscription = logEvents(target);
    try {
      // Read when the line is sent: replaced after logEvents was called.
      for (const level of ["info", "warn", "error"] as const) {
        console[level] = (...args: unknown[]) => written.push(`${level}: ${args.join(" | ")}`);
      }
      target.dispatchEvent(new StartEvent("a", { attempt: 1 }));
      target.dispatchEvent(new ExitEvent("a", { attempt: 1, outcome: "failed", error: boom }));
      target.dispatchEvent(new StopTimeoutEvent("a"));
    } finally {
      Object.assign(console, saved);
      subscription.unsubscribe();
    }
    assert.deepEqual(written, [
      "info: start       a run #1",
      "warn: exit        a run #1 failed: Error: connection reset",
      "error: stoptimeout a",
    ]);
  });

  it("calls a function sink with the line alone, so console.log prints just the line", () => {
    const calls: unknown[][] = [];
    const target = new EventTarget();
    const saved = console.log;
    try {
      console.log = (...args: unknown[]) => calls.push(args);
      using _log = logEvents(target, console.log);
      target.dispatchEvent(new StartEvent("a", { attempt: 1 }));
      target.dispatchEvent(new StopTimeoutEvent("a"));
    } finally {
      console.log = saved;
    }
    assert.deepEqual(calls, [["start       a run #1"], ["stoptimeout a"]]);
  });

  it("calls a logger's method as a method, so a class-based logger keeps its this", () => {
    class Logger {
      readonly lines: string[] = [];
      info(line: string) {
        this.lines.push(line);
      }
      warn(line: string) {
        this.lines.push(`! ${line}`);
      }
      error(line: string) {
        this.lines.push(`!! ${line}`);
      }
    }
    const logger = new Logger();
    const target = new EventTarget();
    using _log = logEvents(target, logger);
    target.dispatchEvent(new StartEvent("a", { attempt: 1 }));
    target.dispatchEvent(new ExitEvent("a", { attempt: 1, outcome: "failed", error: boom }));
    target.dispatchEvent(new GiveupEvent("a", { error: new RestartLimitError("a", 2) }));
    assert.deepEqual(logger.lines, [
      "start       a run #1",
      "! exit        a run #1 failed: Error: connection reset",
      "!! giveup      a: RestartLimitError: Service 'a' gave up after 2 restarts",
    ]);
  });

  it("refuses what is not an EventTarget, and a sink that is neither a function nor a logger", () => {
    for (const value of [undefined, null, 42, {}, { addEventListener() {} }]) {
      assert.throws(() => logEvents(value as unknown as EventTarget), {
        name: "TypeError",
        message: /^Cannot log events as 'supervisor' must be an EventTarget: current value is /,
      });
    }
    const message = "Cannot log events as 'sink' must be a function or a logger with info, " +
      "warn and error methods: current value is ";
    for (
      const [sink, shown] of [
        ["console.log", "console.log"],
        [null, "null"],
        [{ info() {}, warn() {} }, "[object Object]"],
        [{ info() {}, warn() {}, error: "no" }, "[object Object]"],
      ] as const
    ) {
      assert.throws(() => logEvents(new EventTarget(), sink as unknown as LevelLogger), {
        name: "TypeError",
        message: message + shown,
      });
    }
    assert.throws(() => logEvents(revokedProxy() as EventTarget), TypeError);
    assert.throws(() => logEvents(new EventTarget(), revokedProxy() as LevelLogger), TypeError);
  });

  it("adds no listener when adding one throws halfway", () => {
    const added: string[] = [];
    const removed: string[] = [];
    const target = {
      addEventListener: (type: string) => {
        if (type === "restart") throw new Error("no more");
        added.push(type);
      },
      removeEventListener: (type: string) => removed.push(type),
    } as unknown as EventTarget;
    assert.throws(() => logEvents(target, () => {}), { message: "no more" });
    assert.deepEqual(added, ["start", "exit"]);
    assert.deepEqual(removed, Object.keys(_CLASSES));
  });

  it("reports the error that stopped it, not one its cleanup threw", () => {
    const target = {
      addEventListener: (type: string) => {
        if (type === "restart") throw new Error("add failed");
      },
      removeEventListener: () => {
        throw new Error("remove failed");
      },
    } as unknown as EventTarget;
    assert.throws(() => logEvents(target, () => {}), { message: "add failed" });
  });
});

describe("formatEvent of events user code made", () => {
  it("shows only the fields an event has: no 'undefined' for a bare Event", () => {
    assert.equal(formatEvent(new Event("exit")), "exit");
    assert.equal(formatEvent(new Event("restart")), "restart");
    assert.equal(formatEvent(new Event("start")), "start");
  });
});
