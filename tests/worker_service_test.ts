// WorkerService against stand-in Workers, under fake time: the exact grace,
// what goes to the worker, what its events mean, and that every listener and
// timer is gone when a run ends. Real Workers: worker_test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  DoNotRestartError,
  EscalateError,
  type ExitEvent,
  type RunContext,
  Supervisor,
  WorkerService,
  type WorkerServiceOptions,
} from "../mod.ts";
import { _WORKER_DEFAULTS } from "../src/worker_service.ts";
import { type FakeTime, withFakeTime } from "./_fake_time.ts";
import { recordEvents } from "./_log.ts";

const KEY = "@janus/supervisor";

/** A web Worker stand-in: an EventTarget that records what it is sent and how it is listened to. */
class FakeWebWorker extends EventTarget {
  readonly posted: unknown[] = [];
  terminated = 0;
  listeners = 0;
  /** Makes `postMessage` throw for the messages it returns true for. */
  refuse: (message: unknown) => boolean = () => false;

  postMessage(message: unknown): void {
    if (this.refuse(message)) throw new DOMException("cannot clone", "DataCloneError");
    this.posted.push(structuredClone(message));
  }
  terminate(): void {
    this.terminated++;
  }
  override addEventListener(type: string, listener: EventListener | null): void {
    this.listeners++;
    super.addEventListener(type, listener);
  }
  override removeEventListener(type: string, listener: EventListener | null): void {
    this.listeners--;
    super.removeEventListener(type, listener);
  }
  /** The worker posts `data`. */
  send(data: unknown): void {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }
  /** An `error` event as Deno and browsers fire it; returns whether it was cancelled. */
  fail(init: { message?: string; error?: unknown; filename?: string; lineno?: number }): boolean {
    const event = new Event("error", { cancelable: true });
    Object.assign(event, init);
    this.dispatchEvent(event);
    return event.defaultPrevented;
  }
}

/** A `node:worker_threads` Worker stand-in: `on`/`off`, and a `terminate()` the test resolves. */
class FakeNodeWorker {
  readonly posted: unknown[] = [];
  readonly #listeners = new Map<string, Set<(value: unknown) => void>>();
  terminated = 0;
  #exit: (() => void) | undefined;

  postMessage(message: unknown): void {
    this.posted.push(structuredClone(message));
  }
  on(type: string, listener: (value: unknown) => void): this {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type)!.add(listener);
    return this;
  }
  off(type: string, listener: (value: unknown) => void): this {
    this.#listeners.get(type)?.delete(listener);
    return this;
  }
  get listeners(): number {
    return [...this.#listeners.values()].reduce((n, set) => n + set.size, 0);
  }
  /** Emits as an EventEmitter does: an `error` nobody listens to throws. */
  emit(type: string, value?: unknown): void {
    const set = this.#listeners.get(type);
    if (type === "error" && !set?.size) throw value;
    for (const listener of set ?? []) listener(value);
  }
  terminate(): Promise<number> {
    this.terminated++;
    return new Promise((resolve) => {
      this.#exit = () => {
        this.emit("exit", 1);
        resolve(1);
      };
    });
  }
  /** The thread has exited: settles `terminate()`'s promise. */
  exit(): void {
    this.#exit?.();
  }
}

/** A supervisor with one WorkerService over stand-ins; `workers` fills as runs begin. */
function setup<W extends FakeWebWorker | FakeNodeWorker>(
  make: () => W,
  options: ConstructorParameters<typeof WorkerService>[2] = {},
  supervisorOptions: ConstructorParameters<typeof Supervisor>[0] = {},
) {
  const workers: W[] = [];
  const supervisor = new Supervisor({ backoff: { jitter: 0 }, ...supervisorOptions });
  const log = recordEvents(supervisor);
  const exits: ExitEvent[] = [];
  supervisor.addEventListener("exit", (e) => exits.push(e));
  supervisor.add(
    new WorkerService("w", () => {
      const worker = make();
      workers.push(worker);
      return worker;
    }, options),
  );
  return { supervisor, workers, log, exits };
}

const start = (attempt: number) => ({ [KEY]: "start", attempt });
const end = (error?: unknown) =>
  error === undefined ? { [KEY]: "end", ok: true } : { [KEY]: "end", ok: false, error };

