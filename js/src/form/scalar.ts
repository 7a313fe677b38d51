// Controls for single values: text, prompt text areas, secrets, booleans and numbers.

import { option } from "./choice";
import {
  type Control,
  type ControlContext,
  type Field,
  isOptional,
  isSecretMarker,
  UNSET,
  uid,
  type Value,
} from "./types";

function baseInput(ctx: ControlContext, type: string): HTMLInputElement {
  const input = document.createElement("input");
  input.type = type;
  input.id = ctx.id;
  input.className = "rw-form-input";
  input.setAttribute("aria-describedby", ctx.describedBy);
  if (ctx.field.required && !ctx.field.nullable) input.setAttribute("aria-required", "true");
  return input;
}

/** What an emptied text box means: "" when the field has a default, else "not set". */
function emptyText(field: Field): Value {
  return field.has_default && field.default !== null ? "" : UNSET;
}

export function textControl(ctx: ControlContext): Control {
  const { field } = ctx;
  if (field.kind === "text") {
    const area = document.createElement("textarea");
    area.id = ctx.id;
    area.className = "rw-form-input rw-form-textarea";
    area.rows = 2;
    area.setAttribute("aria-describedby", ctx.describedBy);
    if (field.max_length !== null) area.maxLength = field.max_length;
    // Grow with the prompt instead of scrolling inside a two-line box.
    const grow = () => {
      area.style.height = "auto";
      if (area.scrollHeight > 0) area.style.height = `${area.scrollHeight + 2}px`;
    };
    area.addEventListener("input", () => {
      grow();
      ctx.commit(area.value === "" ? emptyText(field) : area.value);
    });
    return {
      el: area,
      set(value) {
        area.value = value === UNSET || value === null ? "" : String(value);
        requestAnimationFrame(grow);
      },
    };
  }
  const input = baseInput(ctx, "text");
  if (field.max_length !== null) input.maxLength = field.max_length;
  if (field.format === "uri") input.placeholder = "https://…";
  input.addEventListener("input", () =>
    ctx.commit(input.value === "" ? emptyText(field) : input.value),
  );
  return {
    el: input,
    set(value) {
      input.value = value === UNSET || value === null ? "" : String(value);
    },
  };
}

export function secretControl(ctx: ControlContext): Control {
  const input = baseInput(ctx, "password");
  input.autocomplete = "off";
  input.spellcheck = false;
  const placeholder = "kept in the kernel only, never saved in the notebook";
  input.placeholder = placeholder;
  const key = uid("rw-secret");
  // Secrets go to the kernel by message on each change; the synced value is only a marker.
  input.addEventListener("input", () => {
    const marker = ctx.sendSecret(key, input.value);
    ctx.commit(marker ?? UNSET);
  });
  return {
    el: input,
    set(value) {
      if (isSecretMarker(value)) {
        // Another view (or Python's form.set) set it: show that something is there.
        if (input.value === "") input.placeholder = "•••••••• (set in the kernel)";
      } else {
        input.value = "";
        input.placeholder = placeholder;
      }
    },
  };
}

export function booleanControl(ctx: ControlContext): Control {
  const { field } = ctx;
  if (isOptional(field) && !field.has_default) {
    // A checkbox cannot say "not set", and an unset flag means "let the model decide".
    const select = document.createElement("select");
    select.id = ctx.id;
    select.className = "rw-form-input rw-form-select";
    select.setAttribute("aria-describedby", ctx.describedBy);
    for (const [v, label] of [
      ["", "— not set —"],
      ["true", "true"],
      ["false", "false"],
    ]) {
      select.add(option(label, v));
    }
    select.addEventListener("change", () =>
      ctx.commit(select.value === "" ? UNSET : select.value === "true"),
    );
    return {
      el: select,
      set(value) {
        select.value = value === true ? "true" : value === false ? "false" : "";
      },
    };
  }
  const box = baseInput(ctx, "checkbox");
  box.className = "rw-form-checkbox";
  box.addEventListener("change", () => ctx.commit(box.checked));
  return {
    el: box,
    set(value) {
      box.checked = value === true;
    },
  };
}

/** The slider's step: a round number giving about a hundred positions over the range. */
export function sliderStep(field: Field): number {
  if (field.kind === "integer") return 1;
  const span = (field.maximum ?? 1) - (field.minimum ?? 0);
  return 10 ** Math.floor(Math.log10(span / 100));
}

/** A slider helps only over a bounded, not absurdly wide range (seeds go up to 2**32). */
export function wantsSlider(field: Field): boolean {
  const { minimum: lo, maximum: hi } = field;
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return false;
  if (hi <= lo) return false;
  return field.kind === "integer" ? hi - lo <= 10_000 : hi - lo <= 1e6;
}

export function parseNumber(text: string, integer: boolean): number | string {
  const trimmed = text.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) {
    return integer ? "Enter a whole number, like 42." : "Enter a number, like 0.5.";
  }
  const n = Number(trimmed);
  if (integer && !Number.isInteger(n)) return "Enter a whole number (no decimals).";
  return n;
}

export function numberControl(ctx: ControlContext): Control {
  const { field } = ctx;
  const integer = field.kind === "integer";
  const wrap = document.createElement("div");
  wrap.className = "rw-form-number";
  // type=text + inputmode: a type=number box silently drops what it cannot parse,
  // so the person would never learn why their value was ignored.
  const input = baseInput(ctx, "text");
  input.inputMode = integer ? "numeric" : "decimal";
  input.className = "rw-form-input rw-form-numbox";
  wrap.append(input);
  let slider: HTMLInputElement | null = null;
  if (wantsSlider(field)) {
    slider = document.createElement("input");
    slider.type = "range";
    slider.className = "rw-form-slider";
    slider.min = String(field.minimum);
    slider.max = String(field.maximum);
    slider.step = String(sliderStep(field));
    slider.setAttribute("aria-label", `${field.title} (slider)`);
    slider.setAttribute("aria-describedby", ctx.describedBy);
    wrap.append(slider);
    const s = slider;
    s.addEventListener("input", () => {
      const n = integer ? Math.round(Number(s.value)) : Number(s.value);
      input.value = String(n);
      ctx.localError(null);
      ctx.commit(n);
    });
  }
  input.addEventListener("input", () => {
    if (input.value.trim() === "") {
      ctx.localError(null);
      ctx.commit(UNSET);
      return;
    }
    const parsed = parseNumber(input.value, integer);
    if (typeof parsed === "string") {
      ctx.localError(parsed);
      return;
    }
    ctx.localError(null);
    if (slider) slider.value = String(parsed);
    ctx.commit(parsed);
  });
  return {
    el: wrap,
    set(value) {
      const shown = typeof value === "number" ? String(value) : "";
      if (input.value !== shown) input.value = shown;
      if (slider && typeof value === "number") slider.value = String(value);
    },
  };
}
