import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Supervisor, toPrometheus } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { failAfter, untilAborted } from "./_log.ts";

/** One line of the text exposition format 0.0.4: a comment, or a sample without timestamp. */
const HELP = /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;
const TYPE = /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/;
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"`;
const SAMPLE = new RegExp(
  String
    .raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(${LABEL}(?:,${LABEL})*)\} (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`,
);

/** Parses the exposition text, checking every line against the grammar; throws on the first bad one. */
function parse(text: string) {
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP")) {
      assert.match(line, HELP);
    } else if (line.startsWith("# TYPE")) {
      assert.match(line, TYPE);
      const [, , name, type] = line.split(" ");
      assert.ok(!types.has(name!), `one TYPE line for ${name}`);
      types.set(name!, type!);
    } else {
      const match = SAMPLE.exec(line);
      assert.ok(match, `not a valid sample line: ${JSON.stringify(line)}`);
      const name = match[1]!;
      assert.ok(types.has(name), `${name} has a TYPE line before its samples`);
      const labels: Record<string, string> = {};
      for (
        const [, key, value] of match[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)
      ) {
        labels[key!] = value!.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      }
      samples.push({ name, labels, value: Number(match[3]) });
    }
  }
  return { types, samples };
}

describe("Supervisor.metrics", () => {
  it("counts restarts, failures, completions and giveups exactly after a scripted run", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({
        name: "feeds",
        maxRestarts: 2,
        backoff: { jitter: 0, initialDelay: 100 },
      });
      feeds.add("binance", (signal) => failAfter(10, signal));
      const supervisor = new Supervisor({
        restartPolicy: "always",
        backoff: { jitter: 0, initialDelay: 100 },
      });
      supervisor.add("job", () => new Promise((resolve) => setTimeout(resolve, 50)), {
        maxRestarts: Infinity,
      });
      supervisor.add("steady", untilAborted);
      supervisor.add(feeds);
      await supervisor.start();
      for (let t = 0; t < 1000; t += 10) await time.tickAsync(10);
      await time.tickAsync(0);
      // job: runs at 0, 150, 400 and 850, each completing after 50 ms; the 4th restart waits 800 ms.
      // binance: fails at 10, 120, 330 → restarts at 10 (100 ms) and 120 (200 ms), gives up at 330.
      assert.deepEqual(
        supervisor.metrics().map((
          m,
        ) => [m.name, m.state, m.restarts, m.failures, m.completions, m.giveups, m.up]),
        [
          ["job", "backing_off", 4, 0, 4, 0, false],
          ["steady", "running", 0, 0, 0, 0, true],
          ["feeds", "running", 0, 0, 0, 0, true],
          ["feeds/binance", "failed", 2, 3, 0, 1, false],
        ],
      );
      const [job, steady, , binance] = supervisor.metrics();
      assert.equal(job?.uptime, 0);
      assert.equal(job?.lastExitAt, 900);
      assert.equal(steady?.uptime, 1000);
      assert.equal("lastExitAt" in steady!, false);
      assert.equal(binance?.uptime, 0);
      assert.equal(binance?.lastExitAt, 330);
      await supervisor.stop();
    }));
});

describe("toPrometheus", () => {
  it("renders text exposition format 0.0.4, every line valid, with HELP and TYPE per family", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds", maxRestarts: 0 });
      feeds.add("binance", () => Promise.reject(new Error("x")));
      const supervisor = new Supervisor().add("db", untilAborted).add(feeds);
      await supervisor.start();
      await time.tickAsync(0);
      const { types, samples } = parse(toPrometheus(supervisor));
      assert.deepEqual(Object.fromEntries(types), {
        janus_supervisor_restarts_total: "counter",
        janus_supervisor_failures_total: "counter",
        janus_supervisor_giveups_total: "counter",
        janus_supervisor_service_up: "gauge",
        janus_supervisor_service_state: "gauge",
      });
      const value = (name: string, service: string, state?: string) =>
        samples.find((s) =>
          s.name === name && s.labels.service === service && (!state || s.labels.state === state)
        )
          ?.value;
      assert.equal(value("janus_supervisor_giveups_total", "feeds/binance"), 1);
      assert.equal(value("janus_supervisor_failures_total", "feeds/binance"), 1);
      assert.equal(value("janus_supervisor_service_up", "db"), 1);
      assert.equal(value("janus_supervisor_service_up", "feeds/binance"), 0);
      assert.equal(value("janus_supervisor_service_state", "feeds/binance", "failed"), 1);
      const states = samples.filter((s) =>
        s.name === "janus_supervisor_service_state" && s.labels.service === "db"
      );
      assert.deepEqual(states.map((s) => `${s.labels.state}=${s.value}`), [
        "running=1",
        "backing_off=0",
        "completed=0",
        "failed=0",
        "stopping=0",
        "stopped=0",
      ]);
      assert.equal(samples.length, 3 * 4 + 3 * 6);
      await supervisor.stop();
    }));

  it("escapes backslash, double quote and newline in label values", async () => {
    const supervisor = new Supervisor().add('say "hi"\\now\nthen', untilAborted);
    const text = toPrometheus(supervisor);
    assert.ok(
      text.includes('janus_supervisor_restarts_total{service="say \\"hi\\"\\\\now\\nthen"} 0\n'),
    );
    const { samples } = parse(text);
    assert.equal(samples[0]?.labels.service, 'say "hi"\\now\nthen');
    await supervisor.stop();
  });

  it("renders the families with no samples for an empty supervisor", () => {
    const { types, samples } = parse(toPrometheus(new Supervisor()));
    assert.equal(types.size, 5);
    assert.equal(samples.length, 0);
  });
});
