// Field descriptions are free text written by model authors (URLs, back-ticks,
// `<|special|>` tokens, sometimes HTML). They are rendered as Markdown and then
// sanitised, because the schema comes from the network and must not run script.
//
// A part of the form's code loaded on demand (marked and DOMPurify are 69 of the form's
// 98 KB): the form asks the kernel for it, like a view's bundle (shared/loader.ts), the
// first time a description is more than plain text (form/describe.ts).
import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: true, async: false });

// A private DOMPurify instance: hooks added here must not change other widgets' sanitising.
const purify = DOMPurify(window);
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    // Links open outside the notebook and cannot reach back into it.
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const ALLOWED_TAGS = [
  "a",
  "p",
  "br",
  "em",
  "strong",
  "code",
  "pre",
  "ul",
  "ol",
  "li",
  "blockquote",
  "del",
  "hr",
];

/** Markdown to sanitised HTML. `<|token|>`-style text stays visible as text. */
export function renderMarkdown(text: string): string {
  // Marked passes anything that looks like an HTML tag through untouched; DOMPurify would
  // then delete model tokens such as `<|endoftext|>` or `<image>` instead of showing them.
  // Escaping `<` outside code spans keeps them as text; real HTML in descriptions is rare
  // and showing it as text is the safe reading.
  const escaped = text
    .split(/(`+[^`]*`+)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, "&lt;")))
    .join("");
  const html = marked.parse(escaped) as string;
  return purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ["href", "title", "target", "rel"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  });
}

export default { renderMarkdown };
