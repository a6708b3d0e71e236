import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Service, type ServiceOptions, Supervisor, type SupervisorOptions } from "../mod.ts";
import { untilAborted } from "./_log.ts";

/** Options that must be refused, the error's class, and the message's tail after "as ". */
const BAD_OPTIONS: [SupervisorOptions, "TypeError" | "RangeError", string][] = [
  [
    { backoff: { initialDelay: -1 } },
    "RangeError",
    "'backoff.initialDelay' must be a number of milliseconds from 0 to 2147483647: current value is -1",
  ],
  [
    { backoff: { initialDelay: NaN } },
    "RangeError",
    "'backoff.initialDelay' must be a number of milliseconds from 0 to 2147483647: current value is NaN",
  ],
  [
    { backoff: { maxDelay: -5 } },
    "RangeError",
    "'backoff.maxDelay' must be a number of milliseconds from 0 to 2147483647: current value is -5",
  ],
  [
    { backoff: { maxDelay: Infinity } },
    "RangeError",
    "'backoff.maxDelay' must be a number of milliseconds from 0 to 2147483647: current value is Infinity",
  ],
  [
    { backoff: { initialDelay: "1000" as unknown as number } },
    "TypeError",
    "'backoff.initialDelay' must be a number: current value is \"1000\"",
  ],
  [
    { backoff: { multiplier: 0.5 } },
    "RangeError",
    "'backoff.multiplier' must be at least 1: current value is 0.5",
  ],
  [
    { backoff: { multiplier: NaN } },
    "RangeError",
    "'backoff.multiplier' must be at least 1: current value is NaN",
  ],
  [
    { backoff: { jitter: 1.5 } },
    "RangeError",
    "'backoff.jitter' must be between 0 and 1: current value is 1.5",
  ],
  [
    { backoff: { jitter: -0.1 } },
    "RangeError",
    "'backoff.jitter' must be between 0 and 1: current value is -0.1",
  ],
  [
    { backoff: { initialDelay: 5000, maxDelay: 1000 } },
    "RangeError",
    "'backoff.maxDelay' must be at least 'backoff.initialDelay' (5000): current value is 1000",
  ],
  [
    { backoff: null as unknown as object },
    "TypeError",
    "'backoff' must be an object: current value is null",
  ],
  [
    { resetAfter: -1 },
    "RangeError",
    "'resetAfter' must be a non-negative number: current value is -1",
  ],
  [
    { maxRestarts: -1 },
    "RangeError",
    "'maxRestarts' must be a non-negative integer or Infinity: current value is -1",
  ],
  [
    { maxRestarts: 2.5 },
    "RangeError",
    "'maxRestarts' must be a non-negative integer or Infinity: current value is 2.5",
  ],
  [
    { maxRestarts: NaN },
    "RangeError",
    "'maxRestarts' must be a non-negative integer or Infinity: current value is NaN",
  ],
  [
    { restartWindow: 0 },
    "RangeError",
    "'restartWindow' must be a positive number: current value is 0",
  ],
  [
    { restartWindow: -10 },
    "RangeError",
    "'restartWindow' must be a positive number: current value is -10",
  ],
  [
    { stopTimeout: 0 },
    "RangeError",
    "'stopTimeout' must be a positive number up to 2147483647, or Infinity: current value is 0",
  ],
  [
    { stopTimeout: -1 },
    "RangeError",
    "'stopTimeout' must be a positive number up to 2147483647, or Infinity: current value is -1",
  ],
  [
    { stopTimeout: NaN },
    "RangeError",
    "'stopTimeout' must be a positive number up to 2147483647, or Infinity: current value is NaN",
  ],
  [
    { restartPolicy: "sometimes" as "always" },
    "RangeError",
    `'restartPolicy' must be one of "always", "on_failure", "never": current value is "sometimes"`,
  ],
];

