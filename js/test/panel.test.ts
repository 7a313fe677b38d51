import { afterEach, describe, expect, it, vi } from "vitest";
import panel from "../src/panel";
import { UrlCache } from "../src/panel/media";
import { outputText } from "../src/panel/raw";
import { COLD_BOOT, COLD_BOOT_AFTER, STILL_STARTING, TimelineView } from "../src/panel/timeline";
import type { MediaEntry } from "../src/panel/types";
import { NOT_CONNECTED, REMOVAL_CHECK_MS } from "../src/shared/connection";
import { fakeModel } from "./fake-model";

function panelState(extra: Record<string, unknown> = {}) {
  return {
    prediction_id: "",
    model: "",
    status: "",
    timeline: [],
    metrics: {},
    logs: "",
    logs_dropped: 0,
    progress: {},
    output_kind: "",
    text: "",
    media: [],
    value: null,
    embedding: {},
    error: "",
    problem: "",
    cancel_state: "",
    raw: {},
    ...extra,
  };
}

type Custom = (content: Record<string, unknown>, buffers?: unknown[]) => void;

function mount(
  extra: Record<string, unknown> = {},
  { parent = document.body, manager }: { parent?: HTMLElement; manager?: unknown } = {},
) {
  const model = Object.assign(fakeModel(panelState(extra)), { widget_manager: manager });
  const customs: Custom[] = [];
  const on = model.on.bind(model);
  model.on = (name: string, h: (...args: unknown[]) => void) => {
    if (name === "msg:custom") customs.push(h as Custom);
    on(name, h);
  };
  const host = document.createElement("div");
  parent.append(host);
  // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
  const cleanup = panel.render({ model: model as any, el: host } as any) as () => void;
  // Every view announces itself first (see "tells the kernel" below); tests look at
  // what follows.
  expect(model.sent.map((s) => s.content.kind)).toEqual(["view"]);
  model.sent.length = 0;
  const q = <T extends Element = HTMLElement>(s: string) => host.querySelector(s) as T;
  return {
    model,
    host,
    cleanup,
    q,
    custom: (c: Record<string, unknown>, b: unknown[] = []) => {
      for (const h of customs) h(c, b);
    },
  };
}

function png(n = 4): DataView {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, ...new Array(n).fill(n)]);
  return new DataView(bytes.buffer);
}

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

