// Compare and Sweep: a bar with the title, Run all and Cancel all, a message line,
// and the grid of cells, each a header (its varied values, and why it has no result
// when it has none) over its live PredictionPanel, a part of its own.
import css from "./compare/compare.css";
import {
  type CompositeModel,
  forwardDisconnect,
  type Host,
  h,
  mountPart,
  sendAction,
  setMarkup,
} from "./shared/compose";
import { button, controlsCss } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface Props {
  model: CompositeModel;
  el: HTMLElement;
  host?: Host;
}

/** One cell of the grid: its header and the place its panel is mounted in. */
interface Slot {
  cell: HTMLElement;
  head: HTMLElement;
  place: HTMLElement;
  ref: string;
  stop: AbortController;
}

const MAX_COLUMNS = 24;

function panelRefs(model: CompositeModel): string[] {
  const parts = (model.get("parts") ?? {}) as Record<string, unknown>;
  const panels = parts.panels;
  return Array.isArray(panels) ? panels.map((ref) => (typeof ref === "string" ? ref : "")) : [];
}

function columnsOf(model: CompositeModel): number {
  const value = Number(model.get("columns"));
  return Number.isInteger(value) ? Math.min(Math.max(value, 1), MAX_COLUMNS) : 1;
}

function render({ model, el, host }: Props): () => void {
  const header = h("div", { className: "rw-compare-header" });
  const run = button("Run all", {
    primary: true,
    className: "rw-grid-run",
    title: "Run every cell",
    onClick: () => sendAction(model, "run"),
  });
  const cancel = button("Cancel all", {
    className: "rw-grid-cancel",
    title: "Cancel every running prediction and start no more",
    onClick: () => sendAction(model, "cancel"),
  });
  const message = h("div", { className: "rw-grid-message", "aria-live": "polite" });
  const grid = h("div", { className: "rw-grid", role: "list" });
  const root = h(
    "div",
    { className: "rw-view rw-compare" },
    h(
      "div",
      { className: "rw-compare-bar" },
      header,
      h("div", { className: "rw-compare-actions" }, run, cancel),
    ),
    message,
    grid,
  );
  el.append(root);
  adoptStyles(root, "compare", controlsCss + css);
  const slots: Slot[] = [];

  /** Keep one cell per panel; remount only the panels whose reference changed. */
  const drawCells = () => {
    const refs = panelRefs(model);
    while (slots.length > refs.length) {
      const gone = slots.pop();
      gone?.stop.abort();
      gone?.cell.remove();
    }
    refs.forEach((ref, index) => {
      let slot = slots[index];
      if (!slot) {
        const head = h("div", { className: "rw-grid-head" });
        const place = h("div", { className: "rw-part rw-grid-panel" });
        const cell = h("div", { className: "rw-grid-cell", role: "listitem" }, head, place);
        slot = { cell, head, place, ref: "", stop: new AbortController() };
        slots.push(slot);
        grid.append(cell);
      }
      if (slot.ref === ref) return;
      slot.stop.abort();
      slot.stop = new AbortController();
      slot.ref = ref;
      slot.place.replaceChildren();
      if (ref) void mountPart(host, ref, slot.place, slot.stop.signal);
    });
    drawHeads();
  };
  const drawHeads = () => {
    const heads = model.get("cell_headers");
    slots.forEach((slot, index) => {
      setMarkup(slot.head, Array.isArray(heads) ? heads[index] : "");
      slot.head.hidden = slot.head.childElementCount === 0;
    });
  };
  const draw = () => {
    setMarkup(header, model.get("header"));
    setMarkup(message, model.get("message"));
    const busy = model.get("busy") === true;
    run.disabled = busy;
    cancel.disabled = !busy;
    grid.style.setProperty("--rw-grid-columns", String(columnsOf(model)));
  };

  const handlers: [string, () => void][] = [
    ["change:parts", drawCells],
    ["change:cell_headers", drawHeads],
    ["change:header", draw],
    ["change:message", draw],
    ["change:busy", draw],
    ["change:columns", draw],
  ];
  for (const [name, handler] of handlers) model.on(name, handler);
  draw();
  drawCells();
  const stopForwarding = forwardDisconnect(el, () =>
    root.querySelectorAll<HTMLElement>(".rw-part"),
  );
  return () => {
    for (const slot of slots) slot.stop.abort();
    stopForwarding();
    for (const [name, handler] of handlers) model.off(name, handler);
    root.remove();
  };
}

export default { render };
