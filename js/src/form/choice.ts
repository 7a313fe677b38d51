// Dropdowns for enum fields. Short lists use a native <select>; long ones (real
// schemas have 213 languages and 1001 ImageNet classes) get a searchable combobox
// following the WAI-ARIA combobox pattern, so typing narrows the list.
import { type Control, type ControlContext, isOptional, UNSET, uid, type Value } from "./types";

/** Lists longer than this get the searchable combobox. */
export const SEARCH_THRESHOLD = 30;
/** How many matches the combobox shows at once; typing narrows further. */
export const MAX_SHOWN = 100;
const UNSET_LABEL = "— not set —";

/** `new Option()` is missing from some DOMs; this works in all of them. */
export function option(label: string, value: string): HTMLOptionElement {
  const o = document.createElement("option");
  o.textContent = label;
  o.value = value;
  return o;
}

/** The explicit "not set" entry: optional fields with no default must be able to stay empty. */
function offersUnset(ctx: ControlContext): boolean {
  const f = ctx.field;
  return isOptional(f) && (!f.has_default || f.default === null);
}

function indexOf(choices: unknown[], value: Value): number {
  if (value === UNSET || value === null) return -1;
  // Choices keep their JSON type (integer enums are common); compare by value and type.
  return choices.indexOf(value);
}

export function choiceControl(ctx: ControlContext): Control {
  const choices = ctx.field.choices ?? [];
  return choices.length > SEARCH_THRESHOLD
    ? comboboxControl(ctx, choices)
    : selectControl(ctx, choices);
}

function selectControl(ctx: ControlContext, choices: unknown[]): Control {
  const select = document.createElement("select");
  select.id = ctx.id;
  select.className = "rw-form-input rw-form-select";
  select.setAttribute("aria-describedby", ctx.describedBy);
  // A required field with no default starts with nothing chosen, and the list must say so.
  const needsBlank = offersUnset(ctx) || !ctx.field.has_default;
  if (needsBlank) {
    select.add(option(offersUnset(ctx) ? UNSET_LABEL : "— choose one —", ""));
  }
  choices.forEach((c, i) => {
    select.add(option(String(c), String(i)));
  });
  select.addEventListener("change", () =>
    ctx.commit(select.value === "" ? UNSET : choices[Number(select.value)]),
  );
  return {
    el: select,
    set(value) {
      const i = indexOf(choices, value);
      select.value = i >= 0 ? String(i) : "";
    },
  };
}

function comboboxControl(ctx: ControlContext, choices: unknown[]): Control {
  const wrap = document.createElement("div");
  wrap.className = "rw-form-combo";
  const input = document.createElement("input");
  input.type = "text";
  input.id = ctx.id;
  input.className = "rw-form-input";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-describedby", ctx.describedBy);
  input.placeholder = `Type to search ${choices.length} choices`;
  const list = document.createElement("ul");
  list.className = "rw-form-listbox";
  list.id = uid("rw-listbox");
  list.setAttribute("role", "listbox");
  list.hidden = true;
  input.setAttribute("aria-controls", list.id);
  wrap.append(input, list);

  const labels = choices.map((c) => String(c));
  const unset = offersUnset(ctx);
  let current: Value = UNSET;
  let shown: number[] = []; // indexes into choices; -1 is the "not set" entry
  let active = -1;

  const labelOf = (v: Value) => {
    const i = indexOf(choices, v);
    return i >= 0 ? labels[i] : "";
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const highlight = (pos: number) => {
    active = pos;
    list.querySelectorAll<HTMLElement>("[role=option]").forEach((li, j) => {
      li.setAttribute("aria-selected", String(j === pos));
      if (j === pos) {
        input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView?.({ block: "nearest" });
      }
    });
  };
  const open = (query: string) => {
    const q = query.trim().toLowerCase();
    const matches: number[] = [];
    if (unset && q === "") matches.push(-1);
    for (let i = 0; i < labels.length && matches.length < MAX_SHOWN + 1; i++) {
      if (q === "" || labels[i].toLowerCase().includes(q)) matches.push(i);
    }
    const more = matches.length > MAX_SHOWN;
    shown = matches.slice(0, MAX_SHOWN);
    list.replaceChildren();
    shown.forEach((ci, j) => {
      const li = document.createElement("li");
      li.id = `${list.id}-${j}`;
      li.setAttribute("role", "option");
      li.textContent = ci === -1 ? UNSET_LABEL : labels[ci];
      li.dataset.index = String(ci);
      // mousedown, not click: it fires before the input's blur closes the list.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        choose(ci);
      });
      list.append(li);
    });
    if (shown.length === 0) {
      const li = document.createElement("li");
      li.className = "rw-form-listbox-note";
      li.textContent = "No choice matches; try fewer letters.";
      list.append(li);
    } else if (more) {
      const li = document.createElement("li");
      li.className = "rw-form-listbox-note";
      li.textContent = `Showing the first ${MAX_SHOWN} matches; type to narrow.`;
      list.append(li);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(shown.length > 0 ? 0 : -1);
  };
  const choose = (ci: number) => {
    current = ci === -1 ? UNSET : choices[ci];
    input.value = ci === -1 ? "" : labels[ci];
    close();
    ctx.localError(null);
    ctx.commit(current);
  };
  input.addEventListener("input", () => open(input.value));
  input.addEventListener("focus", () => input.select());
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (list.hidden) open("");
      else if (shown.length > 0) {
        const step = e.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + shown.length) % shown.length);
      }
    } else if (e.key === "Enter" && !list.hidden && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      if (active >= 0) choose(shown[active]);
    } else if (e.key === "Escape" && !list.hidden) {
      e.preventDefault();
      e.stopPropagation();
      close();
      input.value = labelOf(current);
    }
  });
  input.addEventListener("blur", () => {
    close();
    // Typed text that is exactly a choice counts; anything else goes back to the value.
    const exact = labels.indexOf(input.value);
    if (exact >= 0 && choices[exact] !== current) choose(exact);
    else if (input.value === "" && unset && current !== UNSET) choose(-1);
    else input.value = labelOf(current);
  });
  return {
    el: wrap,
    set(value) {
      current = indexOf(choices, value) >= 0 ? value : UNSET;
      if (document.activeElement !== input) input.value = labelOf(current);
    },
  };
}
