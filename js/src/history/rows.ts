// History's table: one row per run from the kernel's plain JSON, thumbnails from
// bytes. A row is drawn again only when its JSON changed; a thumbnail only when its
// bytes did, so a thumbnail arriving does not redraw the other rows.
import { h, setMarkup } from "../shared/compose";
import { button } from "../shared/controls";

/** One row as the kernel sends it (`_history_rows.row_data`). */
export interface RowData {
  id: string;
  status: string;
  /** Markup built by the kernel's HTML builder (it escaped what came from outside). */
  info_html: string;
  open: boolean;
  open_tip: string;
  can_tweak: boolean;
  tweak_tip: string;
  can_cancel: boolean;
}

/** A thumbnail as the kernel sends it: bytes (a binary buffer) and their type. */
export interface ThumbData {
  data: DataView | ArrayBuffer | Uint8Array | null;
  mime: string;
}

export type RowAction = "open" | "tweak" | "cancel";

const IMAGE_MIME = /^image\/(png|jpeg|gif|webp)$/;

function bytesOf(data: ThumbData["data"]): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A cheap fingerprint of a thumbnail's bytes: the same picture keeps its URL. */
function fingerprint(bytes: Uint8Array, mime: string): string {
  let hash = 0;
  for (let i = 0; i < bytes.length; i++) hash = (hash * 31 + bytes[i]) | 0;
  return `${mime}:${bytes.length}:${hash}`;
}

/** Only letters, digits and dashes go into a class name. */
export function statusClass(status: string): string {
  return `rw-status-${status.replace(/[^a-z0-9-]/gi, "") || "unknown"}`;
}

interface DrawnRow {
  key: string;
  el: HTMLElement;
  thumb: HTMLElement;
}

export class RowTable {
  readonly el: HTMLElement;
  private readonly head = h(
    "div",
    { className: "rw-history-head" },
    h("span", { className: "rw-history-thumb-cell" }),
    h(
      "div",
      { className: "rw-history-cells" },
      Object.assign(h("b", { className: "rw-history-cell-status" }), { textContent: "Status" }),
      Object.assign(h("b", { className: "rw-history-cell-model" }), { textContent: "Model" }),
      Object.assign(h("b", { className: "rw-history-cell-created" }), {
        textContent: "Created",
      }),
    ),
    // The buttons' room, unseen, so the titles stand over their columns.
    h(
      "div",
      { className: "rw-history-actions", "aria-hidden": "true" },
      button("Open"),
      button("Tweak"),
      button("Cancel", { className: "rw-history-cancel-room" }),
    ),
  );
  private readonly empty = Object.assign(h("i", { className: "rw-history-empty" }), {
    textContent: "No predictions yet.",
  });
  private drawn = new Map<string, DrawnRow>();
  private readonly urls = new Map<string, { print: string; url: string }>();

  constructor(private readonly act: (action: RowAction, id: string) => void) {
    this.el = h("div", { className: "rw-history-table" }, this.head, this.empty);
  }

  /** Show `rows` in this order; `detail` goes right under the row of `opened`. */
  draw(
    rows: readonly RowData[],
    thumbs: Readonly<Record<string, ThumbData>>,
    opened: string,
    detail: HTMLElement,
  ): void {
    const next = new Map<string, DrawnRow>();
    for (const row of rows) {
      const key = JSON.stringify(row);
      const old = this.drawn.get(row.id);
      const drawn = old && old.key === key ? old : this.row(row, key);
      next.set(row.id, drawn);
      this.showThumb(drawn, thumbs[row.id]);
    }
    const order: HTMLElement[] = [this.head];
    for (const [id, drawn] of next) {
      order.push(drawn.el);
      if (id === opened) order.push(detail);
    }
    if (next.size === 0) order.push(this.empty);
    // Appending a node that is already there moves it: reused rows keep their state.
    const keep = new Set(order);
    for (const child of Array.from(this.el.children)) {
      if (!keep.has(child as HTMLElement)) child.remove();
    }
    for (const node of order) this.el.append(node);
    this.drawn = next;
    // Columns only for what some row on the page has: no empty thumbnail column for
    // text-only runs, no Cancel room when nothing runs.
    const has = (id: string) => bytesOf(thumbs[id]?.data ?? null).byteLength > 0;
    this.el.classList.toggle("rw-history-no-thumbs", !rows.some((r) => has(r.id)));
    this.el.classList.toggle("rw-history-none-running", !rows.some((r) => r.can_cancel));
    this.dropUrls(new Set(Object.keys(thumbs)));
  }

  /** Let go of every thumbnail's object URL. */
  dispose(): void {
    this.dropUrls(new Set());
  }

  private row(row: RowData, key: string): DrawnRow {
    const thumb = h("div", { className: "rw-history-thumb-cell" });
    const info = h("div", { className: "rw-history-info" });
    setMarkup(info, row.info_html);
    const open = button(row.open ? "Hide" : "Open", {
      className: "rw-history-open",
      title: row.open_tip,
      onClick: () => this.act("open", row.id),
    });
    open.setAttribute("aria-expanded", String(row.open));
    const tweak = button("Tweak", {
      className: "rw-history-tweak",
      title: row.tweak_tip,
      onClick: () => this.act("tweak", row.id),
    });
    tweak.disabled = !row.can_tweak;
    // One Cancel per thing: only a run that can still be stopped has one; a finished
    // run keeps the room (unseen) so its Open and Tweak stay under the running rows'.
    const cancel = row.can_cancel
      ? button("Cancel", {
          className: "rw-history-cancel",
          title: "Ask the backend to cancel this run",
          onClick: () => this.act("cancel", row.id),
        })
      : Object.assign(h("span", { className: "rw-history-cancel-room", "aria-hidden": "true" }), {
          textContent: "Cancel",
        });
    const classes = ["rw-history-row", statusClass(row.status)];
    if (row.open) classes.push("rw-history-row-open");
    const el = h(
      "div",
      { className: classes.join(" "), "data-id": row.id },
      thumb,
      info,
      h("div", { className: "rw-history-actions" }, open, tweak, cancel),
    );
    return { key, el, thumb };
  }

  private showThumb(drawn: DrawnRow, thumb: ThumbData | undefined): void {
    const id = drawn.el.dataset.id ?? "";
    const bytes = bytesOf(thumb?.data ?? null);
    const mime = thumb && IMAGE_MIME.test(thumb.mime) ? thumb.mime : "";
    if (!mime || bytes.byteLength === 0) {
      drawn.thumb.replaceChildren();
      return;
    }
    const print = fingerprint(bytes, mime);
    let cached = this.urls.get(id);
    if (cached?.print !== print) {
      if (cached) URL.revokeObjectURL(cached.url);
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));
      cached = { print, url };
      this.urls.set(id, cached);
    }
    const img = drawn.thumb.querySelector("img");
    if (img?.getAttribute("src") === cached.url) return;
    drawn.thumb.replaceChildren(
      h("img", { className: "rw-history-thumb", src: cached.url, alt: "" }),
    );
  }

  private dropUrls(keep: Set<string>): void {
    for (const [id, { url }] of this.urls) {
      if (!keep.has(id)) {
        URL.revokeObjectURL(url);
        this.urls.delete(id);
      }
    }
  }
}
