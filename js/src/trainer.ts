// The Trainer: a title line, the destination box with "New model…", the "New model"
// form, the training form, a message, the live panel, the result line with "Open in
// Playground", the Playground opened on the new version and the recent trainings.
// The forms, the panel and the Playground are widgets of their own, mounted as parts.
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
import { button, controlsCss, setChoices } from "./shared/controls";
import { adoptStyles } from "./shared/styles";
import css from "./trainer/trainer.css";

interface TrainerModel extends CompositeModel {
  set(key: "destination_text", value: string): void;
  save_changes(): void;
}

interface Props {
  model: TrainerModel;
  el: HTMLElement;
  host?: Host;
}

/** The longest destination the kernel takes (MAX_DESTINATION in _widgets/catalog/trainer.py). */
const MAX_DESTINATION = 300;

let counter = 0;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function pairs(value: unknown): [string, string][] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (p): p is [string, string] =>
      Array.isArray(p) && typeof p[0] === "string" && typeof p[1] === "string",
  );
}

function render({ model, el, host }: Props): () => void {
  const stop = new AbortController();
  const parts = new Parts(model, host, stop.signal);
  counter += 1;
  const listId = `rw-trainer-destinations-${counter}`;

  const header = h("div", { className: "rw-trainer-header" });
  const destination = h("input", {
    type: "text",
    className: "rw-input",
    placeholder: "owner/name of the model to push the new version to",
    "aria-label": "Destination",
    list: listId,
    maxlength: String(MAX_DESTINATION),
    autocomplete: "off",
    spellcheck: "false",
  });
  const suggestions = h("datalist", { id: listId });
  const newModel = button("New model…", {
    className: "rw-trainer-new-model",
    title: "Create the model that receives the new version",
    onClick: () => sendAction(model, "new_model"),
  });
  const destinationRow = h(
    "div",
    { className: "rw-row rw-trainer-destination-row" },
    h(
      "label",
      { className: "rw-trainer-destination" },
      h("span", { className: "rw-trainer-label" }, "Destination"),
      destination,
    ),
    suggestions,
    newModel,
  );
  const message = h("div", { className: "rw-trainer-message" });
  const note = h("div", { className: "rw-trainer-result" });
  const open = button("Open in Playground", {
    primary: true,
    className: "rw-trainer-open",
    onClick: () => sendAction(model, "open"),
  });
  const stage = h("div", { className: "rw-trainer-stage" });
  const refresh = button("Refresh", {
    title: "Read your recent trainings again",
    onClick: () => sendAction(model, "refresh"),
  });
  const history = h("select", {
    className: "rw-select rw-trainer-history",
    size: "4",
    "aria-label": "Your recent trainings",
  });
  const recent = h(
    "div",
    { className: "rw-trainer-recent" },
    h("div", { className: "rw-row" }, h("b", {}, "Your recent trainings"), refresh),
    history,
  );
  const create = parts.place("create", h("div", { className: "rw-trainer-create" }));
  const loaded = h(
    "div",
    { className: "rw-trainer-body" },
    destinationRow,
    create,
    parts.place("form", h("div", { className: "rw-trainer-form" })),
  );
  const after = h(
    "div",
    { className: "rw-trainer-body" },
    parts.place("panel", h("div", { className: "rw-trainer-panel" })),
    note,
    open,
    stage,
    parts.place("playground", h("div", { className: "rw-trainer-playground" })),
    recent,
  );
  const root = h("div", { className: "rw-view rw-trainer" }, header, loaded, message, after);
  el.append(root);
  adoptStyles(root, "trainer", controlsCss + css);

  const writeDestination = () => {
    const text = destination.value.slice(0, MAX_DESTINATION);
    if (model.get("destination_text") === text) return;
    model.set("destination_text", text);
    model.save_changes();
  };
  destination.addEventListener("input", writeDestination);
  destination.addEventListener("change", writeDestination);
  history.addEventListener("change", () => {
    if (history.value) sendAction(model, "follow", history.value);
  });

  const draw = () => {
    setMarkup(header, model.get("header"));
    setMarkup(message, model.get("message"));
    setMarkup(note, model.get("note"));
    setMarkup(stage, model.get("stage"));
    const partRefs = (model.get("parts") ?? {}) as Record<string, unknown>;
    const hasForm = typeof partRefs.form === "string";
    loaded.hidden = !hasForm;
    after.hidden = !hasForm;
    const creating = model.get("create_open") === true;
    newModel.setAttribute("aria-pressed", String(creating));
    create.hidden = !creating;
    const text = model.get("destination_text");
    if (typeof text === "string" && destination.value !== text) destination.value = text;
    suggestions.replaceChildren(
      ...strings(model.get("destinations")).map((ref) => h("option", { value: ref })),
    );
    open.hidden = model.get("can_open") !== true;
    const trainings = pairs(model.get("history"));
    setChoices(history, trainings);
    // As tall as its list (two rows at least, six at most): one training in a
    // four-row box looked like a list that failed to load.
    history.size = Math.min(6, Math.max(2, trainings.length));
    const followed = model.get("followed");
    history.value = typeof followed === "string" ? followed : "";
  };
  const traits = [
    "header",
    "message",
    "note",
    "stage",
    "parts",
    "destination_text",
    "destinations",
    "can_open",
    "create_open",
    "history",
    "followed",
  ];
  const stopDrawing = redrawOn(model, traits, draw);
  const stopForwarding = forwardDisconnect(el, () =>
    root.querySelectorAll<HTMLElement>(".rw-part"),
  );
  return () => {
    stop.abort();
    stopForwarding();
    stopDrawing();
    root.remove();
  };
}

export default { render };