describe("panel view", () => {
  it("streams text by appending, and never turns model text into HTML", () => {
    const { model, q } = mount({ status: "processing" });
    model.kernelSet("text", "<script>window.pwned=1</script> **bold**");
    model.kernelSet(
      "text",
      "<script>window.pwned=1</script> **bold** <img src=x onerror=alert(1)>",
    );
    const text = q(".rw-text");
    expect(text.textContent).toBe(
      "<script>window.pwned=1</script> **bold** <img src=x onerror=alert(1)>",
    );
    expect(text.querySelector("script, img")).toBeNull();
    // The second update grew the same text node: one block, one node.
    expect(text.childNodes.length).toBe(1);
    expect(text.firstChild?.childNodes.length).toBe(1);
  });

  it("applies an append that came before it was initialized", () => {
    const { model } = mount({ status: "processing", text: "Once", _appends: {} });
    model.kernelSet("_appends", { seq: 1, text: { at: 4, chunk: " upon" } });
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    const stop = panel.initialize({ model: model as any });
    expect(model.get("text")).toBe("Once upon");
    expect(model.sent).toEqual([]);
    stop();
  });

  it("asks for the whole text at once when appends came before it was initialized", () => {
    const { model } = mount({ status: "processing", text: "Once", _appends: {} });
    model.kernelSet("_appends", { seq: 2, text: { at: 9, chunk: " a time" } });
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    const stop = panel.initialize({ model: model as any });
    expect(model.get("text")).toBe("Once");
    expect(model.sent.map((s) => s.content)).toEqual([{ kind: "resync", key: "text" }]);
    stop();
  });

  it("applies text and log appends once per model, asking for all on a gap", () => {
    const { model, q } = mount({ status: "processing", _appends: {} });
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    const stop = panel.initialize({ model: model as any });
    let seq = 0;
    const appends = (grown: Record<string, [number, string]>) => {
      seq += 1;
      const state: Record<string, unknown> = { seq };
      for (const [key, [at, chunk]] of Object.entries(grown)) state[key] = { at, chunk };
      model.kernelSet("_appends", state);
    };
    model.kernelSet("text", "Once");
    appends({ text: [4, " upon"], logs: [0, "step 1\n"] });
    appends({ text: [9, " a time"], logs: [7, "step 2\n"] });
    expect(model.get("text")).toBe("Once upon a time");
    expect(q(".rw-text").textContent).toBe("Once upon a time");
    expect(model.get("logs")).toBe("step 1\nstep 2\n");
    expect(q(".rw-logs").textContent).toBe("step 1\nstep 2\n");
    appends({ text: [4, " upon"] }); // already there: ignored
    expect(model.get("text")).toBe("Once upon a time");
    expect(model.sent).toEqual([]);
    appends({ text: [30, "gap"], logs: [14, "step 3\n"] }); // text missed something
    expect(model.get("text")).toBe("Once upon a time");
    expect(model.get("logs")).toBe("step 1\nstep 2\nstep 3\n");
    expect(model.sent.map((s) => s.content)).toEqual([{ kind: "resync", key: "text" }]);
    stop(); // the model is destroyed: what can be large is let go, appends ignored
    expect(model.get("text")).toBe("");
    expect(model.get("logs")).toBe("");
    appends({ text: [16, "!"] });
    expect(model.get("text")).toBe("");
  });

  it("acknowledges Cancel at once, sends one message, then reports the outcome", () => {
    const { model, q, host } = mount({ status: "processing", prediction_id: "p1" });
    const cancel = q<HTMLButtonElement>(".rw-cancel");
    expect(cancel.hidden).toBe(false);
    cancel.click();
    cancel.click();
    expect(model.sent.map((s) => s.content)).toEqual([{ kind: "cancel" }]);
    expect(cancel.disabled).toBe(true);
    expect(q(".rw-notice").textContent).toMatch(/Cancel requested/);
    expect((host.querySelector(".rw-panel") as HTMLElement).dataset.cancel).toBe("requested");
    model.kernelSet("cancel_state", "sent");
    expect(q(".rw-notice").textContent).toMatch(/Cancel sent/);
    model.kernelSet("status", "canceled");
    expect(q(".rw-notice").textContent).toMatch(/Canceled: you stopped/);
    expect(cancel.hidden).toBe(true);
  });

  it("a new prediction forgets the previous cancel request", () => {
    const { model, q } = mount({ status: "processing", prediction_id: "p1" });
    q<HTMLButtonElement>(".rw-cancel").click();
    model.kernelSet("prediction_id", "p2");
    expect(q<HTMLButtonElement>(".rw-cancel").disabled).toBe(false);
    expect(q(".rw-notice").hidden).toBe(true);
  });

  it("renders ANSI colours in logs, escapes HTML, and fetches everything on request", () => {
    const { model, q, custom } = mount({ status: "processing" });
    model.kernelSet("logs", "\x1b[31mred\x1b[0m <b>not bold</b>\n");
    const pre = q(".rw-logs");
    expect(pre.querySelector("span[style*='color']")?.textContent).toBe("red");
    expect(pre.querySelector("b")).toBeNull();
    expect(pre.textContent).toContain("<b>not bold</b>");
    model.kernelSet("logs", "\x1b[31mred\x1b[0m <b>not bold</b>\nmore\n");
    expect(pre.textContent).toContain("more");
    const more = q<HTMLButtonElement>(".rw-logs-more");
    expect(more.hidden).toBe(true);
    model.kernelSet("logs_dropped", 2048);
    expect(more.hidden).toBe(false);
    expect(more.textContent).toMatch(/2\.0 KB/);
    more.click();
    expect(model.sent.at(-1)?.content).toEqual({ kind: "full_logs" });
    custom({ kind: "full_logs" }, [new TextEncoder().encode("first line\nall of it\n").buffer]);
    expect(pre.textContent).toBe("first line\nall of it\n");
    expect(pre.dataset.full).toBe("true");
  });

  it("turns tqdm carriage returns into lines", () => {
    const { model, q } = mount();
    model.kernelSet("logs", " 10%|#  | 1/10\r 20%|## | 2/10\r");
    expect(q(".rw-logs").textContent).toBe(" 10%|#  | 1/10\n 20%|## | 2/10\n");
  });

  it("shows a progress bar from the progress trait", () => {
    const { model, q } = mount({ status: "processing" });
    expect(q(".rw-progress").hidden).toBe(true);
    model.kernelSet("progress", { fraction: 0.38, current: 19, total: 50 });
    expect(q(".rw-progress").hidden).toBe(false);
    expect(q(".rw-progress-label").textContent).toBe("19/50 (38%)");
    expect(q(".rw-progress-bar").style.width).toBe("38%");
  });

  it("shows images from binary buffers and revokes object URLs when replaced", () => {
    let n = 0;
    const created: string[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => {
      created.push(`blob:${++n}`);
      return created.at(-1)!;
    });
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    const { model, q, host, cleanup } = mount({ status: "processing" });
    const first: MediaEntry = {
      key: "m0",
      kind: "image",
      mime: "image/png",
      name: "a.png",
      size: 9,
      data: png(),
    };
    model.kernelSet("media", [first]);
    expect(q<HTMLImageElement>(".rw-gallery img").src).toBe("blob:1");
    const second: MediaEntry = {
      key: "m1",
      kind: "image",
      mime: "image/png",
      name: "b.png",
      size: 9,
      data: png(5),
    };
    model.kernelSet("media", [first, second]); // same first entry: its URL is reused
    expect(created).toEqual(["blob:1", "blob:2"]);
    expect(host.querySelectorAll(".rw-gallery img").length).toBe(2);
    model.kernelSet("media", [{ ...first, data: png(6) }]); // replaced bytes, m1 gone
    expect(revoke.mock.calls.map((c) => c[0]).sort()).toEqual(["blob:1", "blob:2"]);
    cleanup();
    expect(revoke).toHaveBeenCalledWith("blob:3");
  });

  it("asks the kernel once for the bytes of the files it has not got", async () => {
    vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:ref");
    const { model, host, custom } = mount();
    const entry = (key: string, id: string, data: MediaEntry["data"] = null): MediaEntry => ({
      key,
      kind: "image",
      mime: "image/jpeg",
      name: `${key}.jpg`,
      size: 9,
      id,
      data,
    });
    model.kernelSet("media", [entry("m0", "m0.0"), entry("m1", "m1.1")]);
    await vi.waitFor(() => expect(model.sent.length).toBe(1));
    // One request for both ids, asked in the same turn.
    expect(model.sent[0]?.content).toEqual({ kind: "media", ids: ["m0.0", "m1.1"] });
    custom({ kind: "media", id: "m0.0" }, [png(7)]);
    custom({ kind: "media", id: "m1.1", missing: true });
    await vi.waitFor(() => expect(host.querySelectorAll(".rw-gallery img").length).toBe(1));
    expect(host.querySelector<HTMLImageElement>(".rw-gallery img")!.src).toBe("blob:ref");
    // The same bytes listed again (one more image streamed in) are not asked again.
    model.kernelSet("media", [entry("m0", "m0.0"), entry("m2", "m2.2")]);
    await vi.waitFor(() => expect(model.sent.length).toBe(2));
    expect(model.sent[1]?.content).toEqual({ kind: "media", ids: ["m2.2"] });
    custom({ kind: "media", id: "m2.2" }, [png(8)]);
    await vi.waitFor(() => expect(host.querySelectorAll(".rw-gallery img").length).toBe(2));
    // The finished run's list carries the bytes itself: nothing is asked, URLs stay.
    const created = vi.mocked(URL.createObjectURL).mock.calls.length;
    model.kernelSet("media", [entry("m0", "m0.0", png(7)), entry("m2", "m2.2", png(8))]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(model.sent.length).toBe(2);
    expect(vi.mocked(URL.createObjectURL).mock.calls.length).toBe(created);
  });

  it("enlarges an image on click and asks the kernel for the original on download", () => {
    vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:x");
    const { model, q } = mount();
    model.kernelSet("media", [
      { key: "m0", kind: "image", mime: "image/jpeg", name: "a.png", size: 9, data: png() },
    ]);
    q<HTMLImageElement>(".rw-gallery img").click();
    expect(q(".rw-lightbox").hidden).toBe(false);
    q<HTMLButtonElement>(".rw-lightbox .rw-download").click();
    expect(model.sent.at(-1)?.content).toEqual({ kind: "download", key: "m0" });
    q(".rw-lightbox").click();
    expect(q(".rw-lightbox").hidden).toBe(true);
  });

  it("plays audio and video, links other files, marks pending ones", () => {
    vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:x");
    const { model, host } = mount();
    model.kernelSet("media", [
      {
        key: "a",
        kind: "audio",
        mime: "audio/wav",
        name: "a.wav",
        size: 3,
        data: new Uint8Array([1, 2, 3]),
      },
      {
        key: "v",
        kind: "video",
        mime: "video/mp4",
        name: "v.mp4",
        size: 3,
        data: new Uint8Array([1, 2, 3]),
      },
      {
        key: "f",
        kind: "file",
        mime: "application/zip",
        name: "w.zip",
        size: 3_000_000,
        data: new Uint8Array(),
      },
      { key: "p", kind: "pending", name: "", data: new Uint8Array() },
    ]);
    expect(host.querySelector("audio")?.getAttribute("src")).toBe("blob:x");
    expect(host.querySelector("video")?.controls).toBe(true);
    expect(host.querySelector(".rw-media-file .rw-download")?.textContent).toContain("w.zip");
    expect(host.querySelector(".rw-media-file .rw-meta")?.textContent).toBe("2.9 MB");
    expect(host.querySelector(".rw-media-pending")).not.toBeNull();
  });

  it("draws objects as a tree with files inside as media", () => {
    vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:x");
    const { model, host } = mount();
    const entry = {
      key: "m0",
      kind: "image",
      mime: "image/png",
      name: "mask.png",
      size: 9,
      data: png(),
      inline: true,
    };
    model.kernelSet("media", [entry]);
    model.kernelSet("value", {
      caption: "<i>a cat</i>",
      mask: { __media__: "m0" },
      scores: [1, 2],
    });
    const tree = host.querySelector(".rw-value") as HTMLElement;
    expect(tree.querySelector(".rw-scalar-string")?.textContent).toBe("<i>a cat</i>");
    expect(tree.querySelector("i")).toBeNull();
    expect(tree.querySelector("img")?.getAttribute("src")).toBe("blob:x");
    expect(host.querySelector(".rw-gallery")?.querySelector("img")).toBeNull(); // not twice
  });

  it("summarises embeddings and shows the model's error, its last log lines once", () => {
    const { model, q } = mount();
    model.kernelSet("embedding", {
      shape: [1, 768],
      min: -1,
      max: 1,
      mean: 0,
      norm: 1,
      preview: [0.1, 0.2],
    });
    expect(q(".rw-embedding").textContent).toContain("1 × 768");
    const logs = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n");
    model.kernelSet("logs", logs);
    model.kernelSet("error", "CUDA out of memory");
    expect(q(".rw-error-message").textContent).toBe("CUDA out of memory");
    expect(q(".rw-error").textContent).not.toContain("line 29");
    expect(q(".rw-error-hint").textContent).toContain("last log lines are below");
    const shown = q(".rw-panel").textContent!;
    expect(shown.split("line 29").length - 1).toBe(1); // in the logs, not repeated
    expect(q(".rw-logs").textContent).toContain("line 29");
  });

  it("shows kernel-side problems and final metrics", () => {
    const { model, q } = mount();
    model.kernelSet("problem", "Could not follow the prediction: 404");
    expect(q(".rw-problem").textContent).toContain("404");
    model.kernelSet("metrics", { predict_time: 1.5, total_time: 2.25 });
    expect(q(".rw-metrics").hidden).toBe(true); // not until it ended
    model.kernelSet("status", "succeeded");
    expect(q(".rw-metrics").textContent).toBe("predict time: 1.5s · total time: 2.3s");
  });
});

describe("without a kernel", () => {
  const running = {
    prediction_id: "p1",
    status: "starting",
    timeline: [{ status: "starting", seconds: 40, open: true }],
  };

  afterEach(() => {
    vi.useRealTimers();
    document.body.replaceChildren();
  });

  it("says so at once in a reopened notebook, instead of a live Cancel and a count", () => {
    vi.useFakeTimers();
    const parent = document.createElement("div");
    document.body.append(parent);
    // ipywidgets marks the view's element of a model whose comm is not live.
    const host = document.createElement("div");
    host.className = "jupyter-widgets-disconnected";
    parent.append(host);
    const model = fakeModel(panelState(running));
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    panel.render({ model: model as any, el: host } as any);
    const q = (sel: string) => host.querySelector(sel) as HTMLElement;
    expect(q(".rw-panel").dataset.connection).toBe("lost");
    expect(q(".rw-notice").textContent).toContain(NOT_CONNECTED);
    expect(q(".rw-cancel").hidden).toBe(true);
    const shown = q(".rw-timeline").textContent;
    vi.advanceTimersByTime(60_000);
    expect(q(".rw-timeline").textContent).toBe(shown); // no count, no cold boot
    expect(q(".rw-starting-hint").hidden).toBe(true);
  });

  it("says so when the kernel restarts or dies under a live view", () => {
    vi.useFakeTimers();
    const a = mount(running);
    expect(a.q(".rw-cancel").hidden).toBe(false);
    a.host.classList.add("jupyter-widgets-disconnected"); // what ipywidgets does on restart
    return Promise.resolve().then(() => {
      expect(a.q(".rw-notice").textContent).toContain(NOT_CONNECTED);
      expect(a.q(".rw-cancel").hidden).toBe(true);
      // A kernel that died without a restart: read from the widget manager's kernel.
      const slots: (() => void)[] = [];
      const kernel = {
        status: "idle",
        statusChanged: { connect: (f: () => void) => slots.push(f), disconnect: () => true },
      };
      const b = mount(running, { manager: { kernel } });
      expect(b.q(".rw-notice").textContent).not.toContain(NOT_CONNECTED);
      kernel.status = "dead";
      for (const slot of slots) slot();
      expect(b.q(".rw-notice").textContent).toContain(NOT_CONNECTED);
    });
  });
});

describe("leaving the page", () => {
  afterEach(() => {
    vi.useRealTimers();
    document.body.replaceChildren();
  });

  function inNotebook() {
    const notebook = document.createElement("div");
    notebook.className = "jp-Notebook";
    const output = document.createElement("div");
    notebook.append(output);
    document.body.append(notebook);
    return { notebook, output };
  }

  it("tells the kernel when its view is removed from a notebook that stays open", () => {
    vi.useFakeTimers();
    const { output } = inNotebook();
    const { model, host, cleanup } = mount({}, { parent: output });
    host.remove(); // the output was cleared, or the cell re-run
    cleanup();
    expect(model.sent).toEqual([]);
    vi.advanceTimersByTime(REMOVAL_CHECK_MS);
    const [message] = model.sent.map((s) => s.content);
    expect(message).toMatchObject({ kind: "view", open: false });
    expect(typeof message.view).toBe("string");
  });

  it("says nothing when the notebook itself was closed", () => {
    vi.useFakeTimers();
    const { notebook, output } = inNotebook();
    const { model, cleanup } = mount({}, { parent: output });
    notebook.remove(); // the tab was closed: the kernel and its runs go on
    cleanup();
    vi.advanceTimersByTime(REMOVAL_CHECK_MS * 4);
    expect(model.sent).toEqual([]);
  });
});

describe("timeline", () => {
  it("counts open phases locally and explains a long start", () => {
    let now = 0;
    const view = new TimelineView(() => now);
    view.update([{ status: "starting", seconds: 1, open: true }]);
    expect(view.root.textContent).toBe("Starting 1.0s");
    expect(view.hint.hidden).toBe(true);
    now = (COLD_BOOT_AFTER + 1) * 1000;
    view.tick();
    expect(view.root.textContent).toBe("Starting 7.0s");
    expect(view.hint.hidden).toBe(false);
    // "Cold boot" only when the backend says the model's process is starting.
    expect(view.hint.textContent).toBe(STILL_STARTING);
    expect(view.hint.textContent).not.toMatch(/cold boot/i);
    view.booting = true;
    view.tick();
    expect(view.hint.textContent).toBe(COLD_BOOT);
    view.update([
      { status: "starting", seconds: 7.2, open: false },
      { status: "processing", seconds: 2, open: false },
      { status: "succeeded", seconds: 0, open: false },
    ]);
    now += 5000;
    view.tick();
    expect(view.root.textContent).toBe("Starting 7.2s→Processing 2.0s→Succeeded");
    expect(view.hint.hidden).toBe(true);
  });
});

describe("UrlCache", () => {
  it("creates one URL per entry and revokes replaced and removed ones", () => {
    let n = 0;
    const revoked: string[] = [];
    const cache = new UrlCache(
      () => `u${++n}`,
      (u) => revoked.push(u),
    );
    const a: MediaEntry = { key: "a", kind: "image", name: "", data: png() };
    expect(cache.url(a)).toBe("u1");
    expect(cache.url(a)).toBe("u1");
    expect(cache.url({ ...a, data: png(9) })).toBe("u2");
    expect(revoked).toEqual(["u1"]);
    expect(cache.url({ ...a, key: "empty", data: new Uint8Array() })).toBeNull();
    cache.keepOnly(new Set());
    expect(revoked).toEqual(["u1", "u2"]);
    expect(cache.size).toBe(0);
  });
});

describe("files the panel does not show", () => {
  it("says plainly that a file stays on the backend, and a failed fetch as one", () => {
    const { model, q } = mount({ status: "succeeded" });
    model.kernelSet("media", [
      {
        key: "u1",
        kind: "remote",
        name: "weights.json",
        data: null,
        reason: "weights stay on the backend (not downloaded: they can be gigabytes).",
      },
      { key: "u2", kind: "missing", name: "x.png", data: null, reason: "HTTPError: 500" },
    ]);
    expect(q(".rw-media-remote").textContent).toBe(
      "weights.json: weights stay on the backend (not downloaded: they can be gigabytes).",
    );
    expect(q(".rw-media-remote").textContent).not.toContain("Could not");
    expect(q(".rw-media-missing").textContent).toBe("Could not fetch x.png: HTTPError: 500");
  });
});

describe("the prediction's JSON and Copy output", () => {
  const finished = (extra: Record<string, unknown> = {}) => ({
    id: "p1",
    status: "succeeded",
    input: { prompt: "<b>hi</b>", api_key: "**********" },
    output: "http://127.0.0.1:5/outputs/t/filtered.png",
    logs: "ok",
    ...extra,
  });

  it("folds the JSON until opened, and shows it as text", () => {
    const { model, q } = mount({ status: "processing" });
    expect(q(".rw-raw").hidden).toBe(true);
    expect(q(".rw-copy-output").hidden).toBe(true);
    model.kernelSet("raw", finished({ output: "<img src=x onerror=alert(1)>" }));
    const details = q<HTMLDetailsElement>(".rw-raw");
    expect(details.hidden).toBe(false);
    expect(details.open).toBe(false);
    expect(q(".rw-raw-summary").textContent).toBe("JSON");
    expect(q(".rw-raw-json").textContent).toBe(""); // not built while folded
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    const json = JSON.parse(q(".rw-raw-json").textContent!);
    expect(json.input.api_key).toBe("**********");
    expect(json.output).toBe("<img src=x onerror=alert(1)>");
    expect(q(".rw-raw-json").querySelector("img")).toBeNull();
  });

  it("copies a file output's URL, and says so", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    vi.stubGlobal("navigator", { clipboard: { writeText } });
    const { model, q } = mount({ status: "succeeded", output_kind: "file" });
    model.kernelSet("raw", finished());
    const copy = q<HTMLButtonElement>(".rw-copy-output");
    expect(copy.hidden).toBe(false);
    copy.click();
    await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
    expect(writeText).toHaveBeenCalledWith("http://127.0.0.1:5/outputs/t/filtered.png");
    vi.unstubAllGlobals();
  });

  it("copies streamed text whole, through execCommand when the Clipboard API is refused", async () => {
    vi.stubGlobal("navigator", {
      clipboard: { writeText: vi.fn().mockRejectedValue(new Error("denied")) },
    });
    let copied = "";
    const exec = vi.fn(() => {
      copied = document.querySelector("textarea")?.value ?? "";
      return true;
    });
    Object.defineProperty(document, "execCommand", { value: exec, configurable: true });
    const { model, q } = mount({ status: "succeeded", output_kind: "text-stream" });
    model.kernelSet("text", "hello world");
    model.kernelSet("raw", finished({ output: ["hello", " world"] }));
    q<HTMLButtonElement>(".rw-copy-output").click();
    await vi.waitFor(() => expect(q(".rw-copy-output").textContent).toBe("Copied"));
    expect(exec).toHaveBeenCalledWith("copy");
    expect(copied).toBe("hello world");
    expect(document.querySelector("textarea")).toBeNull(); // the helper is gone
    vi.unstubAllGlobals();
  });

  it("selects the text for Ctrl+C when nothing can copy", async () => {
    vi.stubGlobal("navigator", {});
    Object.defineProperty(document, "execCommand", { value: () => false, configurable: true });
    const { model, q } = mount({ status: "succeeded", output_kind: "text" });
    model.kernelSet("text", "select me");
    model.kernelSet("raw", finished({ output: "select me" }));
    q<HTMLButtonElement>(".rw-copy-output").click();
    await vi.waitFor(() => expect(q(".rw-copy-output").textContent).toBe("Press Ctrl+C to copy"));
    expect(window.getSelection()?.toString()).toBe("select me");
    vi.unstubAllGlobals();
  });

  it("offers no Copy output for a failed run, and forgets the JSON on the next one", () => {
    const { model, q } = mount({ status: "failed" });
    model.kernelSet("raw", finished({ status: "failed", output: null, error: "boom" }));
    expect(q(".rw-copy-output").hidden).toBe(true);
    expect(q(".rw-raw").hidden).toBe(false);
    model.kernelSet("raw", {});
    expect(q(".rw-raw").hidden).toBe(true);
  });

  it("puts text, file URLs and values on the clipboard as a person expects", () => {
    expect(outputText({ output: ["a", "b"] }, "text-stream", "")).toBe("ab");
    expect(outputText({ output: ["a", "b"] }, "text-stream", "ab!")).toBe("ab!");
    expect(outputText({ output: ["https://x/1.png", "https://x/2.png"] }, "files", "")).toBe(
      "https://x/1.png\nhttps://x/2.png",
    );
    expect(outputText({ output: { words: 2 } }, "object", "")).toBe('{\n  "words": 2\n}');
    expect(outputText({ output: 0 }, "number", "")).toBe("0");
    expect(outputText({ output: null }, "json", "")).toBeNull();
    expect(outputText({}, "", "")).toBeNull();
  });
});
