// Object and JSON outputs as a collapsible tree; files inside are drawn as media.
// Every string goes in through textContent: model output never becomes HTML.
import { type MediaActions, mediaElement, type UrlCache } from "./media";
import { el, type MediaEntry } from "./types";

const MARK = "__media__";

function isMediaRef(v: unknown): v is { [MARK]: string } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && MARK in v;
}

export function renderValue(
  value: unknown,
  media: Map<string, MediaEntry>,
  urls: UrlCache,
  actions: MediaActions,
  depth = 0,
): HTMLElement {
  if (isMediaRef(value)) {
    const entry = media.get(value[MARK]);
    return entry
      ? mediaElement(entry, urls, actions)
      : el("span", "rw-media-pending", "Fetching output file…");
  }
  if (Array.isArray(value) || (typeof value === "object" && value !== null)) {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value as Record<string, unknown>);
    const details = el("details", "rw-tree");
    details.open = depth < 2;
    const kind = Array.isArray(value) ? `list of ${entries.length}` : `${entries.length} keys`;
    details.append(el("summary", "rw-tree-summary", kind));
    const list = el("ul", "rw-tree-items");
    for (const [key, v] of entries) {
      const li = el("li", "rw-tree-item");
      li.append(
        el("span", "rw-tree-key", `${key}: `),
        renderValue(v, media, urls, actions, depth + 1),
      );
      list.append(li);
    }
    details.append(list);
    return details;
  }
  const type = value === null ? "null" : typeof value;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const span = el("span", `rw-scalar rw-scalar-${type}`, text);
  if (typeof value === "string" && value.includes("\n")) span.classList.add("rw-multiline");
  return span;
}

export function renderEmbedding(summary: Record<string, unknown>): HTMLElement {
  const box = el("div", "rw-embedding");
  const shape = Array.isArray(summary.shape) ? (summary.shape as number[]).join(" × ") : "?";
  const fmt = (k: string) =>
    typeof summary[k] === "number" ? `${k} ${(summary[k] as number).toPrecision(4)}` : "";
  box.append(el("div", "rw-embedding-shape", `Embedding: ${shape}`));
  box.append(
    el(
      "div",
      "rw-embedding-stats",
      ["min", "max", "mean", "norm"].map(fmt).filter(Boolean).join(" · "),
    ),
  );
  if (Array.isArray(summary.preview)) {
    box.append(
      el("code", "rw-embedding-preview", `[${(summary.preview as number[]).join(", ")}, …]`),
    );
  }
  return box;
}
