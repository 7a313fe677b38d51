// Output files' display bytes, asked of the kernel by id (replicate_widgets/_widgets/panel/output_files.py).
//
// The panel's `media` list names each file's bytes by an id; a view asks for the ids it
// has not got and the kernel answers each with one custom message carrying the bytes
// as a binary buffer. The bytes are kept per model, so a second view of the same panel
// (or a redraw) does not ask again; ids no longer listed are dropped.
import type { Binary, MediaEntry, Model } from "./types";

interface Waiter {
  resolve(data: Binary | null): void;
}

class MediaCache {
  private readonly bytes = new Map<string, Binary>();
  private readonly waiting = new Map<string, Waiter[]>();
  private asking: string[] = [];

  constructor(private readonly model: Model) {
    model.on("msg:custom", ((content: Record<string, unknown>, buffers: Binary[] = []) => {
      if (content?.kind !== "media" || typeof content.id !== "string") return;
      const data = content.missing ? null : (buffers[0] ?? null);
      if (data) this.bytes.set(content.id, data);
      const waiters = this.waiting.get(content.id) ?? [];
      this.waiting.delete(content.id);
      for (const waiter of waiters) waiter.resolve(data);
    }) as never);
  }

  get(id: string): Promise<Binary | null> {
    const known = this.bytes.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const waiters = this.waiting.get(id);
      if (waiters) {
        waiters.push({ resolve });
        return;
      }
      this.waiting.set(id, [{ resolve }]);
      // One request for every id asked in the same turn (a list of images at once).
      if (this.asking.length === 0) queueMicrotask(() => this.ask());
      this.asking.push(id);
    });
  }

  keepOnly(ids: Set<string>): void {
    for (const id of this.bytes.keys()) if (!ids.has(id)) this.bytes.delete(id);
  }

  remember(id: string, data: Binary): void {
    this.bytes.set(id, data);
  }

  private ask(): void {
    const ids = this.asking;
    this.asking = [];
    try {
      this.model.send({ kind: "media", ids });
    } catch {
      // No kernel (it died, or the comm closed): the files stay "pending".
    }
  }
}

const caches = new WeakMap<Model, MediaCache>();

function cacheOf(model: Model): MediaCache {
  let cache = caches.get(model);
  if (!cache) {
    cache = new MediaCache(model);
    caches.set(model, cache);
  }
  return cache;
}

const missing = (e: MediaEntry): e is MediaEntry & { id: string } =>
  !e.data && typeof e.id === "string";

/** Whether some entries' bytes are still to be asked of the kernel. */
export function needsResolving(entries: MediaEntry[]): boolean {
  return entries.some(missing);
}

/** The entries with their bytes, asked of the kernel where not already here. */
export async function resolveMedia(model: Model, entries: MediaEntry[]): Promise<MediaEntry[]> {
  const cache = cacheOf(model);
  cache.keepOnly(
    new Set(entries.map((e) => e.id).filter((id): id is string => typeof id === "string")),
  );
  for (const entry of entries) if (entry.id && entry.data) cache.remember(entry.id, entry.data);
  return Promise.all(
    entries.map(async (entry) =>
      missing(entry) ? { ...entry, data: await cache.get(entry.id) } : entry,
    ),
  );
}
