// The transition table's whole input space, for the table test and for
// the check of the README's lifecycle diagram against it.
import {
  type Facts,
  type Input,
  type Intent,
  type Phase,
  publicState,
  transition,
} from "../src/_lifecycle.ts";

export type { Input };

export const PHASES: readonly Phase[] = [
  "stopped",
  "running",
  "claimed",
  "backing_off",
  "grouped",
  "completed",
  "failed",
  "stopping",
  "abandoned",
  "removed",
];
export const INTENTS: readonly Intent[] = ["stop", "remove", "restart", "group", "start"];
export const INPUTS: readonly Input[] = [
  "start",
  "settle",
  "ready",
  "timer",
  "stop",
  "remove",
  "restart",
  "claim",
  "group",
  "release",
  "timeout",
  "cancel",
];

/** A run that failed and is to be restarted, one-for-one, within the limit. */
export const FAILED: Facts = {
  outcome: "failed",
  restart: true,
  escalates: false,
  escalate: false,
  live: true,
  admitted: true,
  group: false,
  never: false,
  intense: false,
  significant: false,
  awaited: false,
};

/** Every (phase, intent) pair the table can be in. */
export function* states(): Generator<[Phase, Intent | undefined]> {
  for (const phase of PHASES) {
    if (phase === "stopping" || phase === "abandoned") {
      for (const intent of INTENTS) yield [phase, intent];
    } else {
      yield [phase, undefined];
    }
  }
}

/** Every combination of facts. */
export function* allFacts(): Generator<Facts> {
  const keys = [
    "restart",
    "escalates",
    "escalate",
    "live",
    "admitted",
    "group",
    "never",
    "intense",
    "significant",
    "awaited",
  ] as const;
  for (const outcome of ["completed", "failed"] as const) {
    for (let bits = 0; bits < 1 << keys.length; bits++) {
      const facts = { ...FAILED, outcome };
      keys.forEach((key, i) => facts[key] = (bits & (1 << i)) !== 0);
      yield facts;
    }
  }
}

/** The public edges the table can take, as `from --> to` (`[*]` for removed). */
export function tableEdges(): Set<string> {
  const edges = new Set<string>();
  for (const [phase, intent] of states()) {
    for (const input of INPUTS) {
      for (const facts of allFacts()) {
        const t = transition(phase, intent, input, facts);
        if (!t) continue;
        const from = publicState(phase) ?? "[*]";
        const to = publicState(t.phase) ?? "[*]";
        if (from !== "[*]" || to !== "[*]") edges.add(`${from} --> ${to}`);
      }
    }
  }
  return edges;
}
