// One copy of each view's stylesheet per page, however many views are shown.
//
// A `<style>` per view instance made a 20-panel Compare carry 20+ copies of the same
// CSS, each parsed and matched on its own. Instead each stylesheet is one constructable
// `CSSStyleSheet` per document, adopted once by the document or shadow root the view
// lives in: JupyterLab renders widgets in the document, marimo inside shadow roots
// (where a style in document.head would not reach). Every view type is its own bundle,
// so the sheets are kept on the document (under a global symbol), not in this module.
// The rules stay scoped under their `:where(.rw-...)` roots, so adopting them into the
// whole document styles nothing else.

/** Where the shared sheets of a document are kept: key -> sheet. Tests read it too. */
export const SHEETS = Symbol.for("replicate-widgets.stylesheets");

/** How many animation frames to wait for a view to be attached before keeping its `<style>`. */
export const ATTACH_FRAMES = 600;

type StyleRoot = Document | ShadowRoot;
type Registry = Map<string, CSSStyleSheet>;
type Holder = Document & { [SHEETS]?: Registry };

function constructable(doc: Document): boolean {
  const Sheet = doc.defaultView?.CSSStyleSheet;
  return (
    typeof Sheet === "function" &&
    typeof Sheet.prototype.replaceSync === "function" &&
    "adoptedStyleSheets" in doc
  );
}

/** The document or shadow root `node` is in, or null while it is detached. */
function styleRoot(node: Node): StyleRoot | null {
  const root = node.getRootNode();
  if (root.nodeType === Node.DOCUMENT_NODE) return root as Document;
  if (root.nodeType === Node.DOCUMENT_FRAGMENT_NODE && "host" in root) return root as ShadowRoot;
  return null;
}

/** The CSS text each shared sheet was last made from. */
const SOURCE = new WeakMap<CSSStyleSheet, string>();

/** The document's one sheet for `key`, made (or brought up to `css`) on first use. */
function sharedSheet(doc: Document, key: string, css: string): CSSStyleSheet {
  const holder = doc as Holder;
  holder[SHEETS] ??= new Map();
  let sheet = holder[SHEETS].get(key);
  if (!sheet) {
    // A constructed sheet may only be adopted in the document whose realm made it.
    const Sheet = doc.defaultView?.CSSStyleSheet ?? CSSStyleSheet;
    sheet = new Sheet();
    holder[SHEETS].set(key, sheet);
  }
  // Another bundle's CSS under the same key (the widget code reloaded in a kept page):
  // the newest wins, for every view. Views of one bundle pass the same string.
  if (SOURCE.get(sheet) !== css) {
    sheet.replaceSync(css);
    SOURCE.set(sheet, css);
  }
  return sheet;
}

/** Adopt `key`'s shared sheet into the root `node` is in; false while it is detached. */
function adopt(node: HTMLElement, key: string, css: string): boolean {
  const root = styleRoot(node);
  if (!root) return false;
  const sheet = sharedSheet(node.ownerDocument, key, css);
  const adopted = root.adoptedStyleSheets;
  // Assigning a new array works in every browser with constructable sheets (not
  // every one lets the array be pushed to).
  if (!adopted.includes(sheet)) root.adoptedStyleSheets = [...adopted, sheet];
  return true;
}

/**
 * Style the view whose root element is `root` with `css`, shared under `key` by every
 * view of the page. Until the view is attached (anywidget may render into a detached
 * element) a `<style>` in `root` styles it; it is dropped once the shared sheet is
 * adopted. Without constructable stylesheets that `<style>` stays.
 */
export function adoptStyles(root: HTMLElement, key: string, css: string): void {
  const doc = root.ownerDocument;
  if (constructable(doc) && adopt(root, key, css)) return;
  const style = doc.createElement("style");
  style.dataset.rwSheet = key;
  style.textContent = css;
  root.prepend(style);
  if (!constructable(doc)) return;
  let frames = 0;
  const retry = () => {
    if (adopt(root, key, css)) style.remove();
    else if (frames++ < ATTACH_FRAMES) requestAnimationFrame(retry);
  };
  queueMicrotask(retry);
}
