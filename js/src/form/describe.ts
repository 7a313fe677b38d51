// A field's description: plain text at once; Markdown once the markdown part is there.
//
// Most descriptions are a plain sentence, which Markdown would only wrap in a <p>: that
// is drawn here, without marked and DOMPurify. A description with anything Markdown or
// HTML could read (back-ticks, brackets, emphasis, links, list or heading marks, more
// than one line) is shown as text first and replaced by its rendering when the part
// (parts/markdown.ts) has come from the kernel.

export interface MarkdownPart {
  renderMarkdown(text: string): string;
}

// Letters, digits, spaces and punctuation that mean nothing to Markdown here, no URL
// (GFM links bare URLs), no list, quote or heading mark at the start.
const PLAIN = /^[\p{L}\p{N} ,.;:'"()?!%/$=+-]*$/u;
const MARKS = /^\s*(?:[-+=]|\d+[.)])|:\/\/|www\./i;

export function isPlain(text: string): boolean {
  return PLAIN.test(text) && !MARKS.test(text);
}

/** Show `text` in `el`: as text, then rendered if it needs `load()`'s Markdown part. */
export function describe(el: HTMLElement, text: string, load: () => Promise<MarkdownPart>): void {
  const p = document.createElement("p");
  p.textContent = text;
  el.replaceChildren(p);
  if (isPlain(text)) return;
  load().then(
    (part) => {
      el.innerHTML = part.renderMarkdown(text);
    },
    () => {}, // no part (no kernel): the text stays, unrendered but readable
  );
}