describe("Supervisor input validation", () => {
  it("refuses each bad supervisor option with the option and the value named", () => {
    for (const [options, name, tail] of BAD_OPTIONS) {
      assert.throws(() => new Supervisor(options), {
        name,
        message: `Cannot create supervisor as ${tail}`,
      });
    }
    assert.throws(() => new Supervisor({ random: 0.5 as unknown as () => number }), {
      name: "TypeError",
      message: "Cannot create supervisor as 'random' must be a function: current value is 0.5",
    });
    assert.throws(() => new Supervisor("fast" as SupervisorOptions), {
      name: "TypeError",
      message: `Cannot create supervisor as 'options' must be an object: current value is "fast"`,
    });
  });

  it("refuses each bad service option and registers nothing", () => {
    const supervisor = new Supervisor();
    for (const [options, name, tail] of BAD_OPTIONS) {
      assert.throws(() => supervisor.add("svc", untilAborted, options as ServiceOptions), {
        name,
        message: `Cannot add service "svc" as ${tail}`,
      });
    }
    assert.deepEqual(supervisor.status(), []);
  });

  it("checks maxDelay against the initialDelay the service inherits", () => {
    const supervisor = new Supervisor({ backoff: { initialDelay: 2000 } });
    assert.throws(() => supervisor.add("svc", untilAborted, { backoff: { maxDelay: 1000 } }), {
      name: "RangeError",
      message:
        `Cannot add service "svc" as 'backoff.maxDelay' must be at least 'backoff.initialDelay' (2000): current value is 1000`,
    });
    supervisor.add("ok", untilAborted, { backoff: { maxDelay: 2000 } });
    assert.equal(supervisor.status().length, 1);
  });

  it("accepts the boundaries: zero delays, multiplier 1, jitter 0 and 1, Infinity limits", () => {
    const supervisor = new Supervisor({
      backoff: { initialDelay: 0, maxDelay: 0, multiplier: 1, jitter: 1 },
      resetAfter: 0,
      maxRestarts: 0,
      stopTimeout: Infinity,
    });
    supervisor.add("a", untilAborted, {
      maxRestarts: Infinity,
      restartWindow: Infinity,
      backoff: { jitter: 0 },
    });
    assert.equal(supervisor.status().length, 1);
  });

  it("refuses empty, duplicate and non-string names", () => {
    const supervisor = new Supervisor().add("taken", untilAborted);
    assert.throws(() => supervisor.add("", untilAborted), {
      name: "RangeError",
      message: `Cannot add service as 'name' must be a non-empty string: current value is ""`,
    });
    assert.throws(() => supervisor.add("taken", untilAborted), {
      name: "RangeError",
      message:
        `Cannot add service "taken" as 'name' must be unique within the supervisor: current value is "taken"`,
    });
    assert.throws(() => supervisor.add({ name: 42, run: untilAborted } as unknown as Service), {
      name: "TypeError",
      message: "Cannot add service as 'name' must be a string: current value is 42",
    });
    assert.deepEqual(supervisor.status().map((s) => s.name), ["taken"]);
  });

  it("refuses an unknown option, naming it and the nearest known one, and registers nothing", () => {
    const supervisor = new Supervisor();
    const cases: [() => unknown, string][] = [
      [
        () => new Supervisor({ maxRetries: 5 } as SupervisorOptions),
        "Cannot create supervisor as 'maxRetries' is not an option: did you mean 'maxRestarts'?",
      ],
      [
        () => supervisor.add("a", untilAborted, { retries: 3 } as ServiceOptions),
        `Cannot add service "a" as 'retries' is not an option: did you mean 'maxRestarts'?`,
      ],
      [
        () => new Supervisor({ minTimeout: 100 } as SupervisorOptions),
        "Cannot create supervisor as 'minTimeout' is not an option: did you mean " +
        "'backoff.initialDelay'?",
      ],
      [
        () => new Supervisor({ backoff: { intialDelay: 5 } } as SupervisorOptions),
        "Cannot create supervisor as 'backoff.intialDelay' is not an option: did you mean " +
        "'backoff.initialDelay'?",
      ],
      [
        () => new Supervisor({ stoptimeout: 5 } as SupervisorOptions),
        "Cannot create supervisor as 'stoptimeout' is not an option: did you mean 'stopTimeout'?",
      ],
      [
        () => supervisor.add("a", untilAborted, { strategy: "one_for_all" } as ServiceOptions),
        `Cannot add service "a" as 'strategy' is not an option of a service: it is one of the ` +
        "supervisor",
      ],
    ];
    for (const [make, message] of cases) assert.throws(make, { name: "TypeError", message });
    assert.deepEqual(supervisor.status(), []);
  });

  it("refuses '/' in service and supervisor names: it separates the paths of nested services", () => {
    // `feeds/binance` at the root and `binance` under a child `feeds` would share a path.
    const supervisor = new Supervisor();
    assert.throws(() => supervisor.add("feeds/binance", untilAborted), {
      name: "RangeError",
      message: `Cannot add service as 'name' must be a string without '/', which separates ` +
        `paths: current value is "feeds/binance"`,
    });
    assert.throws(() => new Supervisor({ name: "a/b" }), {
      name: "RangeError",
      message: `Cannot create supervisor as 'name' must be a string without '/', which ` +
        `separates paths: current value is "a/b"`,
    });
    assert.deepEqual(supervisor.status(), []);
  });

  it("refuses a run that is not a function, and a service that is not an object", () => {
    const supervisor = new Supervisor();
    assert.throws(() => supervisor.add("svc", "run" as unknown as Service["run"]), {
      name: "TypeError",
      message: `Cannot add service "svc" as 'run' must be a function: current value is "run"`,
    });
    assert.throws(() => supervisor.add("svc", undefined as unknown as Service["run"]), {
      name: "TypeError",
      message: `Cannot add service "svc" as 'run' must be a function: current value is undefined`,
    });
    assert.throws(() => supervisor.add({ name: "svc" } as Service), {
      name: "TypeError",
      message: `Cannot add service "svc" as 'run' must be a function: current value is undefined`,
    });
    assert.throws(() => supervisor.add(null as unknown as Service), {
      name: "TypeError",
      message:
        "Cannot add service as 'service' must be a Service object or a name: current value is null",
    });
    assert.deepEqual(supervisor.status(), []);
  });

  it("copies its options, so changing them afterwards changes nothing", () => {
    const options = { backoff: { initialDelay: 10, maxDelay: 20 } };
    const supervisor = new Supervisor(options);
    options.backoff.initialDelay = 1_000_000;
    supervisor.add("svc", untilAborted);
    assert.equal(supervisor.status().length, 1);
  });
});
