// The transition table, tested as a table: no supervisor, no timers. Each
// row is (phase, intent, input, facts) → what the table decides, written
// as `phase(intent): effect effect`, or `—` when the input changes nothing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Facts,
  Fx,
  type Intent,
  type Phase,
  publicState,
  transition,
} from "../src/_lifecycle.ts";
import { allFacts, FAILED, type Input, INPUTS, PHASES, states } from "./_table.ts";

function decide(phase: Phase, intent: Intent | undefined, input: Input, facts: Partial<Facts>) {
  const t = transition(phase, intent, input, { ...FAILED, ...facts });
  if (!t) return "—";
  const effects = Object.entries(Fx).filter(([, bit]) => t.fx & bit).map(([name]) => name);
  return `${t.phase}${t.intent ? `(${t.intent})` : ""}:${effects.map((e) => ` ${e}`).join("")}`;
}

type Row = readonly [Phase, Intent | undefined, Input, Partial<Facts>, string];

const ROWS: readonly Row[] = [
  // Starting.
  ["stopped", undefined, "start", {}, "running: launch"],
  ["completed", undefined, "start", {}, "running: launch"],
  ["failed", undefined, "start", {}, "running: launch"],
  ["running", undefined, "start", {}, "—"],
  ["backing_off", undefined, "start", {}, "—"],
  ["abandoned", "stop", "start", {}, "abandoned(start):"],
  // A run that ends on its own, one-for-one.
  ["running", undefined, "settle", {}, "backing_off: schedule exit announce"],
  ["running", undefined, "settle", { outcome: "completed" }, "backing_off: schedule exit announce"],
  ["running", undefined, "settle", { restart: false }, "failed: exit"],
  ["running", undefined, "settle", { outcome: "completed", restart: false }, "completed: exit"],
  ["running", undefined, "settle", { admitted: false }, "failed: limit exit giveup"],
  [
    "running",
    undefined,
    "settle",
    { admitted: false, escalate: true },
    "failed: limit escalate exit giveup",
  ],
  ["running", undefined, "settle", { escalates: true }, "failed: escalate exit"],
  ["running", undefined, "settle", { live: false }, "stopped: exit"],
  ["running", undefined, "settle", { group: true }, "grouped: trigger exit"],
  ["running", undefined, "settle", { intense: true }, "failed: exit intensity"],
  ["running", undefined, "settle", { intense: true, admitted: false }, "failed: limit exit giveup"],
  // A significant service that ended for good says so; one to be restarted does not.
  ["running", undefined, "settle", { significant: true, restart: false }, "failed: exit ended"],
  [
    "running",
    undefined,
    "settle",
    { significant: true, outcome: "completed", restart: false, awaited: true },
    "completed: exit proceed ended",
  ],
  [
    "running",
    undefined,
    "settle",
    { significant: true, admitted: false },
    "failed: limit exit giveup ended",
  ],
  [
    "running",
    undefined,
    "settle",
    { significant: true, admitted: false, escalate: true },
    "failed: limit escalate exit giveup",
  ],
  ["running", undefined, "settle", { significant: true }, "backing_off: schedule exit announce"],
  ["running", undefined, "settle", { significant: true, live: false }, "stopped: exit"],
  ["stopping", "stop", "settle", { significant: true }, "stopped: unwait exit"],
  // ... while start() waits for it to be ready.
  ["running", undefined, "settle", { awaited: true }, "failed: exit fail"],
  ["running", undefined, "settle", { awaited: true, escalates: true }, "failed: exit fail"],
  [
    "running",
    undefined,
    "settle",
    { awaited: true, outcome: "completed" },
    "backing_off: schedule exit announce proceed",
  ],
  [
    "running",
    undefined,
    "settle",
    { awaited: true, outcome: "completed", restart: false },
    "completed: exit proceed",
  ],
  // ... while its group restart is under way.
  ["claimed", undefined, "settle", {}, "grouped: exit"],
  ["claimed", undefined, "settle", { restart: false }, "failed: exit"],
  // A run the supervisor aborted settles: what follows depends on why.
  ["stopping", "stop", "settle", {}, "stopped: unwait exit"],
  ["stopping", "remove", "settle", {}, "removed: unwait forget exit"],
  ["stopping", "remove", "settle", { awaited: true }, "removed: unwait forget exit proceed"],
  ["stopping", "restart", "settle", {}, "backing_off: unwait restartNow exit announce"],
  ["stopping", "group", "settle", {}, "grouped: unwait exit"],
  ["stopping", "group", "settle", { never: true, awaited: true }, "stopped: unwait exit proceed"],
  ["abandoned", "stop", "settle", {}, "stopped: exit"],
  ["abandoned", "restart", "settle", {}, "stopped: exit"],
  ["abandoned", "start", "settle", {}, "running: exit launch"],
  ["removed", undefined, "settle", {}, "removed: exit"],
  // ready() and the restart timer.
  ["running", undefined, "ready", {}, "running: ready"],
  ["claimed", undefined, "ready", { awaited: true }, "claimed: ready proceed"],
  ["stopping", "restart", "ready", {}, "—"],
  ["backing_off", undefined, "timer", {}, "running: launch resolve"],
  ["stopped", undefined, "timer", {}, "—"],
  // The shutdown.
  ["running", undefined, "stop", {}, "stopping(stop): wait abort"],
  ["claimed", undefined, "stop", {}, "stopping(stop): wait abort"],
  ["stopping", "remove", "stop", {}, "stopping(remove): wait"],
  ["abandoned", "stop", "stop", {}, "stopping(stop): wait"],
  ["backing_off", undefined, "stop", {}, "—"],
  ["backing_off", undefined, "cancel", {}, "stopped: cancel reject"],
  ["grouped", undefined, "cancel", {}, "stopped: cancel reject"],
  ["claimed", undefined, "cancel", {}, "running:"],
  ["stopping", "restart", "cancel", {}, "stopping(stop): reject"],
  ["stopping", "group", "cancel", {}, "stopping(stop): reject"],
  ["stopping", "remove", "cancel", {}, "—"],
  ["abandoned", "start", "cancel", {}, "abandoned(stop):"],
  // remove().
  ["running", undefined, "remove", {}, "stopping(remove): wait abort"],
  ["stopping", "restart", "remove", {}, "stopping(remove): reject"],
  ["backing_off", undefined, "remove", {}, "removed: cancel forget reject"],
  ["failed", undefined, "remove", { awaited: true }, "removed: cancel forget reject proceed"],
  ["abandoned", "stop", "remove", {}, "removed: cancel forget reject"],
  ["removed", undefined, "remove", {}, "—"],
  // restart(): every restart waits on one timer, restart()'s too.
  ["running", undefined, "restart", {}, "stopping(restart): wait abort"],
  ["backing_off", undefined, "restart", {}, "backing_off: cancel restartNow announce"],
  ["grouped", undefined, "restart", {}, "backing_off: cancel restartNow announce"],
  ["failed", undefined, "restart", {}, "backing_off: cancel restartNow announce"],
  ["stopping", "group", "restart", {}, "stopping(restart):"],
  ["stopping", "restart", "restart", {}, "—"],
  ["stopping", "remove", "restart", {}, "—"],
  ["abandoned", "group", "restart", {}, "stopping(restart): wait"],
  // Group restarts.
  ["running", undefined, "claim", {}, "claimed:"],
  ["backing_off", undefined, "claim", {}, "grouped: cancel"],
  ["stopping", "group", "claim", {}, "stopping(group):"],
  ["stopping", "restart", "claim", {}, "—"],
  ["completed", undefined, "claim", {}, "—"],
  ["claimed", undefined, "group", {}, "stopping(group): wait abort"],
  ["running", undefined, "group", {}, "—"],
  ["grouped", undefined, "release", {}, "running: launch resolve"],
  ["backing_off", undefined, "release", {}, "—"],
  // A run that outlives its stop timeout.
  ["stopping", "stop", "timeout", {}, "abandoned(stop): stoptimeout"],
  ["stopping", "group", "timeout", { awaited: true }, "abandoned(group): stoptimeout proceed"],
  ["stopping", "restart", "timeout", {}, "abandoned(restart): stoptimeout reject"],
  ["stopping", "remove", "timeout", {}, "removed: forget stoptimeout"],
  ["abandoned", "stop", "timeout", {}, "—"],
];

