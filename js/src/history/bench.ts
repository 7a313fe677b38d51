// The Playgrounds Tweak opened below History's table: each in a frame with the line
// saying why it is there and a Close button. They are parts (the `playgrounds` list),
// mounted with anywidget's host; a frame whose Playground is still listed is kept.
import { type Host, h, mountPart } from "../shared/compose";
import { button } from "../shared/controls";

interface Frame {
  el: HTMLElement;
  note: HTMLElement;
  stop: AbortController;
}

export class Bench {
  readonly el = h("div", { className: "rw-history-playgrounds" });
  private frames = new Map<string, Frame>();

  constructor(
    private readonly host: Host | undefined,
    private readonly signal: AbortSignal,
    private readonly close: (ref: string) => void,
  ) {
    signal.addEventListener("abort", () => {
      for (const frame of this.frames.values()) frame.stop.abort();
      this.frames.clear();
    });
  }

  /** Show the Playgrounds `refs` in this order, each with its note. */
  draw(refs: readonly string[], notes: readonly string[]): void {
    const next = new Map<string, Frame>();
    refs.forEach((ref, i) => {
      const frame = this.frames.get(ref) ?? this.frame(ref);
      frame.note.textContent = notes[i] ?? "";
      next.set(ref, frame);
    });
    for (const [ref, frame] of this.frames) {
      if (!next.has(ref)) {
        frame.stop.abort();
        frame.el.remove();
      }
    }
    for (const frame of next.values()) this.el.append(frame.el);
    this.frames = next;
  }

  private frame(ref: string): Frame {
    const note = h("span", { className: "rw-history-playground-note" });
    const closer = button("Close", {
      className: "rw-history-playground-close",
      title: "Close this Playground",
      onClick: () => this.close(ref),
    });
    const place = h("div", { className: "rw-part rw-history-playground-part" });
    const el = h(
      "div",
      { className: "rw-history-playground" },
      h("div", { className: "rw-history-playground-head" }, note, closer),
      place,
    );
    const stop = new AbortController();
    this.signal.addEventListener("abort", () => stop.abort(), { once: true });
    void mountPart(this.host, ref, place, stop.signal);
    return { el, note, stop };
  }
}
