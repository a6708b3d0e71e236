// Deno only: checks that the documentation agrees with the code. It reads
// source files, so it runs on the sources, not on the built package.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { _DEFAULTS } from "../src/options.ts";
import { tableEdges } from "./_table.ts";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");

/** A default as the docs write it: `Infinity` is not JSON. */
const written = (value: unknown) =>
  typeof value === "number" && !Number.isFinite(value) ? String(value) : JSON.stringify(value);

/** The `@default` of each option documented in src/options.ts, by field name. */
function documentedDefaults(): Record<string, string> {
  const found: Record<string, string> = {};
  const pattern = /@default \{(.+?)\}\s*\*\/\s*(\w+)\?:/g;
  for (const [, value, field] of read("../src/options.ts").matchAll(pattern)) {
    found[field!] = value!;
  }
  return found;
}

/** The README's options table (in its Options section): option name (without `backoff.`) to the Default cell. */
function readmeDefaults(): Record<string, string> {
  const found: Record<string, string> = {};
  const readme = read("../README.md");
  const section = readme.slice(readme.indexOf("\n## Options"), readme.indexOf("\n## Events"));
  for (const line of section.split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const option = /^`(?:backoff\.)?(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (option && cells.length >= 5 && cells[3]!.startsWith("`")) {
      found[option] = cells[3]!.slice(1, -1);
    }
  }
  return found;
}

/** The edges of the README's lifecycle diagram, as `from --> to`. */
function diagramEdges(): string[] {
  const readme = read("../README.md");
  const section = readme.slice(readme.indexOf("\n## Lifecycle of a service"));
  const diagram = section.slice(section.indexOf("```mermaid"), section.indexOf("```\n", 12));
  return [...diagram.matchAll(/^\s+(\S+) --> (\S+):/gm)].map(([, from, to]) => `${from} --> ${to}`);
}

/**
 * The README's code blocks that show a file, each introduced by a
 * `<!-- file: path -->` line: the path, and the block's code.
 */
function shownFiles(): [path: string, code: string][] {
  const pattern = /^<!-- file: (\S+) -->\n\n```[^\n]*\n([\s\S]*?)^```$/gm;
  return [...read("../README.md").matchAll(pattern)].map(([, path, code]) => [path!, code!]);
}

/** The example tests of `examples/testing/`, each of which the README shows and CI runs. */
function testingExamples(): string[] {
  return readdirSync(new URL("../examples/testing/", import.meta.url))
    .filter((name) => /[._]test\.m?[jt]s$/.test(name))
    .map((name) => `examples/testing/${name}`)
    .sort();
}

describe("Documentation", () => {
  it("shows the quick start and each testing example exactly as its file is", () => {
    const shown = shownFiles();
    assert.deepEqual(
      shown.map(([path]) => path).sort(),
      ["examples/quick_start.ts", ...testingExamples()].sort(),
    );
    for (const [path, code] of shown) {
      assert.equal(code, read(`../${path}`), `the README's copy of ${path}`);
    }
    // The quick start is the README's first code block.
    const readme = read("../README.md");
    assert.ok(
      readme.indexOf("<!-- file: examples/quick_start.ts -->") < readme.indexOf("```"),
      "the quick start comes first",
    );
  });

  it("runs each testing example in CI, with its runner", () => {
    const guides = read("../scripts/_guides.ts");
    const examples = testingExamples();
    assert.ok(examples.length >= 5, `${examples.length} examples`);
    for (const path of examples) {
      const name = path.slice("examples/testing/".length);
      assert.ok(guides.includes(`"${name}"`), `scripts/_guides.ts runs ${name}`);
    }
  });

  it("draws exactly the transitions the lifecycle table makes", () => {
    const drawn = new Set(diagramEdges());
    // add() creates a service; the table decides everything after that.
    const made = new Set([...tableEdges(), "[*] --> stopped"]);
    assert.ok(drawn.size > 10, `${drawn.size} edges found in the README's diagram`);
    assert.deepEqual(
      { missingFromDiagram: [...made].filter((e) => !drawn.has(e)).sort() },
      { missingFromDiagram: [] },
    );
    assert.deepEqual(
      { notInTable: [...drawn].filter((e) => !made.has(e)).sort() },
      { notInTable: [] },
    );
  });

  it("documents the real defaults with @default, once per option", () => {
    const documented = documentedDefaults();
    for (const [field, value] of Object.entries(_DEFAULTS)) {
      assert.equal(documented[field], written(value), `@default of ${field}`);
    }
    assert.equal(documented.resetAfter, "2 × backoff.maxDelay");
    assert.equal(documented.random, "Math.random");
    assert.deepEqual(
      Object.keys(documented).sort(),
      [...Object.keys(_DEFAULTS), "backoff", "random", "resetAfter"].sort(),
    );
  });

  it("lists the real defaults in the README's options table", () => {
    const table = readmeDefaults();
    for (const [field, value] of Object.entries(_DEFAULTS)) {
      assert.equal(table[field], written(value), `README default of ${field}`);
    }
    assert.equal(table.resetAfter, "2 × maxDelay");
    assert.equal(table.random, "Math.random");
  });
});
