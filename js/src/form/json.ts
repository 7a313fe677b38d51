// The fallback editor for objects, unions (anyOf) and anything the form has no
// better control for: JSON text, parsed as the person types.
import { type Control, type ControlContext, UNSET } from "./types";

export function jsonControl(ctx: ControlContext): Control {
  const area = document.createElement("textarea");
  area.id = ctx.id;
  area.className = "rw-form-input rw-form-json";
  area.rows = 3;
  area.spellcheck = false;
  area.placeholder = 'JSON, for example {"key": "value"}';
  area.setAttribute("aria-describedby", ctx.describedBy);
  area.addEventListener("input", () => {
    if (area.value.trim() === "") {
      ctx.localError(null);
      ctx.commit(UNSET);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(area.value);
      ctx.localError(null);
      ctx.commit(parsed);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      ctx.localError(`Not valid JSON: ${why}. Strings need "double quotes".`);
    }
  });
  return {
    el: area,
    set(value) {
      if (value === UNSET) {
        area.value = "";
        return;
      }
      // Keep the person's own formatting when it already means the same value.
      try {
        if (JSON.stringify(JSON.parse(area.value)) === JSON.stringify(value)) return;
      } catch {
        // not JSON yet: replace it
      }
      area.value = JSON.stringify(value, null, 2);
    },
  };
}