describe("The lifecycle transition table", () => {
  it("decides each case as the table of expected rows says", () => {
    const mismatches = ROWS
      .map(([phase, intent, input, facts, expected]) => {
        const actual = decide(phase, intent, input, facts);
        return actual === expected
          ? undefined
          : `${phase}(${intent}) ${input} ${
            JSON.stringify(facts)
          }: ${actual}, expected ${expected}`;
      })
      .filter(Boolean);
    assert.deepEqual(mismatches, []);
  });

  it("keeps its invariants over every phase, intent, input and fact", () => {
    let decisions = 0;
    for (const [phase, intent] of states()) {
      for (const input of INPUTS) {
        for (const facts of allFacts()) {
          const t = transition(phase, intent, input, facts);
          const where = () => `${phase}(${intent}) ${input} ${JSON.stringify(facts)}`;
          if (
            input === "settle" && phase !== "stopped" && phase !== "backing_off" &&
            phase !== "grouped" && phase !== "completed" && phase !== "failed"
          ) {
            // A run that settles is always handled, and always announced.
            assert.ok(t && t.fx & Fx.exit, `a settled run is handled: ${where()}`);
          }
          if (!t) continue;
          decisions++;
          const stopping = t.phase === "stopping" || t.phase === "abandoned";
          assert.equal(t.intent !== undefined, stopping, `intent only while stopping: ${where()}`);
          if (t.fx & Fx.exit) assert.equal(input, "settle", `exit only on settle: ${where()}`);
          if (t.fx & Fx.launch) assert.equal(t.phase, "running", `launch into running: ${where()}`);
          if (t.fx & Fx.abort) {
            assert.ok(phase === "running" || phase === "claimed", `abort a live run: ${where()}`);
            assert.equal(t.phase, "stopping", where());
          }
          if (t.fx & Fx.wait) assert.equal(t.phase, "stopping", `wait while stopping: ${where()}`);
          if (t.fx & (Fx.schedule | Fx.restartNow)) {
            assert.equal(t.phase, "backing_off", `a restart timer backs off: ${where()}`);
          }
          if (t.fx & Fx.trigger) assert.equal(t.phase, "grouped", where());
          if (t.fx & Fx.forget) assert.equal(t.phase, "removed", where());
          if (phase === "removed") assert.equal(t.phase, "removed", `removed stays: ${where()}`);
          if (t.fx & Fx.fail) assert.equal(t.phase, "failed", where());
          // Only what the session allows: no restart is made once it ends.
          if (input === "settle" && !facts.live && (phase === "running" || phase === "claimed")) {
            assert.equal(t.fx & (Fx.schedule | Fx.trigger | Fx.launch), 0, where());
          }
          if (input === "cancel") {
            assert.equal(t.fx & (Fx.launch | Fx.schedule | Fx.restartNow), 0, where());
          }
        }
      }
    }
    assert.ok(decisions > 1000, `${decisions} decisions checked`);
  });

  it("maps every phase to one public state, and removed to none", () => {
    assert.deepEqual(PHASES.map((phase) => [phase, publicState(phase)]), [
      ["stopped", "stopped"],
      ["running", "running"],
      ["claimed", "running"],
      ["backing_off", "backing_off"],
      ["grouped", "backing_off"],
      ["completed", "completed"],
      ["failed", "failed"],
      ["stopping", "stopping"],
      ["abandoned", "stopping"],
      ["removed", undefined],
    ]);
  });
});
