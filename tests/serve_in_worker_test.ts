// serveInWorker against stand-in ports (a web worker's scope and Node's
// parentPort), and what crosses the boundary both ways. Real Workers:
// worker_test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DoNotRestartError, EscalateError, serveInWorker, type WorkerPort } from "../mod.ts";
import { decode, encode } from "../src/_worker_wire.ts";

const KEY = "@janus/supervisor";

/** A stand-in port: `on`/`off` like Node's `parentPort`, or an EventTarget like a worker's scope. */
function fakePort(kind: "node" | "web") {
  const posted: Record<string, unknown>[] = [];
  const postMessage = (message: unknown) => {
    posted.push(structuredClone(message) as Record<string, unknown>);
  };
  if (kind === "node") {
    const listeners = new Set<(value: unknown) => void>();
    const port = {
      postMessage,
      on: (_type: "message", listener: (value: unknown) => void) => listeners.add(listener),
      off: (_type: "message", listener: (value: unknown) => void) => listeners.delete(listener),
    };
    const send = (data: unknown) => listeners.forEach((listener) => listener(data));
    return { port: port as WorkerPort, posted, send };
  }
  const target = new EventTarget();
  const port = {
    postMessage,
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
  };
  const send = (data: unknown) => target.dispatchEvent(new MessageEvent("message", { data }));
  return { port: port as WorkerPort, posted, send };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("serveInWorker", () => {
  for (const kind of ["node", "web"] as const) {
    it(`runs once on start, with the attempt, and reports ready and the end (${kind} port)`, async () => {
      const { port, posted, send } = fakePort(kind);
      const seen: number[] = [];
      let finish!: () => void;
      serveInWorker((_signal, { attempt, ready }) => {
        seen.push(attempt);
        ready();
        ready();
        return new Promise<void>((resolve) => finish = resolve);
      }, { port });
      assert.deepEqual(posted, [], "nothing runs before start");
      send({ [KEY]: "start", attempt: 4 });
      send({ [KEY]: "start", attempt: 5 });
      send({ user: "message" });
      await tick();
      assert.deepEqual(seen, [4]);
      assert.deepEqual(posted, [{ [KEY]: "ready" }]);
      finish();
      await tick();
      assert.deepEqual(posted, [{ [KEY]: "ready" }, { [KEY]: "end", ok: true }]);
    });
  }

  it("aborts the run's signal with the supervisor's reason, a DOMException staying one", async () => {
    const { port, send } = fakePort("node");
    let signal!: AbortSignal;
    serveInWorker((s) => {
      signal = s;
    }, { port });
    send({ [KEY]: "start", attempt: 1 });
    await tick();
    const reason = encode(new DOMException("Supervisor 'app' is stopping", "AbortError"));
    send({ [KEY]: "stop", reason: structuredClone(reason) });
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof DOMException);
    assert.equal(signal.reason.name, "AbortError");
    assert.equal(signal.reason.message, "Supervisor 'app' is stopping");
  });

  it("reports a thrown error with its name, message, stack and cause", async () => {
    const { port, posted, send } = fakePort("web");
    const error = new TypeError("boom", { cause: new RangeError("root") });
    serveInWorker(() => {
      throw error;
    }, { port });
    send({ [KEY]: "start", attempt: 1 });
    await tick();
    assert.equal(posted.length, 1);
    const decoded = decode((posted[0] as { error: unknown }).error) as Error;
    assert.equal(decoded.name, "TypeError");
    assert.equal(decoded.message, "boom");
    assert.equal(decoded.stack, error.stack);
    assert.equal((decoded.cause as Error).name, "RangeError");
    assert.equal((decoded.cause as Error).message, "root");
  });

  it("reports a rejection with a value that cannot be cloned as its string", async () => {
    const { port, posted, send } = fakePort("node");
    serveInWorker(() => Promise.reject({ toString: () => "a value with a method", f() {} }), {
      port,
    });
    send({ [KEY]: "start", attempt: 1 });
    await tick();
    assert.deepEqual(posted, [{
      [KEY]: "end",
      ok: false,
      error: { value: "a value with a method" },
    }]);
  });

  it("refuses to serve twice on one port, a port it cannot use, and no port outside a worker", () => {
    const { port } = fakePort("node");
    serveInWorker(() => {}, { port });
    assert.throws(() => serveInWorker(() => {}, { port }), {
      name: "Error",
      message: "Cannot serve in worker twice: this port already serves a run",
    });
    assert.throws(() => serveInWorker(() => {}, { port: {} as WorkerPort }), {
      name: "TypeError",
      message: "Cannot serve in worker as 'options.port' must be an object with postMessage: " +
        "current value is [object Object]",
    });
    assert.throws(() => serveInWorker(() => {}, { port: { postMessage() {} } }), {
      name: "TypeError",
      message: "Cannot serve in worker as 'options.port' must be an object with on or " +
        "addEventListener: current value is [object Object]",
    });
    assert.throws(() => serveInWorker("run" as unknown as () => void), {
      name: "TypeError",
      message: `Cannot serve in worker as 'run' must be a function: current value is "run"`,
    });
    // The test runs on a main thread, which is no worker. Bun's main thread has
    // a global postMessage, as its workers do, so only a port tells them apart there.
    if (typeof (globalThis as { postMessage?: unknown }).postMessage === "function") return;
    assert.throws(() => serveInWorker(() => {}), {
      name: "TypeError",
      message: "Cannot serve in worker as 'options.port' must be given outside a web worker " +
        "(on Node: parentPort from node:worker_threads): current value is undefined",
    });
  });
});

