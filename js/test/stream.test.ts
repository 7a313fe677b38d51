import { describe, expect, it } from "vitest";
import { cutPoint, grows, HARD_SEGMENT, PROBE, SEGMENT, StreamedText } from "../src/panel/stream";

describe("streamed text", () => {
  it("keeps a long stream in blocks that end at newlines, and the text exact", () => {
    const view = new StreamedText("rw-text");
    let value = "";
    const line = `${"word ".repeat(15)}\n`; // 76 characters a line
    for (let i = 0; i < 2000; i++) {
      value += line.slice(0, 40);
      view.update(value);
      value += line.slice(40);
      view.update(value);
    }
    expect(view.root.textContent).toBe(value);
    // About SEGMENT characters a block, each one text node; every block but the
    // last ends with a newline, so block boundaries are line ends.
    const blocks = Array.from(view.root.children);
    expect(blocks.length).toBeGreaterThan(value.length / (SEGMENT + 100));
    expect(blocks.length).toBeLessThanOrEqual(Math.ceil(value.length / SEGMENT) + 1);
    for (const block of blocks) expect(block.childNodes.length).toBe(1);
    for (const block of blocks.slice(0, -1)) expect(block.textContent?.endsWith("\n")).toBe(true);
    expect(view.root.dataset.length).toBe(String(value.length));
  });

  it("cuts one huge line at the hard limit, and starts over on a new value", () => {
    const view = new StreamedText("rw-text");
    const huge = "x".repeat(HARD_SEGMENT * 2 + 10);
    view.update(huge);
    expect(view.root.textContent).toBe(huge);
    expect(view.blocks).toBe(3);
    view.update("another run");
    expect(view.root.textContent).toBe("another run");
    expect(view.blocks).toBe(1);
    view.update("");
    expect(view.root.hidden).toBe(true);
  });

  it("ends the blocks of one huge line of words between words", () => {
    const view = new StreamedText("rw-text");
    const words = "elegant fowl ".repeat(Math.ceil((HARD_SEGMENT * 2.5) / 13));
    view.update(words);
    expect(view.root.textContent).toBe(words);
    const blocks = Array.from(view.root.children);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks.slice(0, -1)) expect(block.textContent?.endsWith(" ")).toBe(true);
  });

  it("decides where a block ends", () => {
    expect(cutPoint(0, "short")).toBe(5);
    expect(cutPoint(SEGMENT - 2, "ab\ncd")).toBe(3);
    expect(cutPoint(SEGMENT, "no newline")).toBe(10);
    expect(cutPoint(HARD_SEGMENT - 3, "abcdef")).toBe(3);
    // a huge line is cut after a space, not inside a word
    expect(cutPoint(HARD_SEGMENT - 6, "ab cdefgh")).toBe(3);
    expect(cutPoint(HARD_SEGMENT - 6, "ab cd efgh")).toBe(6);
  });
});

describe("telling an append from a new text", () => {
  it("appends what grew and re-renders a text that was replaced at either end", () => {
    const old = `${"a".repeat(PROBE)}${"m".repeat(1000)}${"z".repeat(PROBE)}`;
    expect(grows(old, `${old}more`)).toBe(true);
    expect(grows(old, old)).toBe(true);
    expect(grows(old, old.slice(0, -1))).toBe(false); // shortened
    expect(grows(old, `b${old.slice(1)}more`)).toBe(false); // another start
    expect(grows(old, `${old.slice(0, -1)}y more`)).toBe(false); // where it ended
    // Short texts are compared whole.
    expect(grows("hello", "hello world")).toBe(true);
    expect(grows("hello", "jello world")).toBe(false);
    expect(grows("abc", "axc and more")).toBe(false);
  });

  it("shows exactly the new text after a replacement of the same or greater length", () => {
    const view = new StreamedText("rw-text");
    const first = `${"line one\n".repeat(3000)}end of run one`;
    view.update(first);
    const second = `another start ${first}`;
    view.update(second);
    expect(view.root.textContent).toBe(second);
    const third = `${second.slice(0, -3)}XYZ and an append`;
    view.update(third);
    expect(view.root.textContent).toBe(third);
    view.update(`${third}!`);
    expect(view.root.textContent).toBe(`${third}!`);
  });
});
