// The view side of a composite widget (the kernel's `Composite`): it draws its own
// controls and mounts its parts, other anywidgets, with anywidget's `host`.
//
// `host.getWidget(ref)` is how anywidget (0.11 and later) composes widgets in every
// host: JupyterLab, Notebook 7 and Voilà through anywidget's own front end, marimo
// through its anywidget runtime. A part is referred to as "anywidget:<model id>".

/** What anywidget passes to `render` as `host` (not yet in @anywidget/types 0.4). */
export interface Host {
  getWidget(ref: string): Promise<{
    render(options: { el: HTMLElement; signal?: AbortSignal }): Promise<void>;
  }>;
}

/** The part of a composite's model its views use. */
export interface CompositeModel {
  get(key: string): unknown;
  on(name: string, handler: (...args: never[]) => void): void;
  off(name: string, handler: (...args: never[]) => void): void;
  send(content: Record<string, unknown>): void;
}

import { PART_DISCONNECTED_CLASS } from "./connection";

const DISCONNECTED_CLASS = "jupyter-widgets-disconnected";

/** What a part's place says when the host cannot compose widgets. */
export const NO_HOST =
  "This front end cannot show widgets inside widgets: it needs anywidget 0.11 or later.";

/** Send the action `name` (with `value`) to the kernel's handler for it. */
export function sendAction(model: CompositeModel, name: string, value?: unknown): void {
  try {
    model.send({ kind: "action", name, value: value ?? null });
  } catch {
    // No kernel to tell (it died, or the comm closed); the view says so elsewhere.
  }
}

/**
 * Set an element's markup from a trait the kernel wrote. The kernel builds every
 * such string with its one HTML builder, which escapes whatever came from outside.
 */
export function setMarkup(el: HTMLElement, markup: unknown): void {
  const text = typeof markup === "string" ? markup : "";
  if (el.innerHTML !== text) el.innerHTML = text;
}

/** Make an element: `h("button", { className: "x", type: "button" }, "Run")`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/**
 * Mounts the parts of one view of a composite and keeps them in step with the
 * `parts` trait: a part whose reference changed is torn down and mounted anew, one
 * that did not is left alone (its view keeps its scroll position and focus).
 *
 * What is mounted where is known from `mounted`, never read back from the page: the
 * view may be out of the page when the trait changes (JupyterLab detaches outputs
 * it re-renders and cells scrolled out of a long notebook; anywidget may render
 * into an element not yet attached), and a slot is the same slot either way.
 */
export class Parts {
  private readonly mounted = new Map<
    string,
    { ref: string; el: HTMLElement; stop: AbortController }
  >();
  private readonly places = new Map<string, HTMLElement>();
  private readonly lists = new Map<string, HTMLElement>();

  constructor(
    private readonly model: CompositeModel,
    private readonly host: Host | undefined,
    private readonly signal: AbortSignal,
  ) {
    const onChange = () => this.refresh();
    model.on("change:parts", onChange);
    signal.addEventListener("abort", () => {
      model.off("change:parts", onChange);
      for (const entry of this.mounted.values()) entry.stop.abort();
      this.mounted.clear();
    });
  }

  /** Mount the part called `name` in `el` (empty while there is none). */
  place(name: string, el: HTMLElement): HTMLElement {
    el.classList.add("rw-part");
    this.places.set(name, el);
    this.mountOne(name, el, this.refOf(name));
    return el;
  }

  /** Mount the list of parts called `name` in `el`, one child element each. */
  placeList(name: string, el: HTMLElement): HTMLElement {
    this.lists.set(name, el);
    this.mountList(name, el);
    return el;
  }

  private refOf(name: string): unknown {
    const parts = (this.model.get("parts") ?? {}) as Record<string, unknown>;
    return parts[name];
  }

  private refresh(): void {
    for (const [name, el] of this.places) this.mountOne(name, el, this.refOf(name));
    for (const [name, el] of this.lists) this.mountList(name, el);
  }

  private mountOne(key: string, el: HTMLElement, ref: unknown): void {
    const current = this.mounted.get(key);
    const wanted = typeof ref === "string" ? ref : "";
    if (current?.ref === wanted && current.el === el) return;
    current?.stop.abort();
    this.mounted.delete(key);
    el.replaceChildren();
    if (!wanted) return;
    const stop = new AbortController();
    this.signal.addEventListener("abort", () => stop.abort(), { once: true });
    this.mounted.set(key, { ref: wanted, el, stop });
    void mountPart(this.host, wanted, el, stop.signal);
  }

  private mountList(name: string, el: HTMLElement): void {
    const value = this.refOf(name);
    // A part listed twice is mounted once: one widget has one place in a view.
    const refs = [
      ...new Set(Array.isArray(value) ? value.filter((r) => typeof r === "string") : []),
    ] as string[];
    const prefix = `${name}\u0000`;
    const wanted = new Set(refs);
    for (const [key, entry] of this.mounted) {
      if (key.startsWith(prefix) && !wanted.has(entry.ref)) {
        entry.stop.abort();
        this.mounted.delete(key);
        entry.el.remove();
      }
    }
    const ordered = refs.map((ref) => {
      const entry = this.mounted.get(prefix + ref);
      if (entry?.el.parentElement === el) return entry.el;
      const slot = h("div", { className: "rw-part", "data-part": ref });
      this.mountOne(prefix + ref, slot, ref);
      return slot;
    });
    // Move only slots out of order: a slot taken out and put back loses its
    // scroll position and focus, and its media restart.
    let next = el.firstElementChild;
    for (const slot of ordered) {
      if (slot === next) next = slot.nextElementSibling;
      else el.insertBefore(slot, next);
    }
    while (next) {
      // Nothing of this list's: the list's element holds its slots only.
      const stray = next;
      next = stray.nextElementSibling;
      stray.remove();
    }
  }
}

/** Render the widget `ref` into `el` until `signal` aborts; say why when it cannot. */
export async function mountPart(
  host: Host | undefined,
  ref: string,
  el: HTMLElement,
  signal: AbortSignal,
): Promise<void> {
  if (!host?.getWidget) {
    el.textContent = NO_HOST;
    return;
  }
  try {
    const widget = await host.getWidget(ref);
    if (signal.aborted) return;
    await widget.render({ el, signal });
  } catch (error) {
    if (signal.aborted) return;
    console.error("replicate_widgets: could not show a part", error);
    el.textContent = "Could not show this part: run the cell again.";
  }
}

/**
 * Draw now and again whenever one of `traits` changes. Returns the stop function,
 * which a view's cleanup calls so that a closed view no longer listens.
 */
export function redrawOn(
  model: CompositeModel,
  traits: readonly string[],
  draw: () => void,
): () => void {
  for (const name of traits) model.on(`change:${name}`, draw);
  draw();
  return () => {
    for (const name of traits) model.off(`change:${name}`, draw);
  };
}

/**
 * Mirror the "kernel gone" mark that ipywidgets puts on a view's root element onto
 * the parts' places, where the parts' own views look for it, and tell `onChange`
 * (the composite's own controls go inactive). Returns the stop function.
 */
export function forwardDisconnect(
  root: HTMLElement,
  targets: () => Iterable<HTMLElement>,
  onChange?: (gone: boolean) => void,
): () => void {
  const sync = () => {
    const gone = root.classList.contains(DISCONNECTED_CLASS);
    for (const target of targets()) target.classList.toggle(PART_DISCONNECTED_CLASS, gone);
    onChange?.(gone);
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { attributes: true, attributeFilter: ["class"] });
  sync();
  return () => observer.disconnect();
}
