// The controls a composite view draws itself, with one look (shared/controls.css).

import { h } from "./compose";
import controlsCss from "./controls.css";

export { controlsCss };

export interface ButtonOptions {
  primary?: boolean;
  title?: string;
  className?: string;
  onClick?: () => void;
}

/** A button like the Playground's Run (primary) or its other buttons. */
export function button(label: string, options: ButtonOptions = {}): HTMLButtonElement {
  const classes = [
    "rw-button",
    options.primary ? "rw-button-primary" : "",
    options.className ?? "",
  ];
  const made = h("button", {
    type: "button",
    className: classes.filter(Boolean).join(" "),
    title: options.title ?? label,
  });
  made.textContent = label;
  if (options.onClick) made.addEventListener("click", options.onClick);
  return made;
}

/** A one-line text box; `onCommit` runs on Enter and when it loses focus after a change. */
export function textInput(
  options: {
    placeholder?: string;
    label: string;
    className?: string;
    onCommit?: (value: string) => void;
  } = {
    label: "",
  },
): HTMLInputElement {
  const input = h("input", {
    type: "text",
    className: ["rw-input", options.className ?? ""].filter(Boolean).join(" "),
    placeholder: options.placeholder,
    "aria-label": options.label,
  });
  if (options.onCommit) {
    const commit = options.onCommit;
    input.addEventListener("change", () => commit(input.value));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") commit(input.value);
    });
  }
  return input;
}

/** A menu of `[value, label]` choices. */
export function select(
  choices: readonly (readonly [string, string])[],
  options: { label: string; className?: string; onChange?: (value: string) => void },
): HTMLSelectElement {
  const menu = h("select", {
    className: ["rw-select", options.className ?? ""].filter(Boolean).join(" "),
    "aria-label": options.label,
  });
  setChoices(menu, choices);
  if (options.onChange) {
    const change = options.onChange;
    menu.addEventListener("change", () => change(menu.value));
  }
  return menu;
}

/** Replace a menu's choices, keeping its value when it is still one of them. */
export function setChoices(
  menu: HTMLSelectElement,
  choices: readonly (readonly [string, string])[],
): void {
  const value = menu.value;
  menu.replaceChildren(
    ...choices.map(([v, label]) =>
      Object.assign(h("option", { value: v }), { textContent: label }),
    ),
  );
  if (choices.some(([v]) => v === value)) menu.value = value;
}
