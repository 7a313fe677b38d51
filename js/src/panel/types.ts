// The panel's synced traits, as the kernel writes them (replicate_widgets/_widgets/panel/panel.py).

export interface Phase {
  status: string;
  /** Seconds the phase lasted, or had lasted when the kernel sent it (open phases). */
  seconds: number;
  /** True while the phase is still going: the view keeps counting locally. */
  open: boolean;
}

export type Binary = DataView | ArrayBuffer | Uint8Array;

export interface MediaEntry {
  key: string;
  kind: "image" | "audio" | "video" | "text" | "file" | "pending" | "missing" | "remote";
  mime?: string;
  name: string;
  size?: number;
  /** The bytes, when the kernel sent them with the list (a finished run) or once asked. */
  data: Binary | null;
  /** What the kernel calls these bytes: a view without them asks by this id. */
  id?: string | null;
  width?: number;
  height?: number;
  original_width?: number;
  original_height?: number;
  original_mime?: string;
  inline?: boolean;
  reason?: string;
}

export interface PanelModel {
  prediction_id: string;
  model: string;
  status: string;
  timeline: Phase[];
  metrics: Record<string, unknown>;
  logs: string;
  logs_dropped: number;
  progress: { fraction?: number; current?: number; total?: number };
  output_kind: string;
  text: string;
  media: MediaEntry[];
  value: unknown;
  embedding: Record<string, unknown>;
  error: string;
  problem: string;
  cancel_state: string;
  /** The finished prediction's JSON (secrets masked), or `{}` before it ended. */
  raw: Record<string, unknown> | null;
  booting: boolean;
}

/** The part of anywidget's model the panel uses (typed loosely for the fake in tests). */
export interface Model {
  get<K extends keyof PanelModel>(key: K): PanelModel[K];
  on(name: string, handler: (...args: never[]) => void): void;
  off(name: string, handler: (...args: never[]) => void): void;
  send(content: Record<string, unknown>, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  widget_manager?: unknown;
}

export function needsResolving(entries: MediaEntry[]): boolean {
  return entries.some((e) => typeof e.data === "string");
}

export const TERMINAL = new Set(["succeeded", "failed", "canceled", "aborted"]);

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A lowercase RFC 6838 type/subtype: the rule of clean_mime in replicate_widgets/_client/sniff.py,
// which every type the kernel sends has passed. Checked again here because a type ends
// up in Blobs whose object URLs run on the notebook's origin.
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** `mime` when it is a valid `type/subtype`, else `application/octet-stream`. */
export function safeMime(mime: unknown): string {
  return typeof mime === "string" && MIME.test(mime) ? mime : "application/octet-stream";
}

/** Bytes from a buffer as anywidget delivers it (a DataView) or as tests build it. */
export function toBytes(data: Binary | null | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m ${Math.round(s - m * 60)}s`;
}
