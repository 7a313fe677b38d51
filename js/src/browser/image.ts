// A PNG the kernel sent as bytes, shown through a blob: URL (never a backend URL).

type Binary = DataView | ArrayBuffer | Uint8Array;

function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof DataView) {
    return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }
  return null;
}

/**
 * A place for PNG bytes from a trait: it holds an <img> (with `className`) while
 * there are bytes and nothing otherwise. `set` replaces them, `dispose` frees the
 * blob: URL.
 */
export class BytesImage {
  readonly el: HTMLElement;
  private img: HTMLImageElement | null = null;
  private url = "";
  private data: unknown = null;

  constructor(private readonly className: string) {
    this.el = document.createElement("span");
    this.el.className = "rw-image-place";
    this.el.hidden = true;
  }

  /** Whether an image is shown. */
  get shown(): boolean {
    return this.img !== null;
  }

  set(data: unknown): void {
    if (data === this.data) return;
    this.data = data;
    this.dispose();
    const bytes = toBytes(data as Binary);
    if (!bytes || bytes.byteLength === 0) {
      this.img?.remove();
      this.img = null;
      this.el.hidden = true;
      return;
    }
    // Copy: the buffer may be a view into a larger message.
    this.url = URL.createObjectURL(new Blob([bytes.slice()], { type: "image/png" }));
    if (!this.img) {
      this.img = document.createElement("img");
      this.img.className = this.className;
      this.img.alt = "";
      this.el.append(this.img);
    }
    this.img.src = this.url;
    this.el.hidden = false;
  }

  dispose(): void {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = "";
  }
}
