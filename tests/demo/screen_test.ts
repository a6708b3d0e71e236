// The demo's screen (examples/_screen.ts) as pure functions: every frame
// fits the terminal, and redrawing it in place never scrolls, checked on a
// small model of a terminal.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cut, frame, redraw, type Size, usableSize, type View } from "../../examples/_screen.ts";

const paint = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/** A frame of the demo as it looks after a few restarts, colours included. */
function demoView(events: number): View {
  return {
    title: paint("1", "janus supervisor demo · seed 1 · supervisor 'demo' is running"),
    health: "health: http://127.0.0.1:8080  →  /healthz /readyz /metrics   ·   Ctrl-C stops",
    table: [
      paint("1", "SERVICE        STATE        RUN  RESTARTS  NEXT RESTART  UP FOR  LAST ERROR"),
      `cache-warmup   ${paint("2", "completed  ")}  1    0`,
      `heartbeat      ${paint("32", "running    ")}  1    0                       12.0 s`,
      `feeds          ${paint("32", "running    ")}  1    0                       12.0 s`,
      `feeds/binance  ${paint("33", "backing_off")}  4    3         1.2 s                 ${
        paint("31", "Error: connection reset by peer")
      }`,
      `feeds/parser   ${paint("33", "backing_off")}  4    3         1.2 s`,
    ],
    eventsHeading: paint("2", "recent events:"),
    events: Array.from(
      { length: events },
      (_, i) => paint("2", `08:40:0${i}.000 restart     feeds/binance run #${i + 2} in 437 ms`),
    ),
  };
}

// deno-lint-ignore no-control-regex
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");
/** A line as the model terminal shows it: no colours, no trailing blanks. */
const shown = (text: string) => plain(text).trimEnd();

/**
 * A terminal `columns` × `rows` as xterm behaves: a character in the last
 * column leaves the cursor there until the next one wraps; a line feed on
 * the last row scrolls. It understands what `redraw` writes (CR, LF, CUU,
 * CUP home, EL, ED, SGR) and fails on anything else.
 */
class Terminal {
  readonly screen: string[][];
  row: number;
  col = 0;
  scrolls = 0;
  #pendingWrap = false;

  constructor(readonly columns: number, readonly rows: number, startRow = 0) {
    this.screen = Array.from({ length: rows }, () => Array(columns).fill(" "));
    this.row = startRow;
  }

  #lineFeed(): void {
    this.#pendingWrap = false;
    if (this.row < this.rows - 1) {
      this.row++;
      return;
    }
    this.scrolls++;
    this.screen.shift();
    this.screen.push(Array(this.columns).fill(" "));
  }

  write(text: string): void {
    for (let i = 0; i < text.length;) {
      // deno-lint-ignore no-control-regex
      const csi = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(text.slice(i));
      if (csi) {
        const n = Number(csi[1] || "1");
        const op = csi[2];
        if (op === "A") this.row = Math.max(0, this.row - n);
        else if (op === "H") [this.row, this.col] = [0, 0];
        else if (op === "K") this.screen[this.row]!.fill(" ", this.col);
        else if (op === "J") {
          this.screen[this.row]!.fill(" ", this.col);
          for (let r = this.row + 1; r < this.rows; r++) this.screen[r]!.fill(" ");
        } else if (op !== "m") throw new Error(`unexpected sequence ${JSON.stringify(csi[0])}`);
        if (op !== "m") this.#pendingWrap = false;
        i += csi[0].length;
        continue;
      }
      const char = String.fromCodePoint(text.codePointAt(i)!);
      i += char.length;
      if (char === "\r") {
        this.col = 0;
        this.#pendingWrap = false;
      } else if (char === "\n") {
        this.#lineFeed(); // a tty's ONLCR makes it CR LF
        this.col = 0;
      } else if (char.charCodeAt(0) < 0x20 || char === "\x7f") {
        throw new Error(`unexpected control character ${JSON.stringify(char)}`);
      } else {
        if (this.#pendingWrap) {
          this.#lineFeed();
          this.col = 0;
        }
        this.screen[this.row]![this.col] = char;
        if (this.col === this.columns - 1) this.#pendingWrap = true;
        else this.col++;
      }
    }
  }

  /** The rows of the screen from `from`, trailing blanks cut. */
  text(from = 0): string[] {
    return this.screen.slice(from).map((cells) => cells.join("").trimEnd());
  }
}

