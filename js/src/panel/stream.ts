// Streamed text output: a bounded box whose cost per flush does not grow with the text.
//
// Text arrives as appends up to 20 times a second. One text node in one block would be
// laid out whole at every append (10 ms at 100 KB, a frame's budget near 0.5 MB); one
// node per append would make thousands of nodes. Instead the text lives in blocks of
// about SEGMENT characters, each one text node grown with `appendData`; only the last
// block changes, and the blocks scrolled out of the box skip layout and paint
// (`content-visibility: auto`, see panel.css). A block ends after a newline, where the
// block boundary is also where the line ends, so the text reads as one.

/** Characters after which a block ends at the next newline. */
export const SEGMENT = 8 * 1024;
/** Characters after which a block ends even without a newline (one huge line). */
export const HARD_SEGMENT = 64 * 1024;

export class StreamedText {
  readonly root: HTMLElement;
  private shown = "";
  private last: Text | null = null;
  private stick = true;

  constructor(className: string) {
    this.root = document.createElement("div");
    this.root.className = className;
    this.root.tabIndex = 0; // scrollable by keyboard
    this.root.setAttribute("role", "region");
    this.root.setAttribute("aria-label", "Text output");
    this.root.addEventListener("scroll", () => {
      // Within a few pixels of the bottom counts as "following" the stream.
      const box = this.root;
      this.stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    });
  }

  /** Show `value`: appended when it extends what is shown, else replaced. */
  update(value: string): void {
    this.root.hidden = value === "";
    if (this.shown && grows(this.shown, value)) {
      this.append(value.slice(this.shown.length));
    } else {
      this.root.replaceChildren();
      this.last = null;
      this.stick = true;
      this.append(value);
    }
    this.shown = value;
    this.root.dataset.length = String(value.length);
    if (this.stick) this.root.scrollTop = this.root.scrollHeight;
  }

  /** The number of blocks the text is kept in (for tests and benchmarks). */
  get blocks(): number {
    return this.root.childElementCount;
  }

  private append(chunk: string): void {
    while (chunk) {
      const node = this.last ?? this.newBlock();
      const cut = cutPoint(node.length, chunk);
      node.appendData(chunk.slice(0, cut));
      chunk = chunk.slice(cut);
      const full = node.length >= SEGMENT && node.data.charCodeAt(node.length - 1) === 10;
      if (chunk || full || node.length >= HARD_SEGMENT) this.last = null;
    }
  }

  private newBlock(): Text {
    const block = document.createElement("div");
    block.className = "rw-text-block";
    const node = document.createTextNode("");
    block.append(node);
    this.root.append(block);
    this.last = node;
    return node;
  }
}

/** Characters compared at each end of the shown text to tell an append from a new text. */
export const PROBE = 64;

/**
 * Whether `value` is `shown` with text appended, in a time that does not grow with the
 * text. A prediction's text only grows between flushes, so a full `startsWith` (O(n):
 * 2.4 ms a flush at 1 MB) is wasted. A new text (the panel clears its text to "" for a
 * new run) is shorter, or differs at its start or where the old text ended, and only
 * those ends are compared. A text that differs from the old one only in its middle
 * would be taken for an append; short texts (up to 2 * PROBE) are compared whole.
 */
export function grows(shown: string, value: string): boolean {
  const n = shown.length;
  if (value.length < n) return false;
  const head = Math.min(PROBE, n);
  const tail = Math.max(head, n - PROBE);
  return value.startsWith(shown.slice(0, head)) && value.startsWith(shown.slice(tail), tail);
}

/** How much of `chunk` goes into a block that holds `size` characters already. */
export function cutPoint(size: number, chunk: string): number {
  if (size + chunk.length <= SEGMENT) return chunk.length;
  const newline = chunk.indexOf("\n", Math.max(0, SEGMENT - size - 1));
  if (newline >= 0 && size + newline + 1 <= HARD_SEGMENT) return newline + 1;
  if (size + chunk.length <= HARD_SEGMENT) return chunk.length;
  // One huge line: cut after its last space that fits, so no word is split in two
  // blocks (a block starts a new line); only a word longer than the room is cut.
  const room = Math.max(1, HARD_SEGMENT - size);
  const space = chunk.slice(0, room).search(/\s\S*$/);
  return space >= 0 ? space + 1 : room;
}
