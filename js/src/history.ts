// History: a toolbar of filters, a sentence saying what is shown, a message line, the
// table of runs (one page), Newer/Older, and the Playgrounds Tweak opened. The rows
// are plain JSON; the opened run's panel and those Playgrounds are parts (widgets of
// their own), mounted with anywidget's host.

import { Bench } from "./history/bench";
import css from "./history/history.css";
import { type RowData, RowTable, type ThumbData } from "./history/rows";
import {
  type CompositeModel,
  forwardDisconnect,
  type Host,
  h,
  Parts,
  sendAction,
  setMarkup,
} from "./shared/compose";
import { button, controlsCss, select, setChoices, textInput } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface HistoryModel extends CompositeModel {
  set(key: string, value: unknown): void;
  save_changes(): void;
}

interface Props {
  model: HistoryModel;
  el: HTMLElement;
  host?: Host;
}

/** The filter boxes the view sets, by trait. */
const BOXES = ["model_filter", "status_filter", "text_filter", "date_after", "date_before"];

let views = 0;

function text(tag: "span" | "label", className: string, content: string): HTMLElement {
  const made = h(tag, { className });
  made.textContent = content;
  return made;
}

function render({ model, el, host }: Props): () => void {
  const stop = new AbortController();
  const parts = new Parts(model, host, stop.signal);
  const setBox = (name: string, value: string) => {
    if (model.get(name) === value) return;
    model.set(name, value);
    model.save_changes();
  };

  // -- toolbar ------------------------------------------------------------------------
  const listId = `rw-history-models-${++views}`;
  const models = h("datalist", { id: listId });
  const modelBox = textInput({
    label: "Show runs of this model",
    placeholder: "Any model",
    onCommit: (v) => setBox("model_filter", v),
  });
  modelBox.setAttribute("list", listId);
  const statusBox = select([], {
    label: "Show runs with this status",
    onChange: (v) => setBox("status_filter", v),
  });
  const searchBox = textInput({
    label: "Show runs whose inputs contain these words",
    placeholder: "Search inputs",
    onCommit: (v) => setBox("text_filter", v),
  });
  const dateBox = (name: string, label: string, className: string) => {
    const input = textInput({
      label: `Runs created ${label.toLowerCase()} this date`,
      placeholder: "YYYY-MM-DD",
      onCommit: (v) => setBox(name, v),
    });
    return { input, wrap: h("label", { className }, text("span", "", label), input) };
  };
  const after = dateBox("date_after", "After", "rw-history-after");
  const before = dateBox("date_before", "Before", "rw-history-before");
  const inputs: Record<string, HTMLInputElement | HTMLSelectElement> = {
    model_filter: modelBox,
    status_filter: statusBox,
    text_filter: searchBox,
    date_after: after.input,
    date_before: before.input,
  };
  const toolbar = h(
    "div",
    { className: "rw-history-toolbar rw-row" },
    button("Refresh", {
      className: "rw-history-refresh",
      title: "Reload the runs (and apply the dates)",
      onClick: () => sendAction(model, "refresh"),
    }),
    h("span", { className: "rw-history-model-filter" }, modelBox, models),
    h("span", { className: "rw-history-status-filter" }, statusBox),
    h("span", { className: "rw-history-search" }, searchBox),
    h("span", { className: "rw-history-dates rw-row" }, after.wrap, before.wrap),
  );

  // -- table, detail, pager, playgrounds ---------------------------------------------
  const summary = h("div", { className: "rw-history-summary" });
  const message = h("div", { className: "rw-history-message", role: "status" });
  const table = new RowTable((action, id) => sendAction(model, action, id));
  const detailHead = h("div", { className: "rw-history-detail-headline" });
  const detailInputs = h("div", { className: "rw-history-detail-inputs" });
  const detail = h(
    "div",
    { className: "rw-history-detail" },
    h(
      "div",
      { className: "rw-history-detail-top" },
      detailHead,
      button("Close", {
        className: "rw-history-detail-close",
        title: "Hide this run's details",
        onClick: () => sendAction(model, "hide"),
      }),
    ),
    h(
      "div",
      { className: "rw-history-detail-body" },
      detailInputs,
      parts.place("panel", h("div", { className: "rw-history-detail-panel" })),
    ),
  );
  const newer = button("‹ Newer", {
    className: "rw-history-newer",
    title: "The page of newer runs",
    onClick: () => sendAction(model, "newer"),
  });
  const older = button("Older ›", {
    className: "rw-history-older",
    title: "The page of older runs (searching further back when filtered)",
    onClick: () => sendAction(model, "older"),
  });
  const bench = new Bench(host, stop.signal, (ref) => sendAction(model, "close_playground", ref));
  const root = h(
    "div",
    { className: "rw-view rw-history" },
    toolbar,
    summary,
    message,
    table.el,
    h("div", { className: "rw-history-pager rw-row" }, newer, older),
    bench.el,
  );
  el.append(root);
  adoptStyles(root, "history", controlsCss + css);

  // -- drawing ------------------------------------------------------------------------
  const drawBoxes = () => {
    const statuses = (model.get("statuses") as string[] | null) ?? [];
    setChoices(statusBox, [["", "Any status"], ...statuses.map((s) => [s, s] as const)]);
    const names = (model.get("models") as string[] | null) ?? [];
    models.replaceChildren(...names.map((name) => h("option", { value: name })));
    for (const name of BOXES) {
      const input = inputs[name];
      const value = String(model.get(name) ?? "");
      // What the person is typing stays until they commit it.
      if (input.value !== value && input.ownerDocument.activeElement !== input) {
        input.value = value;
      }
    }
  };
  const drawTable = () => {
    setMarkup(summary, model.get("summary"));
    setMarkup(message, model.get("message"));
    setMarkup(detailHead, model.get("detail_head"));
    setMarkup(detailInputs, model.get("detail_inputs"));
    table.draw(
      (model.get("rows") as RowData[] | null) ?? [],
      (model.get("thumbs") as Record<string, ThumbData> | null) ?? {},
      String(model.get("opened") ?? ""),
      detail,
    );
    newer.disabled = model.get("can_newer") !== true;
    older.disabled = model.get("can_older") !== true;
  };
  const drawBench = () => {
    const value = (model.get("parts") as Record<string, unknown> | null)?.playgrounds;
    const refs = Array.isArray(value) ? value.filter((r) => typeof r === "string") : [];
    bench.draw(refs, (model.get("tweaked") as string[] | null) ?? []);
  };
  const listeners: [string[], () => void][] = [
    [["statuses", "models", ...BOXES], drawBoxes],
    [["summary", "message", "detail_head", "detail_inputs", "rows", "thumbs", "opened"], drawTable],
    [["can_newer", "can_older"], drawTable],
    [["parts", "tweaked"], drawBench],
  ];
  for (const [names, draw] of listeners) {
    for (const name of names) model.on(`change:${name}`, draw);
  }
  drawBoxes();
  drawTable();
  drawBench();
  const stopForwarding = forwardDisconnect(el, () =>
    root.querySelectorAll<HTMLElement>(".rw-part"),
  );
  return () => {
    stop.abort();
    stopForwarding();
    for (const [names, draw] of listeners) {
      for (const name of names) model.off(`change:${name}`, draw);
    }
    table.dispose();
    root.remove();
  };
}

export default { render };
