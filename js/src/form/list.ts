// The list editor for array fields: one row per item, each edited by the control
// for the item type (text, numbers, files, secrets...), with add and remove buttons.
import {
  type Control,
  type ControlContext,
  type Field,
  isOptional,
  UNSET,
  uid,
  type Value,
} from "./types";

export type MakeControl = (ctx: ControlContext) => Control;

function itemField(field: Field): Field {
  const base: Field = field.items ?? { ...field, kind: "json", items: null };
  // Items are never "not set": an empty row is removed instead.
  return { ...base, name: `${field.name}[]`, title: `${field.title} item`, required: true };
}

export function listControl(ctx: ControlContext, make: MakeControl): Control {
  const { field } = ctx;
  const wrap = document.createElement("div");
  wrap.className = "rw-form-list";
  wrap.id = ctx.id;
  wrap.setAttribute("role", "group");
  wrap.tabIndex = -1;
  const rows = document.createElement("ol");
  rows.className = "rw-form-list-rows";
  const add = document.createElement("button");
  add.type = "button";
  add.className = "rw-form-button";
  add.textContent = "+ Add item";
  add.setAttribute("aria-label", `Add an item to ${field.title}`);
  wrap.append(rows, add);

  let items: unknown[] = [];
  const problems = new Map<number, string>();
  let controls: Control[] = [];

  const emit = () => {
    const msgs = [...problems.entries()].map(([i, m]) => `Item ${i + 1}: ${m}`);
    ctx.localError(msgs.length > 0 ? msgs.join(" ") : null);
    const emptyMeansUnset = isOptional(field) && !field.has_default;
    ctx.commit(items.length === 0 && emptyMeansUnset ? UNSET : [...items]);
  };

  const build = () => {
    for (const c of controls) c.destroy?.();
    controls = [];
    rows.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.className = "rw-form-list-row";
      const sub: ControlContext = {
        ...ctx,
        field: itemField(field),
        id: uid("rw-item"),
        commit(v: Value) {
          const kind = itemField(field).kind;
          const blank = kind === "string" || kind === "text" ? "" : null;
          items[i] = v === UNSET ? blank : v;
          emit();
        },
        localError(m) {
          if (m) problems.set(i, m);
          else problems.delete(i);
          const msgs = [...problems.entries()].map(([j, msg]) => `Item ${j + 1}: ${msg}`);
          ctx.localError(msgs.length > 0 ? msgs.join(" ") : null);
        },
      };
      const control = make(sub);
      control.set(item === null ? UNSET : item);
      const label = document.createElement("label");
      label.className = "rw-form-sr";
      label.htmlFor = sub.id;
      label.textContent = `${field.title} item ${i + 1}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "rw-form-button rw-form-list-remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove item ${i + 1} of ${field.title}`);
      remove.addEventListener("click", () => {
        items.splice(i, 1);
        problems.clear();
        build();
        emit();
      });
      li.append(label, control.el, remove);
      rows.append(li);
      controls.push(control);
    });
  };

  add.addEventListener("click", () => {
    const kind = itemField(field).kind;
    // A new row starts with a value of its own type, so the list stays valid JSON-wise.
    const blank: Record<string, unknown> = { integer: 0, number: 0, boolean: false, string: "" };
    items.push(kind in blank ? blank[kind] : null);
    build();
    emit();
    const last = rows.lastElementChild?.querySelector<HTMLElement>("input, textarea, select");
    last?.focus();
  });

  return {
    el: wrap,
    set(value) {
      const next = Array.isArray(value) ? [...value] : [];
      if (JSON.stringify(next) === JSON.stringify(items)) return;
      items = next;
      problems.clear();
      build();
    },
    destroy() {
      for (const c of controls) c.destroy?.();
    },
  };
}