const SIZES: Size[] = [];
for (const columns of [1, 2, 10, 30, 45, 65, 66, 80, 120]) {
  for (const rows of [1, 2, 5, 9, 10, 12, 14, 24, 40]) SIZES.push({ columns, rows });
}

describe("demo screen", () => {
  it("cut: keeps colours without counting them, resets a coloured line it cuts", () => {
    assert.equal(cut("abcdef", 4), "abcd");
    assert.equal(cut("abc", 4), "abc");
    assert.equal(cut("abc", 0), "");
    assert.equal(cut(paint("31", "abcdef"), 3), "\x1b[31mabc\x1b[0m");
    assert.equal(cut(paint("31", "ab"), 3), "\x1b[31mab\x1b[0m");
    assert.equal(cut(`x${paint("1", "")}yz`, 2), "x\x1b[1m\x1b[0my\x1b[0m");
  });

  it("cut: shows control characters as ?, so one line stays one row", () => {
    assert.equal(cut("a\nb\r\tc\x1b[2Jd\x1b]0;title\x07", 40), "a?b??c?[2Jd?]0;title?");
    assert.equal(cut("line\u2028break\x85", 40), "line?break?");
  });

  it("cut: counts wide characters as two columns and never splits one", () => {
    assert.equal(cut("数据源", 5), "数据");
    assert.equal(cut("a数据", 4), "a数");
    assert.equal(cut("🚀 launch", 4), "🚀 l");
    assert.equal(cut("🚀", 1), "");
    assert.equal(cut("e\u0301e\u0301e", 2), "e\u0301e\u0301");
  });

  it("usableSize: the 80 × 24 fallback for a size the terminal does not give", () => {
    assert.deepEqual(usableSize({ columns: 50, rows: 14 }), { columns: 50, rows: 14 });
    assert.deepEqual(usableSize({ columns: 0, rows: 0 }), { columns: 80, rows: 24 });
    assert.deepEqual(usableSize({ columns: 50 }), { columns: 50, rows: 24 });
    assert.deepEqual(usableSize({ columns: NaN, rows: Infinity }), { columns: 80, rows: 24 });
    assert.deepEqual(usableSize(undefined), { columns: 80, rows: 24 });
  });

  it("frame: never wider than the terminal but its last column, never taller than it", () => {
    for (const size of SIZES) {
      for (const events of [0, 1, 8]) {
        const lines = frame(demoView(events), size);
        assert.ok(lines.length <= size.rows, `${lines.length} lines for ${JSON.stringify(size)}`);
        for (const line of lines) {
          // Every character of the demo's frame is one column wide.
          const width = [...plain(line)].length;
          assert.ok(width <= size.columns - 1, `${width} columns in ${JSON.stringify(size)}`);
          assert.doesNotMatch(line, /[\n\r]/);
        }
      }
    }
  });

  it("frame: the events give way first, then the health line; the table is cut last", () => {
    const view = demoView(8);
    const at = (columns: number, rows: number) => frame(view, { columns, rows }).map(plain);
    // 80 × 24: everything, the 8 events included.
    const full = at(80, 24);
    assert.equal(full.length, 3 + 6 + 2 + 8);
    assert.equal(full[0], "janus supervisor demo · seed 1 · supervisor 'demo' is running");
    assert.equal(full[9], "");
    assert.equal(full[10], "recent events:");
    assert.equal(full.at(-1), "08:40:07.000 restart     feeds/binance run #9 in 437 ms");
    // 14 rows: the 3 newest events.
    assert.deepEqual(at(80, 14).slice(11), full.slice(-3));
    // 11 rows: no room for one event, the rest as it is.
    assert.deepEqual(at(80, 11), full.slice(0, 9));
    assert.deepEqual(at(80, 9), full.slice(0, 9));
    // 8 rows: the title, then as much of the table as fits.
    assert.deepEqual(at(80, 8), [full[0], ...full.slice(3, 9)].slice(0, 8));
    assert.deepEqual(at(80, 5), [full[0], ...full.slice(3, 7)]);
    assert.deepEqual(at(80, 1), [full[0]]);
    assert.deepEqual(at(80, 0), []);
    // 40 columns: the same lines, cut to 39.
    assert.deepEqual(at(40, 24), full.map((line) => line.slice(0, 39)));
  });

  it("redraw: back up to the last frame's first line, over-write each line, clear below", () => {
    assert.equal(redraw(0, ["a", "b"], false), "\ra\x1b[K\nb\x1b[K\x1b[J");
    assert.equal(redraw(1, ["a"], false), "\ra\x1b[K\x1b[J");
    assert.equal(redraw(3, ["a", "b"], false), "\r\x1b[2Aa\x1b[K\nb\x1b[K\x1b[J");
    assert.equal(redraw(3, [], false), "\r\x1b[2A\x1b[J");
    assert.equal(redraw(5, ["a"], true), "\x1b[Ha\x1b[K\x1b[J");
  });

  it("redraws in place on a model terminal: no scroll, no stale line, at any size", () => {
    for (const size of SIZES) {
      for (const startRow of [0, Math.floor(size.rows / 2), size.rows - 1]) {
        const terminal = new Terminal(size.columns, size.rows, startRow);
        let drawn = 0;
        let scrolledByFirst = 0;
        // The frame grows with the events, and shrinks when the rows are fewer.
        for (const events of [0, 1, 2, 5, 8, 8, 3, 0]) {
          const lines = frame(demoView(events), size);
          terminal.write(redraw(drawn, lines, false));
          if (drawn === 0) scrolledByFirst = terminal.scrolls;
          const top = terminal.row - Math.max(0, lines.length - 1);
          assert.deepEqual(
            terminal.text(top),
            [...lines.map(shown), ...Array(size.rows - top - lines.length).fill("")],
            `the screen at ${JSON.stringify(size)} from row ${startRow}, ${events} events`,
          );
          drawn = lines.length;
        }
        // Only the frame's first drawing and its growth may scroll: never a redraw of the same height.
        const scrolls = terminal.scrolls - scrolledByFirst;
        const growth = Math.max(
          0,
          frame(demoView(8), size).length - frame(demoView(0), size).length,
        );
        assert.ok(scrolls <= growth, `${scrolls} scrolls at ${JSON.stringify(size)}`);
      }
    }
  });

  it("redraws a frame as tall as the terminal, again and again, without scrolling", () => {
    for (const size of SIZES) {
      const terminal = new Terminal(size.columns, size.rows);
      const lines = frame(demoView(8), { columns: size.columns, rows: size.rows });
      let drawn = 0;
      for (let i = 0; i < 5; i++) {
        terminal.write(redraw(drawn, lines, false));
        drawn = lines.length;
      }
      assert.equal(terminal.scrolls, 0, JSON.stringify(size));
      assert.deepEqual(terminal.text().slice(0, lines.length), lines.map(shown));
    }
  });

  it("after a resize, draws the frame from the top of the screen over whatever is there", () => {
    const terminal = new Terminal(40, 10, 7);
    terminal.write("x".repeat(40 * 2)); // what a terminal's rewrap left behind
    const lines = frame(demoView(8), { columns: 40, rows: 10 });
    terminal.write(redraw(19, lines, true));
    assert.deepEqual(terminal.text(), [
      ...lines.map(shown),
      ...Array(10 - lines.length).fill(""),
    ]);
  });
});
