// Live logs: ANSI colours rendered (ansi_up escapes HTML), follows the end unless the
// person scrolled up, bounded by the kernel with a button that fetches everything.
import { AnsiUp } from "ansi_up";
import { el, formatBytes } from "./types";

// tqdm redraws its bar with a bare carriage return; show each redraw as its own line.
const BARE_CR = /\r(?!\n)/g;

export class LogsView {
  readonly root = el("div", "rw-logs-box");
  readonly pre = el("pre", "rw-logs");
  readonly more = el("button", "rw-logs-more");
  private shown = "";
  private ansi = new AnsiUp();
  private stick = true;
  private full = false;

  constructor(requestAll: () => void) {
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", () => {
      this.more.disabled = true;
      this.more.textContent = "Loading all logs…";
      requestAll();
    });
    this.pre.addEventListener("scroll", () => {
      // Within a few pixels of the bottom counts as "following".
      this.stick = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 8;
    });
    this.root.append(this.more, this.pre);
    this.root.hidden = true;
  }

  update(logs: string, dropped: number): void {
    logs = logs ?? "";
    this.root.hidden = logs.length === 0 && !this.full;
    if (this.full) {
      // New logs after "Show all": back to the live tail (the button offers it again).
      this.full = false;
      this.shown = "";
      delete this.pre.dataset.full;
    }
    if (logs.startsWith(this.shown) && this.shown.length > 0) {
      this.append(logs.slice(this.shown.length));
    } else {
      this.ansi = new AnsiUp();
      this.pre.innerHTML = this.ansi.ansi_to_html(logs.replace(BARE_CR, "\n"));
    }
    this.shown = logs;
    this.more.hidden = dropped <= 0;
    this.more.disabled = false;
    this.more.textContent = `Show all logs (${formatBytes(dropped)} earlier)`;
    this.follow();
  }

  /** The kernel's answer to "Show all": the complete logs. */
  showAll(text: string): void {
    this.full = true;
    this.ansi = new AnsiUp();
    this.pre.innerHTML = this.ansi.ansi_to_html(text.replace(BARE_CR, "\n"));
    this.pre.dataset.full = "true";
    this.more.hidden = true;
    this.follow();
  }

  private append(delta: string): void {
    if (!delta) return;
    const span = document.createElement("span");
    span.innerHTML = this.ansi.ansi_to_html(delta.replace(BARE_CR, "\n"));
    this.pre.append(span);
  }

  private follow(): void {
    if (this.stick) this.pre.scrollTop = this.pre.scrollHeight;
  }

  get text(): string {
    return this.pre.textContent ?? "";
  }
}
