// One model in the ModelBrowser's grid: its cover (the kernel sends it as PNG bytes
// once it has it; until then, the model's initial), its name, description and run
// count (markup the kernel built), and a Details button that opens its card.

import { BytesImage } from "./browser/image";
import css from "./browser/tile.css";
import { type CompositeModel, h, redrawOn, sendAction, setMarkup } from "./shared/compose";
import { button, controlsCss } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface Props {
  model: CompositeModel;
  el: HTMLElement;
}

function render({ model, el }: Props): () => void {
  const cover = new BytesImage("rw-cover");
  const initial = h("div", { className: "rw-tile-placeholder", "aria-hidden": "true" });
  const text = h("div", { className: "rw-tile-body" });
  const details = button("Details", {
    className: "rw-tile-open",
    title: "Show this model's card",
    onClick: () => sendAction(model, "details"),
  });
  const root = h(
    "div",
    { className: "rw-view rw-browser-tile" },
    h("div", { className: "rw-tile-cover" }, cover.el, initial),
    text,
    details,
  );
  el.append(root);
  adoptStyles(root, "browser-tile", controlsCss + css);

  const draw = () => {
    cover.set(model.get("cover"));
    initial.textContent = String(model.get("initial") ?? "?");
    initial.hidden = cover.shown;
    setMarkup(text, model.get("markup"));
  };
  const traits = ["cover", "initial", "markup"];
  const stopDrawing = redrawOn(model, traits, draw);
  return () => {
    stopDrawing();
    cover.dispose();
    root.remove();
  };
}

export default { render };