describe("What crosses the Worker boundary", () => {
  const roundTrip = (value: unknown) => decode(structuredClone(encode(value)));

  it("rebuilds DoNotRestartError and EscalateError as the classes, others as Error with the name", () => {
    const dnr = roundTrip(new DoNotRestartError("bad config"));
    assert.ok(dnr instanceof DoNotRestartError);
    assert.equal((dnr as Error).message, "bad config");
    const esc = roundTrip(new EscalateError("disk full", { cause: "full" }));
    assert.ok(esc instanceof EscalateError);
    assert.equal((esc as Error).cause, "full");
    class FeedError extends Error {
      override name = "FeedError";
    }
    const other = roundTrip(new FeedError("closed")) as Error;
    assert.equal(other.constructor, Error);
    assert.equal(other.name, "FeedError");
    assert.equal(other.message, "closed");
  });

  it("carries values that clone as they are, and plain causes", () => {
    assert.equal(roundTrip("a string"), "a string");
    assert.equal(roundTrip(undefined), undefined);
    assert.deepEqual(roundTrip({ code: 7 }), { code: 7 });
    const error = roundTrip(new Error("outer", { cause: { code: 7 } })) as Error;
    assert.deepEqual(error.cause, { code: 7 });
  });

  it("reads a hostile error without throwing, and stops a cycle of causes", () => {
    const hostile = new Error("x");
    Object.defineProperty(hostile, "message", {
      get() {
        throw new Error("gotcha");
      },
    });
    Object.defineProperty(hostile, "name", { get: () => 42 });
    const decoded = roundTrip(hostile) as Error;
    assert.equal(decoded.name, "Error");
    assert.equal(decoded.message, "");

    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    let depth = 0;
    for (let e: unknown = roundTrip(a); e instanceof Error; e = e.cause) depth++;
    assert.equal(depth, 9, "the error and at most 8 causes");

    const proxy = new Proxy({}, {
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    assert.deepEqual(encode(proxy), { value: proxy });
  });
});

describe("the wire between a worker and its supervisor", () => {
  it("carries a DoNotRestartError or EscalateError subclass with a name of its own as its class", () => {
    class ConfigError extends DoNotRestartError {
      override name = "ConfigError";
    }
    class Fatal extends EscalateError {
      override name = "Fatal";
    }
    const config = decode(structuredClone(encode(new ConfigError("bad config"))));
    assert.ok(config instanceof DoNotRestartError);
    assert.equal((config as Error).name, "ConfigError");
    assert.equal((config as Error).message, "bad config");
    const fatal = decode(structuredClone(encode(new Fatal("disk gone"))));
    assert.ok(fatal instanceof EscalateError);
    assert.equal((fatal as Error).name, "Fatal");
    // A plain Error that only takes the name is no such error.
    const named = new Error("x");
    named.name = "ConfigError";
    assert.ok(!(decode(structuredClone(encode(named))) instanceof DoNotRestartError));
  });

  it("decodes a cyclic cause chain a worker posted without overflowing, as deep as encode goes", () => {
    const wire: { error: { name: string; message: string; cause?: unknown } } = {
      error: { name: "E", message: "m" },
    };
    wire.error.cause = wire;
    const error = decode(structuredClone(wire)) as Error;
    let depth = 0;
    for (let e: unknown = error; e instanceof Error; e = e.cause) depth++;
    assert.equal(depth, 9); // the error and its 8 causes
  });
});
