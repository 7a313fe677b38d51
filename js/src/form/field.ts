// One row of the form: label (with required marker and default), the control for the
// field's kind, the rendered description, and the validation message under it.
import { choiceControl } from "./choice";
import { describe } from "./describe";
import { fileControl } from "./file";
import { jsonControl } from "./json";
import { listControl } from "./list";
import { booleanControl, numberControl, secretControl, textControl } from "./scalar";
import type { Control, ControlContext, Field } from "./types";

export function createControl(ctx: ControlContext): Control {
  switch (ctx.field.kind) {
    case "string":
    case "text":
      return textControl(ctx);
    case "secret":
      return secretControl(ctx);
    case "boolean":
      return booleanControl(ctx);
    case "integer":
    case "number":
      return numberControl(ctx);
    case "choice":
      return choiceControl(ctx);
    case "file":
      return fileControl(ctx);
    case "array":
      return listControl(ctx, createControl);
    default:
      return jsonControl(ctx);
  }
}

/** How a default is shown next to the label; secrets' masked defaults are never shown. */
export function describeDefault(field: Field): string | null {
  if (!field.has_default || field.kind === "secret") return null;
  const d = field.default;
  if (d === null || d === undefined) return null;
  if (typeof d === "string") {
    if (d === "") return "default: empty";
    return `default: ${d.length > 60 ? `${d.slice(0, 57)}…` : d}`;
  }
  const text = JSON.stringify(d);
  return `default: ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`;
}

export interface FieldRow {
  row: HTMLElement;
  control: Control;
  /** Show the kernel's message, or the browser's own (which wins: it is newer). */
  showError(kernel: string | null, local: string | null): void;
}

export function buildField(
  field: Field,
  ids: { control: string; desc: string; error: string },
  ctx: Omit<ControlContext, "field" | "id" | "describedBy">,
): FieldRow {
  const row = document.createElement("div");
  row.className = `rw-form-field rw-form-kind-${field.kind}`;
  row.dataset.field = field.name;

  const head = document.createElement("div");
  head.className = "rw-form-head";
  const label = document.createElement("label");
  label.className = "rw-form-label";
  label.htmlFor = ids.control;
  label.textContent = field.title || field.name;
  head.append(label);
  if (field.required && !field.nullable) {
    const star = document.createElement("span");
    star.className = "rw-form-required";
    star.textContent = "*";
    star.title = "required";
    star.setAttribute("aria-hidden", "true");
    const sr = document.createElement("span");
    sr.className = "rw-form-sr";
    sr.textContent = " (required)";
    label.append(star, sr);
  }
  const name = document.createElement("code");
  name.className = "rw-form-name";
  name.textContent = field.name;
  head.append(name);
  const dflt = describeDefault(field);
  if (dflt !== null) {
    const d = document.createElement("span");
    d.className = "rw-form-default";
    d.textContent = dflt;
    head.append(d);
  }

  const desc = document.createElement("div");
  desc.className = "rw-form-desc";
  desc.id = ids.desc;
  if (field.description) describe(desc, field.description, ctx.loadMarkdown);
  else desc.hidden = true;

  const note = document.createElement("div");
  note.className = "rw-form-problem";
  note.textContent = field.problem ?? "";
  note.hidden = !field.problem;

  const error = document.createElement("div");
  error.className = "rw-form-error";
  error.id = ids.error;
  error.setAttribute("aria-live", "polite");

  const control = createControl({
    ...ctx,
    field,
    id: ids.control,
    describedBy: `${ids.desc} ${ids.error}`,
  });
  const body = document.createElement("div");
  body.className = "rw-form-control";
  if (control.el instanceof HTMLInputElement && control.el.type === "checkbox") {
    // A checkbox sits before its label, as everywhere else: a line of its own per
    // flag would make forms with dozens of flags (disco-diffusion: 24) twice as long.
    head.prepend(control.el);
    body.hidden = true;
  } else {
    body.append(control.el);
  }
  row.append(head, body, error, note, desc);

  return {
    row,
    control,
    showError(kernel, local) {
      const msg = local ?? kernel;
      error.textContent = msg ?? "";
      row.classList.toggle("rw-form-invalid", msg !== null);
      for (const el of body.querySelectorAll("input, textarea, select")) {
        if (msg !== null) el.setAttribute("aria-invalid", "true");
        else el.removeAttribute("aria-invalid");
      }
    },
  };
}
