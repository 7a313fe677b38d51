// Live logs: ANSI colours rendered (ansi_up escapes HTML), follows the end unless the
// person scrolled up, bounded by the kernel with a button that fetches everything.
import { AnsiUp } from "ansi_up";
import { el, formatBytes } from "./types";

// tqdm redraws its bar with a bare carriage return; show each redraw as its own line.
const BARE_CR = /\r(?!\n)/g;
// A whole OSC 8 hyperlink (ESC ]8;params;URL ST text ESC ]8;; ST, ST being BEL or
// ESC \), and a lone opening one. Built from strings: control characters in regex
// literals are easy to misread.
const ESC = "\u001b";
const BEL = "\u0007";
const ST = `(?:${BEL}|${ESC}\\\\)`;
const OPEN = `${ESC}\\]8;[^;${BEL}${ESC}]*;([^${BEL}${ESC}]*)${ST}`;
const OSC8_LINK = new RegExp(`${OPEN}([^${ESC}]*)${ESC}\\]8;;${ST}`, "g");
const OSC8_OPEN = new RegExp(OPEN, "g");
const WEB = /^https?:\/\//i;

/** Unwrap hyperlinks that will not be links: ansi_up would drop them with their text. */
function unwrapOtherLinks(text: string): string {
  return text
    .replace(OSC8_LINK, (whole: string, url: string, label: string) =>
      WEB.test(url) ? whole : label,
    )
    .replace(OSC8_OPEN, (whole: string, url: string) => (url === "" || WEB.test(url) ? whole : ""));
}

/**
 * Logs as DOM nodes: ansi_up's colours, nothing else a model could write.
 *
 * ansi_up turns OSC 8 hyperlinks (`ESC ]8;;URL ESC \ TEXT ESC ]8;; ESC \`) into bare
 * `<a href>` whose text can say anything: a log line could show "docs" and point
 * elsewhere, opening in the notebook's tab with `window.opener` set. Links are rebuilt
 * here: only http(s), the URL itself is what is shown and clicked, in a new tab with
 * `rel="noopener noreferrer"`; the text the model gave stays beside it as text. The
 * HTML is parsed in an inert `<template>` and only ansi_up's spans are kept, so even a
 * bug in ansi_up could not run a handler.
 */
export function renderLogs(ansi: AnsiUp, text: string): DocumentFragment {
  const template = document.createElement("template");
  template.innerHTML = ansi.ansi_to_html(unwrapOtherLinks(text.replace(BARE_CR, "\n")));
  for (const node of [...template.content.querySelectorAll("*")]) {
    if (node instanceof HTMLAnchorElement) node.replaceWith(...logLink(node));
    else if (node.tagName !== "SPAN") node.replaceWith(node.textContent ?? "");
    else
      for (const attr of [...node.attributes])
        if (attr.name !== "style" && attr.name !== "class") node.removeAttribute(attr.name);
  }
  return template.content;
}

function logLink(anchor: HTMLAnchorElement): (Node | string)[] {
  const label = anchor.textContent ?? "";
  let url: URL;
  try {
    url = new URL(anchor.getAttribute("href") ?? "");
  } catch {
    return [label];
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return [label];
  const link = el("a", "rw-log-link", url.href);
  link.href = url.href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  const same = label === url.href || label === anchor.getAttribute("href");
  return same ? [link] : [`${label} (`, link, ")"];
}

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
      this.pre.replaceChildren(renderLogs(this.ansi, logs));
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
    this.pre.replaceChildren(renderLogs(this.ansi, text));
    this.pre.dataset.full = "true";
    this.more.hidden = true;
    this.follow();
  }

  private append(delta: string): void {
    if (!delta) return;
    const span = document.createElement("span");
    span.append(renderLogs(this.ansi, delta));
    this.pre.append(span);
  }

  private follow(): void {
    if (this.stick) this.pre.scrollTop = this.pre.scrollHeight;
  }

  get text(): string {
    return this.pre.textContent ?? "";
  }
}
