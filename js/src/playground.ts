// The Playground: a title line with the Code button, the "copy as code" panel, an
// error line, the input form, the live panel and a note under the finished run.
// The form, panel and code panel are widgets of their own, mounted as parts.
import css from "./playground/playground.css";
import {
  type CompositeModel,
  forwardDisconnect,
  type Host,
  h,
  Parts,
  redrawOn,
  setMarkup,
} from "./shared/compose";
import { button, controlsCss } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface PlaygroundModel extends CompositeModel {
  set(key: "code_open", value: boolean): void;
  save_changes(): void;
}

interface Props {
  model: PlaygroundModel;
  el: HTMLElement;
  host?: Host;
}

const CODE_TITLE = "Show this run as Python, JavaScript or curl code";

function render({ model, el, host }: Props): () => void {
  const stop = new AbortController();
  const parts = new Parts(model, host, stop.signal);
  const header = h("div", { className: "rw-playground-header" });
  const codeButton = button("Code", {
    className: "rw-playground-code-button",
    title: CODE_TITLE,
  });
  const code = h("div", { className: "rw-playground-code" });
  const message = h("div", { className: "rw-playground-message" });
  const note = h("div", { className: "rw-playground-note" });
  const root = h(
    "div",
    { className: "rw-view rw-playground" },
    // The root measures the widget's width; this grid is laid out by it (a
    // container query cannot restyle the element it measures).
    h(
      "div",
      { className: "rw-playground-layout" },
      h("div", { className: "rw-playground-top" }, header, codeButton),
      parts.place("code", code),
      message,
      parts.place("form", h("div", { className: "rw-playground-form" })),
      parts.place("panel", h("div", { className: "rw-playground-panel" })),
      note,
    ),
  );
  el.append(root);
  adoptStyles(root, "playground", controlsCss + css);

  const draw = () => {
    setMarkup(header, model.get("header"));
    setMarkup(message, model.get("message"));
    setMarkup(note, model.get("note"));
    const open = model.get("code_open") === true;
    const hasForm =
      typeof (model.get("parts") as Record<string, unknown> | null)?.form === "string";
    codeButton.hidden = !hasForm;
    codeButton.setAttribute("aria-pressed", String(open));
    code.hidden = !open;
  };
  codeButton.addEventListener("click", () => {
    model.set("code_open", model.get("code_open") !== true);
    model.save_changes();
  });
  const traits = ["header", "message", "note", "code_open", "parts"];
  const stopDrawing = redrawOn(model, traits, draw);
  const stopForwarding = forwardDisconnect(
    el,
    () => root.querySelectorAll<HTMLElement>(".rw-part"),
    (gone) => {
      // No kernel: the code it would show cannot be made; the button says so.
      codeButton.disabled = gone;
      codeButton.title = gone ? "Not connected: run the cell again." : CODE_TITLE;
    },
  );
  return () => {
    stop.abort();
    stopForwarding();
    stopDrawing();
    root.remove();
  };
}

export default { render };
