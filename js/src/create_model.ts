// CreateModel: the fields of a new model (owner, name, description, visibility,
// hardware, links), a note under each saying what to change, the Create button, a
// message and the created model's summary. What the person types goes to the
// kernel's `entries` trait, which checks it; the kernel builds the notes' markup.
import css from "./create_model/create_model.css";
import {
  type CompositeModel,
  forwardDisconnect,
  h,
  redrawOn,
  sendAction,
  setMarkup,
} from "./shared/compose";
import { button, controlsCss, setChoices } from "./shared/controls";
import { adoptStyles } from "./shared/styles";

interface CreateModelModel extends CompositeModel {
  set(key: "entries", value: Record<string, string>): void;
  save_changes(): void;
}

interface Props {
  model: CreateModelModel;
  el: HTMLElement;
}

/** The longest value the kernel takes (MAX_CHARS in _widgets/catalog/create_model.py). */
const MAX_CHARS = 5000;
const VISIBILITIES = ["private", "public"] as const;
const PLACEHOLDERS: Record<string, string> = {
  owner: "your username",
  name: "e.g. hot-dog-detector",
  description: "One line about what it does",
};

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function render({ model, el }: Props): () => void {
  const controls = new Map<string, Control>();
  const notes = new Map<string, HTMLElement>();
  const visibility = new Map<string, HTMLButtonElement>();

  const write = (key: string, value: string) => {
    const entries = record(model.get("entries"));
    if (entries[key] === value) return;
    model.set("entries", { ...(entries as Record<string, string>), [key]: value });
    model.save_changes();
  };

  const fieldControl = (key: string, label: string): HTMLElement => {
    if (key === "visibility") {
      const group = h("div", { className: "rw-create-toggle", role: "group", "aria-label": label });
      for (const choice of VISIBILITIES) {
        const b = button(choice, { onClick: () => write("visibility", choice) });
        visibility.set(choice, b);
        group.append(b);
      }
      return group;
    }
    let control: Control;
    if (key === "hardware") {
      control = h("select", { className: "rw-select", "aria-label": label });
      control.addEventListener("change", () => write(key, control.value));
    } else {
      const props = {
        className: "rw-input",
        "aria-label": label,
        placeholder: PLACEHOLDERS[key] ?? "https://...",
        maxlength: String(MAX_CHARS),
        spellcheck: "false",
      };
      control =
        key === "description"
          ? h("textarea", { ...props, rows: "2", spellcheck: "true" })
          : h("input", { ...props, type: "text", autocomplete: "off" });
      control.addEventListener("input", () => write(key, control.value.slice(0, MAX_CHARS)));
    }
    controls.set(key, control);
    return control;
  };

  const fields = h("div", { className: "rw-create-fields" });
  const labels = record(model.get("labels"));
  for (const [key, label] of Object.entries(labels)) {
    if (typeof label !== "string") continue;
    const note = h("div", { className: "rw-field-error" });
    notes.set(key, note);
    const slug = key.replace(/_/g, "-");
    fields.append(
      h(
        "div",
        { className: `rw-create-field rw-create-${slug}` },
        h("span", { className: "rw-create-label" }, label),
        fieldControl(key, label),
      ),
      note,
    );
  }
  const create = button("Create model", {
    primary: true,
    className: "rw-create-button",
    onClick: () => sendAction(model, "create"),
  });
  const message = h("div", { className: "rw-create-message" });
  const summary = h("div", { className: "rw-create-result" });
  const root = h("div", { className: "rw-view rw-create-model" }, fields, create, message, summary);
  el.append(root);
  adoptStyles(root, "create-model", controlsCss + css);

  const draw = () => {
    const entries = record(model.get("entries"));
    const hardware = controls.get("hardware") as HTMLSelectElement | undefined;
    if (hardware) {
      const skus = (model.get("hardware_choices") ?? []) as unknown[];
      setChoices(
        hardware,
        skus.filter((s): s is string => typeof s === "string").map((s) => [s, s] as const),
      );
    }
    for (const [key, control] of controls) {
      const value = text(entries[key]);
      if (control.value !== value) control.value = value;
    }
    for (const [choice, b] of visibility) {
      b.setAttribute("aria-pressed", String(entries.visibility === choice));
    }
    const noteMarkup = record(model.get("notes"));
    for (const [key, note] of notes) setMarkup(note, noteMarkup[key]);
    setMarkup(message, model.get("message"));
    setMarkup(summary, model.get("summary"));
    create.disabled = model.get("disabled") === true;
  };
  const traits = ["entries", "hardware_choices", "notes", "message", "summary", "disabled"];
  const stopDrawing = redrawOn(model, traits, draw);
  const stopForwarding = forwardDisconnect(el, () => [root]);
  return () => {
    stopForwarding();
    stopDrawing();
    root.remove();
  };
}

export default { render };