async function flush(time: FakeTime): Promise<void> {
  await time.tickAsync(0);
  await time.tickAsync(0);
}

describe("WorkerService", () => {
  it("terminates a worker that will not stop exactly `grace` ms after the abort, and reports it stopped", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log } = setup(() => new FakeWebWorker(), { grace: 300 });
      await supervisor.start();
      const worker = workers[0]!;
      worker.send({ [KEY]: "ready" });
      assert.deepEqual(worker.posted, [start(1)]);

      await time.tickAsync(1000);
      const stopping = supervisor.stop(new Error("deploy"));
      await time.tickAsync(0);
      const stop = worker.posted[1] as unknown as { reason: { error: Record<string, unknown> } };
      assert.equal((stop as Record<string, unknown>)[KEY], "stop");
      assert.deepEqual(
        { ...stop.reason.error, stack: typeof stop.reason.error.stack },
        { name: "Error", message: "deploy", stack: "string" },
      );
      await time.tickAsync(299);
      assert.equal(worker.terminated, 0);
      await time.tickAsync(1);
      assert.equal(worker.terminated, 1);
      assert.deepEqual(await stopping, { stopped: ["w"], timedOut: [] });
      assert.deepEqual(log, ["0 start w#1", "0 ready w#1", "1300 exit w#1 stopped"]);
      assert.equal(worker.listeners, 0);
      assert.equal(time.countTimers(), 0);
    }));

  it("waits 1000 ms by default, the documented default", () =>
    withFakeTime(async (time) => {
      assert.equal(_WORKER_DEFAULTS.grace, 1000);
      assert.ok(Object.isFrozen(_WORKER_DEFAULTS));
      const source = "src/worker_service.ts";
      if (existsSync(source)) {
        // On the sources (Deno, Bun): the @default in the docs is the real one.
        const text = readFileSync(source, "utf8");
        assert.match(text, /@default \{1000\}\s*\*\/\s*readonly grace\?: number;/);
      }
      const { supervisor, workers } = setup(() => new FakeWebWorker());
      await supervisor.start();
      const stopping = supervisor.stop();
      await time.tickAsync(999);
      assert.equal(workers[0]!.terminated, 0);
      await time.tickAsync(1);
      assert.equal(workers[0]!.terminated, 1);
      await stopping;
    }));

  it("terminates at once with grace 0 (brutal_kill)", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log } = setup(() => new FakeWebWorker(), { grace: 0 });
      await supervisor.start();
      assert.deepEqual(await supervisor.stop(), { stopped: ["w"], timedOut: [] });
      assert.equal(workers[0]!.terminated, 1);
      assert.deepEqual(log, ["0 start w#1", "0 exit w#1 stopped"]);
      assert.equal(time.countTimers(), 0);
    }));

  it("ends the run as soon as the worker ends within its grace, and clears the grace timer", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log } = setup(() => new FakeWebWorker(), { grace: 500 });
      await supervisor.start();
      const stopping = supervisor.stop();
      await time.tickAsync(100);
      workers[0]!.send(end());
      assert.deepEqual(await stopping, { stopped: ["w"], timedOut: [] });
      assert.equal(workers[0]!.terminated, 1);
      assert.deepEqual(log, ["0 start w#1", "100 exit w#1 stopped"]);
      assert.equal(time.countTimers(), 0);
      assert.equal(workers[0]!.listeners, 0);
    }));

  it("maps the worker's end to completed and failed, restarting by policy in a fresh worker", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log, exits } = setup(() => new FakeWebWorker());
      await supervisor.start();
      workers[0]!.send(end({
        error: { name: "TypeError", message: "boom", stack: "TypeError: boom\n    at w.ts:1" },
      }));
      await flush(time);
      await time.tickAsync(1000);
      assert.equal(workers.length, 2);
      assert.deepEqual(workers[1]!.posted, [start(2)]);
      workers[1]!.send(end());
      await flush(time);
      assert.deepEqual(log, [
        "0 start w#1",
        "0 exit w#1 failed",
        "0 restart w#2 1000",
        "1000 start w#2",
        "1000 exit w#2 completed",
      ]);
      const error = exits[0]!.error as Error;
      assert.ok(error instanceof Error);
      assert.equal(error.name, "TypeError");
      assert.equal(error.message, "boom");
      assert.equal(error.stack, "TypeError: boom\n    at w.ts:1");
      assert.deepEqual(workers.map((w) => [w.terminated, w.listeners]), [[1, 0], [1, 0]]);
      await supervisor.stop();
    }));

  it("recognises DoNotRestartError and EscalateError by name, as the classes do in-process", () =>
    withFakeTime(async (time) => {
      const a = setup(() => new FakeWebWorker(), { restartPolicy: "always" });
      await a.supervisor.start();
      a.workers[0]!.send(end({ error: { name: "DoNotRestartError", message: "bad config" } }));
      await flush(time);
      assert.ok(a.exits[0]!.error instanceof DoNotRestartError);
      assert.equal(a.supervisor.status()[0]?.state, "failed");
      assert.equal(a.supervisor.status()[0]?.restarts, 0);
      await a.supervisor.stop();

      const b = setup(() => new FakeNodeWorker(), {}, { escalate: true });
      await b.supervisor.start();
      const escalated = b.supervisor.done.catch((error) => error);
      const thrown = new Error("disk full");
      thrown.name = "EscalateError";
      b.workers[0]!.emit("error", thrown);
      b.workers[0]!.exit();
      await flush(time);
      const error = await escalated;
      assert.ok(error instanceof EscalateError);
      assert.equal(error.message, "disk full");
      assert.equal(error.stack, thrown.stack);
    }));

  it("fails the run on an error event, cancelling it, and keeps the name the runtime's message gives", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, exits } = setup(() => new FakeWebWorker(), {
        restartPolicy: "never",
      });
      await supervisor.start();
      const cancelled = workers[0]!.fail({
        message: "Uncaught (in promise) RangeError: at load",
        filename: "file:///app/w.ts",
        lineno: 3,
      });
      await flush(time);
      assert.equal(cancelled, true, "preventDefault: Deno would end this process otherwise");
      const error = exits[0]!.error as Error;
      assert.equal(error.name, "RangeError");
      assert.equal(error.message, "at load");
      assert.equal(error.stack, "RangeError: at load\n    at file:///app/w.ts:3");
      assert.equal(workers[0]!.terminated, 1);
      await supervisor.stop();
    }));

  it("fails the run on an error event with no details (a browser's failed load)", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, exits } = setup(() => new FakeWebWorker(), {
        restartPolicy: "never",
      });
      await supervisor.start();
      workers[0]!.fail({});
      await flush(time);
      assert.equal(
        (exits[0]!.error as Error).message,
        "Worker of service 'w' failed to load or raised an error the runtime did not describe",
      );
      await supervisor.stop();
    }));

  it("fails the run on messageerror, on Bun's close event, and on the worker closing itself", () =>
    withFakeTime(async (time) => {
      const messages: string[] = [];
      for (const happen of ["messageerror", "close", "exit"] as const) {
        const { supervisor, workers, exits } = setup(() => new FakeWebWorker(), {
          restartPolicy: "never",
        });
        await supervisor.start();
        const worker = workers[0]!;
        if (happen === "messageerror") worker.dispatchEvent(new Event("messageerror"));
        if (happen === "close") {
          worker.dispatchEvent(Object.assign(new Event("close"), { code: 3 }));
        }
        if (happen === "exit") worker.send({ [KEY]: "exit" });
        await flush(time);
        messages.push((exits[0]!.error as Error).message);
        assert.equal(worker.terminated, 1);
        assert.equal(worker.listeners, 0);
        await supervisor.stop();
      }
      assert.deepEqual(messages, [
        "Worker of service 'w' sent a message that could not be deserialized",
        "Worker of service 'w' exited on its own with code 3 before its run ended",
        "Worker of service 'w' exited on its own before its run ended",
      ]);
    }));

  it("on Node, settles only once the thread has exited, and keeps listening until then", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log } = setup(() => new FakeNodeWorker(), { grace: 10 });
      await supervisor.start();
      const worker = workers[0]!;
      const stopping = supervisor.stop();
      await time.tickAsync(10);
      assert.equal(worker.terminated, 1);
      // Before the thread is gone, a late error must find a listener (an
      // EventEmitter throws an `error` nobody listens to).
      worker.emit("error", new Error("late"));
      await flush(time);
      assert.deepEqual(log, ["0 start w#1"]);
      worker.exit();
      assert.deepEqual(await stopping, { stopped: ["w"], timedOut: [] });
      assert.deepEqual(log, ["0 start w#1", "10 exit w#1 stopped"]);
      assert.equal(worker.listeners, 0);
    }));

  it("on Node, fails the run of a worker that exits on its own with its exit code", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, exits } = setup(() => new FakeNodeWorker(), {
        restartPolicy: "never",
      });
      await supervisor.start();
      workers[0]!.emit("exit", 0);
      workers[0]!.exit();
      await flush(time);
      assert.equal(
        (exits[0]!.error as Error).message,
        "Worker of service 'w' exited on its own with code 0 before its run ended",
      );
      await supervisor.stop();
    }));

  it("sends the reason's string when the reason cannot be cloned", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers } = setup(() => new FakeWebWorker(), { grace: 0 });
      await supervisor.start();
      const reason = { toString: () => "a reason with a method", fn() {} };
      workers[0]!.refuse = (m) =>
        (m as Record<string, string>)[KEY] === "stop" &&
        typeof ((m as { reason: { value?: unknown } }).reason.value) === "object";
      await supervisor.stop(reason);
      await flush(time);
      assert.deepEqual(workers[0]!.posted[1], {
        [KEY]: "stop",
        reason: { value: "a reason with a method" },
      });
    }));

  it("terminates at once when the stop cannot be sent at all", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers } = setup(() => new FakeWebWorker(), { grace: 5000 });
      await supervisor.start();
      workers[0]!.refuse = () => true;
      assert.deepEqual(await supervisor.stop(), { stopped: ["w"], timedOut: [] });
      assert.equal(workers[0]!.terminated, 1);
      assert.equal(time.countTimers(), 0);
    }));

  it("fails the run when the start cannot be sent, and terminates the worker", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, exits } = setup(
        () => {
          const worker = new FakeWebWorker();
          worker.refuse = () => true;
          return worker;
        },
        {},
        { restartPolicy: "never" },
      );
      await supervisor.start();
      await flush(time);
      assert.equal((exits[0]!.error as DOMException).name, "DataCloneError");
      assert.equal(workers[0]!.terminated, 1);
      assert.equal(workers[0]!.listeners, 0);
      await supervisor.stop();
    }));

  it("ignores the worker's own messages, a second end, and a ready after the end", () =>
    withFakeTime(async (time) => {
      const { supervisor, workers, log } = setup(() => new FakeWebWorker(), {
        restartPolicy: "never",
      });
      await supervisor.start();
      const worker = workers[0]!;
      worker.send({ ready: true });
      worker.send("hello");
      worker.send(null);
      worker.send({ [KEY]: "something else" });
      assert.equal(supervisor.status()[0]?.state, "running");
      worker.send(end());
      worker.send(end({ value: "late" }));
      worker.send({ [KEY]: "ready" });
      await flush(time);
      assert.deepEqual(log, ["0 start w#1", "0 exit w#1 completed"]);
      await supervisor.stop();
    }));

  it("fails the run when create() throws or returns something that is not a Worker", () =>
    withFakeTime(async (time) => {
      const errors: unknown[] = [];
      for (
        const create of [
          () => {
            throw new Error("no such file");
          },
          () => ({ postMessage() {} }),
          () => null,
        ]
      ) {
        const supervisor = new Supervisor({ restartPolicy: "never" });
        supervisor.addEventListener("exit", (e) => errors.push(e.error));
        supervisor.add(new WorkerService("w", create as unknown as () => FakeWebWorker));
        await supervisor.start();
        await flush(time);
        await supervisor.stop();
      }
      assert.equal((errors[0] as Error).message, "no such file");
      assert.ok(errors[1] instanceof TypeError);
      assert.equal(
        (errors[1] as Error).message,
        "Worker service 'w' expected create() to return a Worker (with postMessage, terminate, " +
          "and addEventListener or on): it returned [object Object]",
      );
      assert.ok(errors[2] instanceof TypeError);
    }));

  it("makes no worker for a run whose signal is already aborted", async () => {
    let made = 0;
    const service = new WorkerService("w", () => {
      made++;
      return new FakeWebWorker();
    });
    const context: RunContext = { attempt: 1, ready() {} };
    await service.run(AbortSignal.abort(), context);
    assert.equal(made, 0);
  });

  it("stops at once a run whose signal create() aborted, and refuses a Worker that already ran", () =>
    withFakeTime(async (time) => {
      const controller = new AbortController();
      const worker = new FakeWebWorker();
      const service = new WorkerService("w", () => {
        controller.abort(new Error("changed my mind"));
        return worker;
      }, { grace: 100 });
      const context: RunContext = { attempt: 1, ready() {} };
      const run = service.run(controller.signal, context);
      assert.deepEqual(
        worker.posted.map((m) => (m as Record<string, unknown>)[KEY]),
        ["start", "stop"],
      );
      await time.tickAsync(100);
      await run;
      assert.equal(worker.terminated, 1);
      assert.equal(worker.listeners, 0);

      const again = new WorkerService("again", () => worker);
      await assert.rejects(again.run(new AbortController().signal, context), {
        name: "TypeError",
        message: "Worker service 'again' expected create() to return a fresh Worker for each " +
          "run: it returned one that already ran",
      });
    }));

  it("refuses bad arguments up front, naming the option and the value", () => {
    const create = () => new FakeWebWorker();
    const cases: [() => unknown, string, string][] = [
      [
        () => new WorkerService("", create),
        "RangeError",
        `Cannot create worker service "" as 'name' must be a non-empty string: current value is ""`,
      ],
      [
        () => new WorkerService("a/b", create),
        "RangeError",
        `Cannot create worker service "a/b" as 'name' must be a string without '/', which separates paths: current value is "a/b"`,
      ],
      [
        () => new WorkerService(1 as unknown as string, create),
        "TypeError",
        `Cannot create worker service "1" as 'name' must be a string: current value is 1`,
      ],
      [
        () => new WorkerService("w", "x" as unknown as () => FakeWebWorker),
        "TypeError",
        `Cannot create worker service "w" as 'create' must be a function: current value is "x"`,
      ],
      [
        () => new WorkerService("w", create, { grace: -1 }),
        "RangeError",
        `Cannot create worker service "w" as 'grace' must be a number from 0 to 2147483647: current value is -1`,
      ],
      [
        () => new WorkerService("w", create, { grace: NaN }),
        "RangeError",
        `Cannot create worker service "w" as 'grace' must be a number from 0 to 2147483647: current value is NaN`,
      ],
      [
        () => new WorkerService("w", create, { grace: Infinity }),
        "RangeError",
        `Cannot create worker service "w" as 'grace' must be a number from 0 to 2147483647: current value is Infinity`,
      ],
      [
        () => new WorkerService("w", create, { grace: "1" as unknown as number }),
        "TypeError",
        `Cannot create worker service "w" as 'grace' must be a number: current value is "1"`,
      ],
      [
        () => new WorkerService("w", create, { restartPolicy: "sometimes" as "always" }),
        "RangeError",
        `Cannot create worker service "w" as 'restartPolicy' must be one of "always", "on_failure", "never": current value is "sometimes"`,
      ],
      [
        () => new WorkerService("w", create, { stopTimeout: 1 } as unknown as WorkerServiceOptions),
        "TypeError",
        `Cannot create worker service "w" as 'stopTimeout' is not an option: it is a service option: pass it to add()`,
      ],
      [
        () => new WorkerService("w", create, { graec: 1 } as unknown as WorkerServiceOptions),
        "TypeError",
        `Cannot create worker service "w" as 'graec' is not an option: the options are 'grace' and 'restartPolicy'`,
      ],
      [
        () => new WorkerService("w", create, 5 as unknown as WorkerServiceOptions),
        "TypeError",
        `Cannot create worker service "w" as 'options' must be an object: current value is 5`,
      ],
    ];
    for (const [make, name, message] of cases) assert.throws(make, { name, message });
    const service = new WorkerService("w", create, { restartPolicy: "always", grace: 0 });
    assert.equal(service.name, "w");
    assert.equal(service.restartPolicy, "always");
    assert.equal(new WorkerService("w", create).restartPolicy, undefined);
  });
});
