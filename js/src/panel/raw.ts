// The finished prediction's JSON (as replicate.com shows it) and a Copy output button.
// The kernel sends the JSON with secrets masked and long data: URIs cut; it is shown
// as text only.
import { copyText } from "../shared/clipboard";
import { el } from "./types";

const TEXT_KINDS = new Set(["text", "text-stream"]);

/**
 * What Copy output puts on the clipboard: the text of a text output, the URL of a
 * file (one per line for several), any other value as JSON; null when there is none.
 */
export function outputText(
  raw: Record<string, unknown> | null | undefined,
  kind: string,
  text: string,
): string | null {
  if (TEXT_KINDS.has(kind) && text) return text;
  const output = raw?.output;
  if (output === null || output === undefined) return null;
  if (typeof output === "string") return output;
  if (Array.isArray(output) && output.length > 0 && output.every((v) => typeof v === "string")) {
    return TEXT_KINDS.has(kind) ? output.join("") : output.join("\n");
  }
  return JSON.stringify(output, null, 2);
}

export class RawView {
  /** Copy output, for the panel's footer. */
  readonly copy = el("button", "rw-button rw-copy-output", "Copy output");
  /** The JSON, folded until opened. */
  readonly json = el("details", "rw-raw");
  private readonly pre = el("pre", "rw-raw-json");
  private raw: Record<string, unknown> | null = null;
  private drawn = false;

  /**
   * @param current What to copy now (see `outputText`) and the element showing it,
   *   selected for Ctrl+C when the browser refuses to copy.
   */
  constructor(current: () => { text: string | null; shown: HTMLElement | null }) {
    this.copy.type = "button";
    this.copy.title = "Copy the output to the clipboard";
    this.json.append(el("summary", "rw-raw-summary", "JSON"), this.pre);
    this.json.addEventListener("toggle", () => this.draw());
    this.copy.addEventListener("click", async () => {
      const { text, shown } = current();
      if (text === null) return;
      const copied = await copyText(text, shown);
      this.copy.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
    });
  }

  update(raw: Record<string, unknown> | null | undefined, hasOutput: boolean): void {
    this.raw = raw && Object.keys(raw).length > 0 ? raw : null;
    this.json.hidden = this.raw === null;
    this.copy.hidden = this.raw === null || !hasOutput;
    this.copy.textContent = "Copy output";
    this.drawn = false;
    if (this.raw === null) this.json.open = false;
    this.draw();
  }

  /** The JSON text is built when the fold is opened: a big output costs nothing folded. */
  private draw(): void {
    if (!this.json.open || this.drawn) return;
    this.pre.textContent = this.raw === null ? "" : JSON.stringify(this.raw, null, 2);
    this.drawn = true;
  }
}
