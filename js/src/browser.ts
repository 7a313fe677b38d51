// The ModelBrowser: a search box and Sort and Collection menus, a status line, the
// open model's card (cover, title, links, Version menu, "Open in Playground",
// default example), the Playground opened from it, the grid of tiles and "Load more".
// The tiles and the Playground are widgets of their own, mounted as parts; every
// markup string comes from the kernel's HTML builder, which escapes.
import css from "./browser/browser.css";
import { BytesImage } from "./browser/image";
import {
  type CompositeModel,
  forwardDisconnect,
  type Host,
  h,
  Parts,
  redrawOn,
  sendAction,
  setMarkup,
} from "./shared/compose";
import { button, controlsCss, select, setChoices, textInput } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface BrowserModel extends CompositeModel {
  set(key: string, value: unknown): void;
  save_changes(): void;
}

interface Props {
  model: BrowserModel;
  el: HTMLElement;
  host?: Host;
}

type Choices = [string, string][];

/** `[value, label]` pairs from a trait, dropping anything else. */
function pairs(value: unknown): Choices {
  if (!Array.isArray(value)) return [];
  return value
    .filter((c): c is unknown[] => Array.isArray(c) && c.length >= 2)
    .map((c) => [String(c[0]), String(c[1])]);
}

/** Labels from a trait as `[label, label]` pairs. */
function labels(value: unknown): Choices {
  return Array.isArray(value) ? value.map((v) => [String(v), String(v)]) : [];
}

/** A control with a visible label in front, as ipywidgets' `description` drew it. */
function labelled(text: string, className: string, control: HTMLElement): HTMLElement {
  return h(
    "label",
    { className: `rw-browser-field ${className}` },
    text ? h("span", {}, text) : "",
    control,
  );
}

/**
 * Keep keys typed into the widget's boxes and menus inside it: JupyterLab's notebook
 * shortcuts listen on the document and would take some (Enter, arrows) for themselves.
 */
function keepKeys(control: HTMLElement): void {
  control.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") event.stopPropagation();
  });
}

function render({ model, el, host }: Props): () => void {
  const stop = new AbortController();
  const parts = new Parts(model, host, stop.signal);
  const setTrait = (name: string, value: string) => {
    if (model.get(name) === value) return;
    model.set(name, value);
    model.save_changes();
  };

  const query = textInput({
    label: "Search models",
    placeholder: "Search models",
    onCommit: (value) => setTrait("query", value),
  });
  const sort = select([], { label: "Sort", onChange: (v) => setTrait("sort", v) });
  const collection = select([], {
    label: "Collection",
    onChange: (v) => setTrait("collection", v),
  });
  for (const control of [query, sort, collection]) keepKeys(control);
  const status = h("div", { className: "rw-browser-status", role: "status" });

  const cardNotice = h("div", { className: "rw-browser-card-notice" });
  const cover = new BytesImage("rw-cover rw-card-cover");
  const head = h("div", { className: "rw-browser-card-head" });
  const version = select([], {
    label: "Version",
    onChange: (v) => setTrait("version", v),
  });
  keepKeys(version);
  const versionField = labelled("Version", "rw-browser-version", version);
  const open = button("Open in Playground", {
    primary: true,
    className: "rw-browser-open",
    onClick: () => sendAction(model, "open"),
  });
  const exampleText = h("div", { className: "rw-browser-example-text" });
  const exampleImage = new BytesImage("rw-cover rw-example-image");
  const example = h("div", { className: "rw-browser-example" }, exampleText, exampleImage.el);
  const cardNote = h("div", { className: "rw-browser-card-note" });
  const cardBody = h(
    "div",
    { className: "rw-browser-card-body" },
    cover.el,
    h("div", { className: "rw-browser-card-info" }, head, versionField, open, example),
  );
  const card = h("div", { className: "rw-browser-card" }, cardNotice, cardBody, cardNote);

  const stageNotice = h("div", { className: "rw-browser-stage-notice" });
  const stage = h(
    "div",
    { className: "rw-browser-playground" },
    stageNotice,
    parts.place("playground", h("div", { className: "rw-browser-stage" })),
  );
  const grid = parts.placeList("tiles", h("div", { className: "rw-browser-grid" }));
  const more = button("Load more", {
    className: "rw-browser-more",
    title: "Fetch the next page of models",
    onClick: () => sendAction(model, "more"),
  });

  // The card and its Playground sit above the grid: a long grid would push them
  // out of sight.
  const root = h(
    "div",
    { className: "rw-view rw-model-browser" },
    h(
      "div",
      { className: "rw-row rw-browser-bar" },
      labelled("", "rw-browser-query", query),
      labelled("Sort", "rw-browser-sort", sort),
      labelled("Collection", "rw-browser-collection", collection),
    ),
    status,
    card,
    stage,
    grid,
    more,
  );
  el.append(root);
  adoptStyles(root, "browser", controlsCss + css);

  const draw = () => {
    if (document.activeElement !== query) query.value = String(model.get("query") ?? "");
    setChoices(sort, labels(model.get("sort_choices")));
    sort.value = String(model.get("sort") ?? "");
    setChoices(collection, pairs(model.get("collection_choices")));
    collection.value = String(model.get("collection") ?? "");
    setMarkup(status, model.get("status"));
    more.hidden = model.get("more") !== true;

    const notice = model.get("card_notice");
    const hasCard = typeof model.get("card_head") === "string" && model.get("card_head") !== "";
    setMarkup(cardNotice, notice);
    cardBody.hidden = !hasCard || (typeof notice === "string" && notice !== "");
    cardNote.hidden = cardBody.hidden;
    card.hidden = cardNotice.innerHTML === "" && !hasCard;
    setMarkup(head, model.get("card_head"));
    setMarkup(cardNote, model.get("card_note"));
    cover.set(model.get("card_cover"));
    setChoices(version, pairs(model.get("version_choices")));
    version.value = String(model.get("version") ?? "");
    versionField.hidden = version.options.length === 0;
    const reason = String(model.get("open_disabled") ?? "");
    open.disabled = reason !== "";
    open.title = reason || "Open this model in a Playground below the card";
    setMarkup(exampleText, model.get("card_example"));
    exampleImage.set(model.get("example_image"));
    example.hidden = exampleText.innerHTML === "" && !exampleImage.shown;

    setMarkup(stageNotice, model.get("stage_notice"));
  };
  const traits = [
    "query",
    "sort",
    "sort_choices",
    "collection",
    "collection_choices",
    "status",
    "more",
    "card_notice",
    "card_head",
    "card_example",
    "card_note",
    "card_cover",
    "example_image",
    "version",
    "version_choices",
    "open_disabled",
    "stage_notice",
  ];
  const stopDrawing = redrawOn(model, traits, draw);
  const stopForwarding = forwardDisconnect(el, () =>
    root.querySelectorAll<HTMLElement>(".rw-part"),
  );
  return () => {
    stop.abort();
    stopForwarding();
    stopDrawing();
    cover.dispose();
    exampleImage.dispose();
    root.remove();
  };
}

export default { render };
