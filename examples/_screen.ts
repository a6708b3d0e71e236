/**
 * The demo's screen as pure functions of what it shows and the terminal's
 * size, so that every frame fits whatever the terminal: no line longer than
 * the width, no more lines than the height. A line that wraps, or a frame
 * taller than the terminal, scrolls it, and the next redraw, which moves the
 * cursor back up by the lines it drew, leaves a stale copy behind.
 *
 * @module
 */

/** The terminal's size in character cells. */
export interface Size {
  readonly columns: number;
  readonly rows: number;
}

/** What a frame shows, top to bottom; lines may carry SGR colour codes. */
export interface View {
  /** The first line, always shown. */
  readonly title: string;
  /** The health URL line, dropped first when the rows run short. */
  readonly health: string;
  /** The status table: its header, then one line per service. */
  readonly table: readonly string[];
  /** The heading of the recent events. */
  readonly eventsHeading: string;
  /** The recent events, oldest first: the newest that fit are shown. */
  readonly events: readonly string[];
}

/** The size assumed when the terminal does not tell (or says 0). */
export const FALLBACK_SIZE: Size = { columns: 80, rows: 24 };

const ESC = 0x1b;

/** The SGR sequence (`ESC [ … m`) at `i`, or undefined. */
function sgrAt(text: string, i: number): string | undefined {
  if (text.charCodeAt(i) !== ESC || text[i + 1] !== "[") return undefined;
  let j = i + 2;
  while (j < text.length && /[0-9;]/.test(text[j]!)) j++;
  return text[j] === "m" ? text.slice(i, j + 1) : undefined;
}

/** Columns a code point takes: 0 for combining marks, 2 for wide (CJK, emoji), else 1. */
function columnsOf(code: number): number {
  if ((code >= 0x0300 && code <= 0x036f) || (code >= 0x200b && code <= 0x200f)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f680 && code <= 0x1f6ff) ||
    (code >= 0x1f900 && code <= 0x1f9ff) || (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Whether a code point is a control character (C0, DEL, C1) or a line or paragraph separator. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/**
 * `text` cut to at most `columns` terminal columns. SGR colour sequences
 * pass through without counting (a reset is added when a coloured line is
 * cut); any other control character, a line break or a stray escape among
 * them, shows as `?`, so one line is always one row.
 */
export function cut(text: string, columns: number): string {
  let out = "";
  let used = 0;
  let colored = false;
  for (let i = 0; i < text.length;) {
    const sgr = sgrAt(text, i);
    if (sgr) {
      out += sgr;
      colored = true;
      i += sgr.length;
      continue;
    }
    const code = text.codePointAt(i)!;
    const char = isControl(code) ? "?" : String.fromCodePoint(code);
    const width = isControl(code) ? 1 : columnsOf(code);
    if (used + width > columns) {
      return colored ? `${out}\x1b[0m` : out;
    }
    out += char;
    used += width;
    i += code > 0xffff ? 2 : 1;
  }
  return out;
}

/** The columns `text` takes on a terminal, its SGR sequences not counted. */
export function visibleWidth(text: string): number {
  let used = 0;
  for (let i = 0; i < text.length;) {
    const sgr = sgrAt(text, i);
    if (sgr) {
      i += sgr.length;
      continue;
    }
    const code = text.codePointAt(i)!;
    used += isControl(code) ? 1 : columnsOf(code);
    i += code > 0xffff ? 2 : 1;
  }
  return used;
}

/** A usable size: a missing, zero or non-finite dimension is the fallback's. */
export function usableSize(size: Partial<Size> | undefined): Size {
  const ok = (n: number | undefined) => typeof n === "number" && Number.isFinite(n) && n >= 1;
  return {
    columns: ok(size?.columns) ? Math.floor(size!.columns!) : FALLBACK_SIZE.columns,
    rows: ok(size?.rows) ? Math.floor(size!.rows!) : FALLBACK_SIZE.rows,
  };
}

/**
 * The lines of one frame for a terminal of `size`: at most `size.rows`
 * lines, each at most `size.columns - 1` columns wide (the last column is
 * left free: a character written there leaves some terminals about to wrap).
 * When rows run short, the recent events go first (the newest stay), then
 * the blank line and the health line; the table is cut at the bottom only
 * when even the title and the table do not fit.
 */
export function frame(view: View, size: Size): string[] {
  const width = Math.max(0, size.columns - 1);
  const rows = Math.max(0, size.rows);
  const top = [view.title, view.health, "", ...view.table];
  let lines: string[];
  const room = rows - top.length - 2; // a blank line and the heading, then the events
  if (room >= 1 && view.events.length > 0) {
    lines = [...top, "", view.eventsHeading, ...view.events.slice(-room)];
  } else if (top.length <= rows) {
    lines = top;
  } else {
    lines = [view.title, ...view.table].slice(0, rows);
  }
  return lines.map((line) => cut(line, width));
}

/**
 * What to write to replace the last frame, `previous` lines tall, by
 * `lines`, without scrolling: back to the first line of the last frame,
 * each line written over the old one and cleared to its end, then the rest
 * of the screen below cleared. The cursor stays at the end of the last line,
 * so a frame as tall as the terminal does not scroll it. The screen is never
 * cleared from its top-left corner, which tmux (`scroll-on-clear`) would
 * push into its history each time. After a resize the terminal may have
 * rewrapped or scrolled the last frame, so the frame is drawn from the top
 * of the screen instead.
 */
export function redraw(previous: number, lines: readonly string[], resized: boolean): string {
  const start = resized ? "\x1b[H" : `\r${previous > 1 ? `\x1b[${previous - 1}A` : ""}`;
  return `${start}${lines.map((line) => `${line}\x1b[K`).join("\n")}\x1b[J`;
}
