// Output files: images (gallery, click to enlarge), audio and video players, download
// links. Bytes arrive as binary buffers and are shown through object URLs, which are
// revoked as soon as the entry they belong to is replaced or the view goes away.
import { el, formatBytes, type MediaEntry, safeMime, toBytes } from "./types";

interface Held {
  url: string;
  data: unknown;
  id: string | null;
}

/** Object URLs for media entries, created once per entry and revoked on replacement. */
export class UrlCache {
  private held = new Map<string, Held>();
  readonly revoked: string[] = [];

  constructor(
    private readonly create: (blob: Blob) => string = (b) => URL.createObjectURL(b),
    private readonly revoke: (url: string) => void = (u) => URL.revokeObjectURL(u),
  ) {}

  url(entry: MediaEntry): string | null {
    const bytes = toBytes(entry.data);
    if (bytes.byteLength === 0) return null;
    const held = this.held.get(entry.key);
    // The same bytes, sent again with the finished run's list, keep their URL.
    if (held && (held.data === entry.data || (entry.id && held.id === entry.id))) return held.url;
    if (held) this.drop(entry.key);
    const url = this.create(new Blob([bytes as BlobPart], { type: safeMime(entry.mime) }));
    this.held.set(entry.key, { url, data: entry.data, id: entry.id ?? null });
    return url;
  }

  /** Revoke the URLs of entries that are gone. */
  keepOnly(keys: Set<string>): void {
    for (const key of [...this.held.keys()]) if (!keys.has(key)) this.drop(key);
  }

  clear(): void {
    for (const key of [...this.held.keys()]) this.drop(key);
  }

  get size(): number {
    return this.held.size;
  }

  private drop(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    this.revoke(held.url);
    this.revoked.push(held.url);
    this.held.delete(key);
  }
}

export interface MediaActions {
  download(key: string): void;
  enlarge(entry: MediaEntry, url: string): void;
}

/** One element for one media entry (used by the gallery and inside object trees). */
export function mediaElement(
  entry: MediaEntry,
  urls: UrlCache,
  actions: MediaActions,
): HTMLElement {
  const box = el("figure", `rw-media rw-media-${entry.kind}`);
  box.dataset.key = entry.key;
  const url = urls.url(entry);
  if (entry.kind === "pending") {
    box.append(el("span", "rw-media-pending", "Fetching output file…"));
    return box;
  }
  if (entry.kind === "missing") {
    box.append(
      el("span", "rw-media-missing", `Could not fetch ${entry.name}: ${entry.reason ?? ""}`),
    );
    return box;
  }
  if (entry.kind === "remote") {
    // Left on the backend on purpose (trained weights): said plainly, not as a failure.
    box.append(el("span", "rw-media-remote", `${entry.name}: ${entry.reason ?? ""}`));
    return box;
  }
  if (entry.kind === "image" && url) {
    const img = el("img", "rw-image");
    img.src = url;
    img.alt = entry.name;
    img.title = "Click to enlarge";
    if (entry.width) img.width = entry.width;
    if (entry.height) img.height = entry.height;
    img.addEventListener("click", () => actions.enlarge(entry, url));
    box.append(img);
  } else if ((entry.kind === "audio" || entry.kind === "video") && url) {
    const player = el(entry.kind, `rw-${entry.kind}`);
    player.controls = true;
    // The player's own Download would name the file after the blob URL (a random
    // id, no extension): the button below saves it under the model's name.
    player.setAttribute("controlslist", "nodownload");
    player.src = url;
    box.append(player);
  } else if (entry.kind === "text" && url) {
    const pre = el("pre", "rw-file-text");
    pre.textContent = new TextDecoder().decode(toBytes(entry.data));
    box.append(pre);
  }
  const caption = el("figcaption", "rw-caption");
  const link = el("button", "rw-download", `⤓ ${entry.name}`);
  link.type = "button";
  link.title = "Download the original file";
  link.addEventListener("click", () => actions.download(entry.key));
  const size = entry.size !== undefined ? formatBytes(entry.size) : "";
  const dims =
    entry.original_width && entry.original_height
      ? `${entry.original_width}×${entry.original_height}`
      : "";
  caption.append(link, el("span", "rw-meta", [dims, size].filter(Boolean).join(" · ")));
  box.append(caption);
  return box;
}

/** The gallery of output files that are not shown inside an object tree. */
export class GalleryView {
  readonly root = el("div", "rw-gallery");
  private rendered = new Map<string, { data: unknown; node: HTMLElement; kind: string }>();

  constructor(
    private readonly urls: UrlCache,
    private readonly actions: MediaActions,
  ) {
    this.root.hidden = true;
  }

  update(entries: MediaEntry[]): void {
    const shown = (entries ?? []).filter((e) => !e.inline);
    this.root.hidden = shown.length === 0;
    this.root.dataset.count = String(shown.filter((e) => e.kind !== "pending").length);
    const next = new Map<string, { data: unknown; node: HTMLElement; kind: string }>();
    const nodes: HTMLElement[] = [];
    for (const entry of shown) {
      const old = this.rendered.get(entry.key);
      // Reuse the element when nothing changed, so a playing video keeps playing.
      const node =
        old && old.data === entry.data && old.kind === entry.kind
          ? old.node
          : mediaElement(entry, this.urls, this.actions);
      next.set(entry.key, { data: entry.data, node, kind: entry.kind });
      nodes.push(node);
    }
    this.rendered = next;
    this.root.replaceChildren(...nodes);
  }
}

/** A full-size view of one image over the panel, closed by click or Escape. */
export class Lightbox {
  readonly root = el("div", "rw-lightbox");
  private readonly img = el("img", "rw-lightbox-image");
  private readonly download = el("button", "rw-download", "⤓ Download original");
  private key = "";

  constructor(onDownload: (key: string) => void) {
    this.root.hidden = true;
    this.root.tabIndex = -1;
    this.download.type = "button";
    this.download.addEventListener("click", (ev) => {
      ev.stopPropagation();
      onDownload(this.key);
    });
    this.root.append(this.img, this.download);
    this.root.addEventListener("click", () => this.close());
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") this.close();
    });
  }

  open(entry: MediaEntry, url: string): void {
    this.key = entry.key;
    this.img.src = url;
    this.img.alt = entry.name;
    this.root.hidden = false;
    this.root.focus();
  }

  close(): void {
    this.root.hidden = true;
    this.img.removeAttribute("src");
  }
}

/** Save bytes the kernel sent as a file. */
export function saveBytes(name: string, mime: string, data: Binary): void {
  const blob = new Blob([toBytes(data) as BlobPart], { type: safeMime(mime) });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  // The download has taken its copy once click() returns; the URL is not needed.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

type Binary = MediaEntry["data"];
