// File inputs: pick a file, drop one, or paste a URL. Picked bytes go to the kernel
// at once (as a binary buffer); the form's value becomes a small marker. Images get a
// thumbnail straight from the local file, with no round trip to the kernel.
import { type Control, type ControlContext, type FileMarker, isFileMarker, UNSET } from "./types";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Does `file` match an `accept` list like "image/*,.png"? Browsers only hint with it. */
export function accepts(accept: string | null, file: { name: string; type: string }): boolean {
  if (!accept) return true;
  const name = file.name.toLowerCase();
  const type = file.type.toLowerCase();
  return accept
    .split(",")
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== "")
    .some((a) =>
      a.startsWith(".")
        ? name.endsWith(a)
        : a.endsWith("/*")
          ? type.startsWith(a.slice(0, -1))
          : type === a,
    );
}

export function fileControl(ctx: ControlContext): Control {
  const { field } = ctx;
  const wrap = document.createElement("div");
  wrap.className = "rw-form-file";

  const row = document.createElement("div");
  row.className = "rw-form-file-row";
  // The native file input says "No file chosen" even after a drop or a paste, so it
  // stays hidden behind a button; the info line below says what the kernel holds.
  const picker = document.createElement("input");
  picker.type = "file";
  picker.className = "rw-form-file-picker";
  picker.hidden = true;
  picker.tabIndex = -1;
  if (field.accept) picker.accept = field.accept;
  picker.setAttribute("aria-label", `${field.title}: choose a file`);
  const choose = document.createElement("button");
  choose.type = "button";
  choose.className = "rw-form-button rw-form-file-choose";
  choose.textContent = "Choose file…";
  choose.setAttribute("aria-label", `Choose a file for ${field.title}`);
  choose.addEventListener("click", () => picker.click());
  const url = document.createElement("input");
  url.type = "text";
  url.id = ctx.id;
  url.className = "rw-form-input rw-form-file-url";
  url.placeholder = field.accept
    ? `or paste a URL, or drop a file here (${field.accept})`
    : "or paste a URL, or drop a file here";
  url.setAttribute("aria-describedby", ctx.describedBy);
  const clear = document.createElement("button");
  clear.type = "button";
  clear.className = "rw-form-button rw-form-file-clear";
  clear.textContent = "Clear";
  clear.setAttribute("aria-label", `Clear ${field.title}`);
  row.append(picker, choose, url, clear);

  const info = document.createElement("div");
  info.className = "rw-form-file-info";
  info.setAttribute("aria-live", "polite");
  const thumb = document.createElement("img");
  thumb.className = "rw-form-thumb";
  thumb.alt = `${field.title} preview`;
  thumb.hidden = true;
  wrap.append(row, info, thumb);

  let objectUrl: string | null = null;
  let localFor: string | null = null; // marker id the object URL belongs to
  const dropThumb = () => {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    localFor = null;
    thumb.hidden = true;
    thumb.removeAttribute("src");
  };

  const take = async (file: File) => {
    if (!accepts(field.accept, file)) {
      ctx.localError(
        `${file.name} is not an accepted type (${field.accept}). Choose another file.`,
      );
      return;
    }
    const limit = ctx.maxUploadBytes();
    if (file.size > limit) {
      ctx.localError(
        `${file.name} is ${formatBytes(file.size)}; the browser can send at most ${formatBytes(limit)}. ` +
          "Paste a URL instead, or set it from Python: form.set(name=pathlib.Path(...)).",
      );
      return;
    }
    ctx.localError(null);
    info.textContent = `Sending ${file.name}…`;
    let marker: FileMarker;
    try {
      marker = await ctx.upload(file);
    } catch (err) {
      info.textContent = "";
      ctx.localError(`Could not read ${file.name} (${String(err)}). Choose it again.`);
      return;
    }
    dropThumb();
    if (file.type.startsWith("image/")) {
      objectUrl = URL.createObjectURL(file);
      localFor = marker.__file__;
      thumb.src = objectUrl;
      thumb.hidden = false;
    }
    show(marker);
    ctx.commit(marker);
  };

  const show = (value: unknown) => {
    if (isFileMarker(value)) {
      url.value = "";
      const m = value;
      info.textContent = `${m.name} (${formatBytes(m.size)}${m.type ? `, ${m.type}` : ""}) is in the kernel`;
      if (localFor !== m.__file__) dropThumb();
    } else {
      dropThumb();
      info.textContent = "";
      url.value = typeof value === "string" ? value : "";
    }
  };

  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    if (file) void take(file);
    picker.value = ""; // picking the same file again must fire change again
  });
  url.addEventListener("input", () => {
    ctx.localError(null);
    dropThumb();
    info.textContent = "";
    ctx.commit(url.value.trim() === "" ? UNSET : url.value.trim());
  });
  clear.addEventListener("click", () => {
    show(UNSET);
    ctx.localError(null);
    ctx.commit(UNSET);
  });
  wrap.addEventListener("dragover", (e) => {
    e.preventDefault();
    wrap.classList.add("rw-form-drop");
  });
  wrap.addEventListener("dragleave", () => wrap.classList.remove("rw-form-drop"));
  wrap.addEventListener("drop", (e) => {
    e.preventDefault();
    wrap.classList.remove("rw-form-drop");
    const file = e.dataTransfer?.files?.[0];
    if (file) void take(file);
    else {
      const text =
        e.dataTransfer?.getData("text/uri-list") || e.dataTransfer?.getData("text/plain");
      if (text) {
        url.value = text.trim();
        url.dispatchEvent(new Event("input"));
      }
    }
  });
  url.addEventListener("paste", (e) => {
    // Pasting an image (a screenshot) uploads it, like dropping it.
    const file = e.clipboardData?.files?.[0];
    if (file) {
      e.preventDefault();
      void take(file);
    }
  });

  return {
    el: wrap,
    set: show,
    destroy: dropThumb,
  };
}
