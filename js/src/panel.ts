// PredictionPanel view: status timeline, cancel, progress, live logs and outputs.
// State lives in the model's traits (written by the kernel's background loop);
// events (cancel, download, full logs) are custom messages with a `kind` field.
import type { RenderProps } from "@anywidget/types";
import { needsResolving, resolveMedia } from "./panel/fetch";
import { LogsView } from "./panel/logs";
import { GalleryView, Lightbox, type MediaActions, saveBytes, UrlCache } from "./panel/media";
import css from "./panel/panel.css";
import { outputText, RawView } from "./panel/raw";
import { StreamedText } from "./panel/stream";
import { TimelineView } from "./panel/timeline";
import {
  type Binary,
  el,
  formatSeconds,
  type MediaEntry,
  type Model,
  type PanelModel,
  TERMINAL,
} from "./panel/types";
import { renderEmbedding, renderValue } from "./panel/value";
import { NOT_CONNECTED, reportView, watchConnection } from "./shared/connection";
import { adoptStyles } from "./shared/styles";

function render({ model: anyModel, el: host }: RenderProps<PanelModel>): () => void {
  const model = anyModel as unknown as Model;
  const root = el("div", "rw-panel");

  // -- header: model, timeline, cancel ------------------------------------------------
  const header = el("div", "rw-header");
  const title = el("span", "rw-title");
  const timeline = new TimelineView();
  const cancel = el("button", "rw-cancel", "Cancel");
  cancel.type = "button";
  const notice = el("div", "rw-notice");
  notice.setAttribute("role", "status");
  notice.setAttribute("aria-live", "polite");
  header.append(title, timeline.root, cancel);

  const progress = el("div", "rw-progress");
  const bar = el("div", "rw-progress-bar");
  const progressLabel = el("span", "rw-progress-label");
  progress.append(bar, progressLabel);

  const logs = new LogsView(() => model.send({ kind: "full_logs" }));
  const errorBox = el("div", "rw-error");
  const problemBox = el("pre", "rw-problem");
  const streamed = new StreamedText("rw-text");
  const text = streamed.root;
  const urls = new UrlCache();
  const lightbox = new Lightbox((key) => model.send({ kind: "download", key }));
  const actions: MediaActions = {
    download: (key) => model.send({ kind: "download", key }),
    enlarge: (entry, url) => lightbox.open(entry, url),
  };
  const gallery = new GalleryView(urls, actions);
  const valueBox = el("div", "rw-value");
  const embeddingBox = el("div", "rw-embedding-box");
  const metrics = el("div", "rw-metrics");
  const raw = new RawView(() => ({
    text: outputText(model.get("raw"), model.get("output_kind"), model.get("text") ?? ""),
    shown: model.get("text") ? text : null,
  }));
  const footer = el("div", "rw-footer");
  footer.append(metrics, raw.copy);

  root.append(
    header,
    timeline.hint,
    notice,
    progress,
    problemBox,
    errorBox,
    text,
    gallery.root,
    valueBox,
    embeddingBox,
    logs.root,
    footer,
    raw.json,
    lightbox.root,
  );
  host.append(root);
  adoptStyles(root, "panel", css);

  // -- the kernel: still there? told when this view leaves the page ----------------------
  let connected = true;
  const view = reportView(model, host);

  // -- cancel: acknowledged here at once, acted on by the kernel when it can ----------------
  let cancelRequested = false;
  let followed = "";
  const onCancel = () => {
    if (cancelRequested) return;
    cancelRequested = true;
    root.dataset.cancel = "requested";
    showStatus();
    model.send({ kind: "cancel" });
  };
  cancel.addEventListener("click", onCancel);

  const showStatus = () => {
    const status = model.get("status");
    const id = model.get("prediction_id");
    if (id !== followed) {
      followed = id;
      cancelRequested = false;
      delete root.dataset.cancel;
    }
    root.dataset.status = status || "idle";
    // Nothing to show yet (a Playground before its first run): no empty frame.
    root.classList.toggle("rw-panel-empty", !id && !model.get("problem"));
    title.textContent = [model.get("model"), id].filter(Boolean).join(" · ");
    const running = status === "starting" || status === "processing";
    // Without a kernel, Cancel would do nothing: the notice says what to do instead.
    cancel.hidden = !running || !connected;
    cancel.disabled = cancelRequested || !running;
    const sent = model.get("cancel_state");
    let message = "";
    if (!connected) {
      message = running
        ? `${NOT_CONNECTED} This widget no longer follows or stops the prediction.`
        : NOT_CONNECTED;
    } else if (status === "canceled") {
      message =
        cancelRequested || sent === "sent" ? "Canceled: you stopped this prediction." : "Canceled.";
    } else if (status === "aborted") {
      message = "Aborted: the prediction's deadline passed before it started.";
    } else if (cancelRequested && sent === "failed") {
      message = "Cancel failed (see below).";
    } else if (cancelRequested && sent === "sent") {
      message = "Cancel sent to the backend; waiting for it to stop…";
    } else if (cancelRequested) {
      message = "Cancel requested: the kernel will act on it as soon as it is free.";
    }
    cancel.textContent = cancelRequested && running ? "Cancel requested…" : "Cancel";
    notice.textContent = message;
    notice.hidden = message === "";
  };

  const showTimeline = () => {
    timeline.booting = model.get("booting") === true;
    timeline.update(model.get("timeline"));
  };

  const showProgress = () => {
    const p = model.get("progress") ?? {};
    progress.hidden = typeof p.fraction !== "number";
    if (typeof p.fraction === "number") {
      const pct = Math.round(p.fraction * 100);
      bar.style.width = `${pct}%`;
      progress.dataset.fraction = String(p.fraction);
      progressLabel.textContent = `${p.current}/${p.total} (${pct}%)`;
    }
  };

  const showLogs = () => {
    logs.update(model.get("logs"), model.get("logs_dropped"));
    showError();
  };

  const showText = () => streamed.update(model.get("text") ?? "");

  // Media entries with their bytes resolved from the per-file models.
  let media: MediaEntry[] = [];
  let mediaRound = 0;
  const applyMedia = (entries: MediaEntry[]) => {
    media = entries;
    urls.keepOnly(new Set(entries.map((e) => e.key)));
    // An iterator of images (a picture refining step by step) shows the newest one
    // large and the earlier steps as a strip of thumbnails, not a tall stack.
    gallery.root.classList.toggle("rw-gallery-stream", model.get("output_kind") === "file-stream");
    gallery.update(entries);
    showValue();
  };
  const showMedia = () => {
    const entries: MediaEntry[] = model.get("media") ?? [];
    const round = ++mediaRound;
    if (!needsResolving(entries)) {
      applyMedia(entries);
      return;
    }
    resolveMedia(model, entries).then(
      (resolved) => {
        if (round === mediaRound) applyMedia(resolved); // a newer list may have won
      },
      (err) => console.error("replicate_widgets: could not load output files", err),
    );
  };

  const showValue = () => {
    const value = model.get("value");
    valueBox.hidden = value === null || value === undefined;
    valueBox.replaceChildren();
    const byKey = new Map(media.map((m) => [m.key, m] as const));
    if (!valueBox.hidden) valueBox.append(renderValue(value, byKey, urls, actions));
  };

  const showEmbedding = () => {
    const summary = model.get("embedding") ?? {};
    embeddingBox.hidden = Object.keys(summary).length === 0;
    embeddingBox.replaceChildren();
    if (!embeddingBox.hidden) embeddingBox.append(renderEmbedding(summary));
  };

  // The error only: the logs below end with the lines that led to it (once, not twice).
  const showError = () => {
    const error = model.get("error");
    errorBox.hidden = !error;
    if (!error) return;
    const hasLogs = (model.get("logs") ?? "").trim() !== "";
    errorBox.replaceChildren(
      el("strong", "", "The model failed: "),
      el("span", "rw-error-message", error),
    );
    if (hasLogs) errorBox.append(el("div", "rw-error-hint", "Its last log lines are below."));
  };

  const showRaw = () => {
    const value = model.get("raw");
    const output = outputText(value, model.get("output_kind"), model.get("text") ?? "");
    raw.update(value, value?.status === "succeeded" && output !== null && output !== "");
  };

  const showProblem = () => {
    const problem = model.get("problem");
    problemBox.hidden = !problem;
    problemBox.textContent = problem;
    showStatus();
  };

  const showMetrics = () => {
    const m = model.get("metrics") ?? {};
    const parts = (["predict_time", "total_time"] as const)
      .filter((k) => typeof m[k] === "number")
      .map((k) => `${k.replace("_", " ")}: ${formatSeconds(m[k] as number)}`);
    metrics.hidden = parts.length === 0 || !TERMINAL.has(model.get("status"));
    metrics.textContent = parts.join(" · ");
    footer.hidden = metrics.hidden && raw.copy.hidden;
  };

  const onCustom = (content: Record<string, unknown>, buffers: Binary[] = []) => {
    if (content?.kind === "file" && buffers[0]) {
      saveBytes(String(content.name), String(content.mime), buffers[0]);
    } else if (content?.kind === "full_logs" && buffers[0]) {
      logs.showAll(new TextDecoder().decode(buffers[0] as ArrayBuffer));
    }
  };

  const handlers: [string, () => void][] = [
    [
      "change:status",
      () => {
        showStatus();
        showProgress();
        showMetrics();
      },
    ],
    ["change:prediction_id", showStatus],
    ["change:model", showStatus],
    ["change:cancel_state", showStatus],
    ["change:timeline", showTimeline],
    ["change:booting", showTimeline],
    ["change:progress", showProgress],
    ["change:logs", showLogs],
    ["change:logs_dropped", showLogs],
    ["change:text", showText],
    ["change:media", showMedia],
    ["change:value", showValue],
    ["change:embedding", showEmbedding],
    ["change:error", showError],
    [
      "change:problem",
      () => {
        showProblem();
        showStatus();
      },
    ],
    ["change:metrics", showMetrics],
    [
      "change:raw",
      () => {
        showRaw();
        showMetrics();
      },
    ],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  model.on("msg:custom", onCustom as never);

  showStatus();
  showTimeline();
  showProgress();
  showLogs();
  showText();
  showMedia();
  showEmbedding();
  showProblem();
  showRaw();
  showMetrics();

  // Durations and the starting hint tick in the browser, kernel busy or not.
  const timer = setInterval(() => {
    timeline.tick();
    view.seen();
  }, 250);
  const stopWatching = watchConnection(host, model.widget_manager, () => {
    connected = false;
    root.dataset.connection = "lost";
    clearInterval(timer);
    timeline.stop(); // nothing reports on it any more: no count, no cold boot
    showStatus();
  });

  return () => {
    clearInterval(timer);
    stopWatching();
    view.removed();
    for (const [name, fn] of handlers) model.off(name, fn);
    model.off("msg:custom", onCustom as never);
    cancel.removeEventListener("click", onCancel);
    urls.clear();
    root.remove();
  };
}

/** One growing trait's append: it grew by `chunk` at offset `at`. */
interface Append {
  at: number;
  chunk: string;
}

/** The traits that may grow by appends (the kernel's `GROWING`). */
const GROWING = ["text", "logs"] as const;
type Growing = (typeof GROWING)[number];

/** The part of the model `initialize` needs (loosely typed for the fake in tests). */
interface AppendTarget {
  get(key: Growing): string;
  get(key: "_appends"): Partial<Record<Growing, Append>> | undefined;
  set(key: Growing, value: string): void;
  set(key: "media" | "raw" | "value", value: unknown): void;
  on(name: string, handler: (...args: never[]) => void): void;
  off(name: string, handler: (...args: never[]) => void): void;
  send(content: Record<string, unknown>): void;
}

/**
 * Streamed text and logs arrive as appends rather than whole at every flush; they
 * are applied to the model once here (not once per view), so every view sees an
 * ordinary `change:text` / `change:logs`. The local `set` is never saved back: the
 * kernel has the same value. An append that does not fit (a view that connected
 * mid-stream) asks the kernel for the whole value instead.
 */
function initialize({ model }: { model: AppendTarget }): () => void {
  const onAppends = () => {
    const appends = model.get("_appends") ?? {};
    for (const key of GROWING) {
      const append = appends[key];
      if (typeof append?.chunk !== "string") continue;
      const current = model.get(key) ?? "";
      const at = Number(append.at);
      if (at === current.length) {
        model.set(key, current + append.chunk);
      } else if (at + append.chunk.length > current.length) {
        model.send({ kind: "resync", key });
      } // else: already there (the whole value came in a state update meanwhile)
    }
  };
  model.on("change:_appends", onAppends);
  // An append that came before this ran (the bundle compiled late) is applied now, or the
  // whole value asked for at once rather than at the next append.
  onAppends();
  return () => {
    model.off("change:_appends", onAppends);
    // Called when the model is destroyed (its widget closed). JupyterLab keeps a closed
    // widget's comm in the kernel connection's map, and through it the model and its
    // state: let go of what can be large (megabytes of text, the files' bytes).
    for (const key of GROWING) model.set(key, "");
    model.set("media", []);
    model.set("raw", {});
    model.set("value", null);
    model.set("value", null); // Backbone keeps the values before the last set
  };
}

// Only the default export: anywidget takes named exports as the (deprecated) old
// form and would then ignore `initialize`.
export default { initialize, render };
