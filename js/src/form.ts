// InputForm: one anywidget view for a model's whole input form. State lives in
// traits (`fields`, `values`, `errors`, `disabled`, `busy`); events are custom
// messages with a `kind`: `submit` (with the values shown), `reset`, `file` (bytes in
// a buffer) and `secret` (secret values never enter a trait, so never the saved notebook).
import type { AnyModel, RenderProps } from "@anywidget/types";
import type { MarkdownPart } from "./form/describe";
import { buildField, type FieldRow } from "./form/field";
import css from "./form/form.css";
import {
  type ControlContext,
  type Field,
  type FileMarker,
  type FormState,
  type SecretMarker,
  UNSET,
  uid,
  type Value,
} from "./form/types";
import { NOT_CONNECTED, watchConnection } from "./shared/connection";
import { loadPart } from "./shared/loader";
import { adoptStyles } from "./shared/styles";

/** JS -> Python value saves are debounced: typing must not send a message per key. */
export const SAVE_DELAY_MS = 200;

type Model = AnyModel<FormState & Record<string, unknown>>;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function render({ model, el }: RenderProps<FormState>): () => void {
  const m = model as unknown as Model;
  const root = document.createElement("div");
  root.className = "rw-form";
  const fieldset = document.createElement("fieldset");
  fieldset.className = "rw-form-fields";
  const legend = document.createElement("legend");
  legend.className = "rw-form-sr";
  legend.textContent = "Model inputs";
  fieldset.append(legend);

  const bar = document.createElement("div");
  bar.className = "rw-form-bar";
  const run = document.createElement("button");
  run.type = "button";
  run.className = "rw-form-button rw-form-run";
  run.title = "Run (Ctrl+Enter)";
  const reset = document.createElement("button");
  reset.type = "button";
  reset.className = "rw-form-button rw-form-reset";
  reset.textContent = "Reset to defaults";
  const status = document.createElement("div");
  status.className = "rw-form-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  bar.append(run, reset, status);
  root.append(fieldset, bar);
  el.append(root);
  adoptStyles(root, "form", css);

  // Without a kernel, Run would do nothing: say so instead (see ./connection).
  let connected = true;
  let values: Record<string, unknown> = { ...(m.get("values") ?? {}) };
  let shown: Record<string, unknown> = { ...values }; // what the kernel last told us
  let rows = new Map<string, FieldRow>();
  const localErrors = new Map<string, string>();
  // Required fields the person has not reached yet are not shown as errors (a fresh
  // form full of red is noise); the bar says what is left to fill in instead.
  const touched = new Set<string>();
  const isEmpty = (v: unknown) => v === undefined || v === null || v === "";
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Set by an upload: the marker that follows the bytes is saved at once, not debounced.
  let urgent = false;

  const save = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    // Our own change event must not be mistaken for news from the kernel.
    shown = { ...values };
    m.set("values", { ...values });
    m.save_changes();
  };
  const scheduleSave = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };

  const refreshState = () => {
    const errors = m.get("errors") ?? {};
    const fields: Field[] = m.get("fields") ?? [];
    const toFill = fields.filter(
      (f) => f.required && errors[f.name] && !touched.has(f.name) && isEmpty(values[f.name]),
    );
    const waiting = new Set(toFill.map((f) => f.name));
    for (const [name, row] of rows) {
      row.showError(
        waiting.has(name) ? null : (errors[name] ?? null),
        localErrors.get(name) ?? null,
      );
    }
    const known = new Set(rows.keys());
    const general = Object.entries(errors)
      .filter(([k]) => !known.has(k))
      .map(([, v]) => v);
    const problems = new Set([...Object.keys(errors), ...localErrors.keys()]).size;
    const blocked = m.get("disabled") || m.get("busy") || !connected;
    fieldset.disabled = m.get("disabled") || !connected;
    reset.disabled = blocked;
    run.disabled = blocked || problems > 0;
    // A run the kernel can no longer report on is not shown as running.
    run.textContent = m.get("busy") && connected ? "Running…" : m.get("submit_label") || "Run";
    run.hidden = m.get("submit_label") === "";
    root.classList.toggle("rw-form-busy", m.get("busy"));
    const message = connected ? m.get("message") : NOT_CONNECTED;
    const parts = (connected ? [...general, message] : [message]).filter((s) => s);
    const shownProblems = problems - waiting.size;
    if (parts.length === 0 && shownProblems > 0) {
      parts.push(
        `Fix ${shownProblems === 1 ? "the highlighted field" : `${shownProblems} fields`} to run.`,
      );
    } else if (parts.length === 0 && waiting.size > 0) {
      parts.push(`Fill in ${toFill.map((f) => f.title || f.name).join(", ")} to run.`);
    }
    status.textContent = parts.join(" ");
  };

  const submit = () => {
    if (run.disabled || run.hidden) {
      // A blocked attempt to run: now show every problem, including empty required
      // fields the person has not reached.
      for (const name of rows.keys()) touched.add(name);
      refreshState();
      return;
    }
    save(); // the kernel validates what it has, so it must have the latest values first
    // ...and the message carries them too: a front end may deliver the save after the
    // message (marimo does), and the run would then take the previous values.
    m.send({ kind: "submit", values: { ...values } });
  };

  const contextFor = (field: Field): Omit<ControlContext, "field" | "id" | "describedBy"> => ({
    commit(value: Value) {
      touched.add(field.name);
      if (value === UNSET) delete values[field.name];
      else values[field.name] = value;
      if (urgent) {
        urgent = false;
        save();
      } else scheduleSave();
    },
    localError(message) {
      if (message) localErrors.set(field.name, message);
      else localErrors.delete(field.name);
      refreshState();
    },
    async upload(file: File): Promise<FileMarker> {
      const bytes = await file.arrayBuffer();
      const marker: FileMarker = {
        __file__: uid("rw-file"),
        name: file.name,
        size: file.size,
        type: file.type,
      };
      m.send({ kind: "file", field: field.name, ...marker }, undefined, [bytes]);
      // The marker follows the bytes at once: the kernel drops uploads nothing refers to.
      urgent = true;
      return marker;
    },
    sendSecret(key: string, value: string): SecretMarker | null {
      m.send({ kind: "secret", field: field.name, key, value });
      return value === "" ? null : { __secret__: key };
    },
    maxUploadBytes: () => m.get("max_upload_bytes"),
    loadMarkdown: () => loadPart<MarkdownPart>(model as never, "markdown"),
  });

  const build = () => {
    for (const row of rows.values()) row.control.destroy?.();
    rows = new Map();
    localErrors.clear();
    fieldset.replaceChildren(legend);
    const fields = [...(m.get("fields") ?? [])];
    const current = fields.filter((f) => !f.deprecated);
    const deprecated = fields.filter((f) => f.deprecated);
    const add = (field: Field, parent: HTMLElement) => {
      const base = uid(`rw-${field.name}`);
      const row = buildField(
        field,
        { control: `${base}-control`, desc: `${base}-desc`, error: `${base}-error` },
        contextFor(field),
      );
      row.control.set(field.name in values ? values[field.name] : UNSET);
      rows.set(field.name, row);
      parent.append(row.row);
    };
    for (const f of current) add(f, fieldset);
    if (deprecated.length > 0) {
      const details = document.createElement("details");
      details.className = "rw-form-deprecated";
      const summary = document.createElement("summary");
      summary.textContent = `Deprecated (${deprecated.length})`;
      details.append(summary);
      for (const f of deprecated) add(f, details);
      fieldset.append(details);
    }
    if (fields.length === 0) {
      const empty = document.createElement("p");
      empty.className = "rw-form-empty";
      empty.textContent = "This model takes no inputs.";
      fieldset.append(empty);
    }
    refreshState();
  };

  const onValues = () => {
    const next: Record<string, unknown> = { ...(m.get("values") ?? {}) };
    for (const name of new Set([...Object.keys(shown), ...Object.keys(next)])) {
      if (sameJson(shown[name], next[name])) continue;
      if (name in next) values[name] = next[name];
      else delete values[name];
      rows.get(name)?.control.set(name in next ? next[name] : UNSET);
    }
    shown = next;
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
    // JupyterLab's notebook shortcuts listen on the document and would swallow keys
    // meant for the controls (arrows on a slider, Ctrl+Enter running the cell), as
    // ipywidgets' own text boxes also prevent. Escape still leaves for the notebook.
    if (e.key !== "Escape") e.stopPropagation();
  };
  const onReset = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    values = { ...(m.get("values") ?? {}) };
    shown = { ...values };
    // Throw away half-typed text too: the kernel may send no change if nothing changed.
    build();
    m.send({ kind: "reset" });
  };

  run.addEventListener("click", submit);
  reset.addEventListener("click", onReset);
  root.addEventListener("keydown", onKey);
  m.on("change:fields", build);
  m.on("change:values", onValues);
  for (const name of ["errors", "disabled", "busy", "submit_label", "message"]) {
    m.on(`change:${name}`, refreshState);
  }
  build();
  const stopWatching = watchConnection(el, m.widget_manager, () => {
    connected = false;
    root.dataset.connection = "lost";
    refreshState();
  });

  return () => {
    stopWatching();
    if (timer !== null) {
      clearTimeout(timer);
      save();
    }
    for (const row of rows.values()) row.control.destroy?.();
    root.removeEventListener("keydown", onKey);
    m.off("change:fields", build);
    m.off("change:values", onValues);
    for (const name of ["errors", "disabled", "busy", "submit_label", "message"]) {
      m.off(`change:${name}`, refreshState);
    }
  };
}

export default { render };
