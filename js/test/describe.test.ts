// Which descriptions are drawn as text without the markdown part.
import { describe, expect, it } from "vitest";
import { isPlain } from "../src/form/describe";

describe("plain descriptions", () => {
  it("takes a sentence as plain text", () => {
    for (const text of [
      "Prompt for the model.",
      "Seed (leave blank: random)",
      "Width, 256-1024 px",
      "Température",
    ])
      expect(isPlain(text), text).toBe(true);
  });

  it("leaves anything Markdown or HTML could read to the markdown part", () => {
    for (const text of [
      "Use `code` here",
      "See [docs](https://x.org)",
      "see https://example.com",
      "see www.example.com",
      "*bold* or _em_",
      "- a list",
      "1. first",
      "# heading",
      "> quote",
      "a <b>tag</b>",
      "two\nlines",
      "a & b",
      "mail me@example.com",
    ])
      expect(isPlain(text), text).toBe(false);
  });
});
