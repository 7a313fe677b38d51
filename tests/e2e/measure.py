"""Measurements taken in the page for the layout tests: boxes, contrast, CSS leaks.

Each constant is a JavaScript function for ``page.evaluate``; the numbers come from
the browser's own layout and computed styles, so they measure what a person sees.
Shared by the browser tests (no ``test_`` prefix, so pytest does not collect it).
"""

from __future__ import annotations

# The root element of every view, as its stylesheet names it. Rules of a view's
# stylesheet must match only inside one of these.
VIEW_ROOTS = (
    "rw-view",
    "rw-playground",
    "rw-panel",
    "rw-form",
    "rw-code",
    "rw-login",
    "rw-model-browser",
    "rw-browser-tile",
    "rw-compare",
    "rw-create-model",
    "rw-history",
    "rw-trainer",
)

# The bounding box of each selector's first match inside the element `root`
# (`null` when it has none or it is not rendered).
BOXES = """([root, selectors]) => {
  const base = typeof root === 'string' ? document.querySelector(root) : root;
  const out = {};
  for (const [name, sel] of Object.entries(selectors)) {
    const el = sel === ':scope' ? base : base.querySelector(sel);
    if (!el || !el.getClientRects().length) { out[name] = null; continue; }
    const r = el.getBoundingClientRect();
    out[name] = {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                 width: r.width, height: r.height};
  }
  return out;
}"""

# WCAG 2 contrast of every piece of text inside the widgets, computed from computed
# colours: the text colour (with its alpha and its ancestors' opacity) over the
# effective background, found by compositing the backgrounds of the ancestors up to
# the first opaque one (the page's canvas, white, below them all). Text of disabled
# controls is left out (WCAG exempts inactive components), as is text hidden from
# sight (screen-reader-only labels). Returns one entry per text-bearing element.
CONTRAST = """(rootSelector) => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map(
    (i) => top[i] * top[3] + below[i] * (1 - top[3])).concat([1]);
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  // Only the widget's own elements say what a text is (JupyterLab's jp-Notebook
  // around it must not make every text a "note").
  const within = (el, root, sel) => {
    const hit = el.closest(sel);
    return !!hit && root.contains(hit);
  };
  const notices = ['[class*="notice"]', '[class*="message"]', '[class*="hint"]',
    '[class*="-note"]', '[class*="status"]', '.rw-error', '.rw-problem'].join(', ');
  const kind = (el, root) => {
    if (within(el, root, '.rw-phase')) return 'status chip';
    if (within(el, root, '.rw-badge')) return 'badge';
    if (within(el, root, 'button, .rw-button, select')) return 'button';
    if (within(el, root, notices)) return 'notice';
    return 'text';
  };
  const seen = new Map();
  const consider = (el, root) => {
    if (seen.has(el)) return;
    if (el.closest(':disabled, [aria-disabled="true"]')) return;
    if (!el.checkVisibility({opacityProperty: false, visibilityProperty: true})) return;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return;  // screen-reader-only text
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    const alpha = fg[3] * opacity(el);
    const bg = background(el);
    const text = over([fg[0], fg[1], fg[2], alpha], bg);
    const [a, b] = [lum(text), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const label = (el.innerText || el.value || '').trim().slice(0, 40);
    seen.set(el, {
      kind: kind(el, root), ratio: Math.round(ratio * 100) / 100, text: label,
      color: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round)})`,
      cls: String(el.className).slice(0, 60),
    });
  };
  for (const root of document.querySelectorAll(rootSelector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      if (!el || el.closest('style, script, textarea, option')) continue;
      consider(el, root);
    }
    const fields = 'input[type=text], input[type=number], input:not([type]), '
      + 'textarea, select';
    for (const field of root.querySelectorAll(fields)) {
      if (field.value) consider(field, root);
    }
  }
  return [...seen.values()];
}"""

# Rules of the views' stylesheets that match outside every view. The views' markup
# is copied into a decoy outside the widgets with every root class taken off, so an
# unscoped rule such as `.rw-notice {...}` finds its element there; a scoped one
# (`:where(.rw-panel) .rw-notice`) cannot. Returns the leaking selectors.
LEAKS = """(roots) => {
  const rootSel = roots.map((r) => '.' + r).join(',');
  const sheets = [];
  // A view keeps a <style> of its own only while detached or without constructable
  // sheets; otherwise its stylesheet is the shared sheet kept under this symbol.
  for (const style of document.querySelectorAll('style')) {
    if (style.parentElement?.closest(rootSel) && style.sheet) sheets.push(style.sheet);
  }
  const shared = document[Symbol.for('replicate-widgets.stylesheets')];
  if (shared) sheets.push(...shared.values());
  const decoy = document.createElement('div');
  decoy.className = 'rw-leak-decoy';
  for (const root of document.querySelectorAll(rootSel)) {
    if (root.parentElement?.closest(rootSel)) continue;
    decoy.append(root.cloneNode(true));
  }
  for (const el of [decoy, ...decoy.querySelectorAll('*')]) {
    for (const r of roots) el.classList.remove(r);
  }
  decoy.querySelectorAll('style').forEach((s) => s.remove());
  document.body.append(decoy);
  const leaks = new Set();
  let rules = 0;
  const walk = (list) => {
    for (const rule of list) {
      if (rule.selectorText !== undefined) {
        rules += 1;
        for (const sel of rule.selectorText.split(',')) {
          const plain = sel.replace(/::?(before|after|placeholder|marker)\\b.*$/, '');
          try {
            const hit = decoy.querySelector(plain) || decoy.matches(plain);
            if (hit) leaks.add(sel.trim());
          } catch (e) { leaks.add('unparsable: ' + sel); }
        }
      }
      if (rule.cssRules) walk(rule.cssRules);
    }
  };
  for (const sheet of sheets) walk(sheet.cssRules);
  decoy.remove();
  return {sheets: sheets.length, rules, leaks: [...leaks]};
}"""


def worst(entries: list[dict[str, object]]) -> dict[str, float]:
    """The lowest contrast ratio per kind of text (chip, badge, button, ...)."""
    low: dict[str, float] = {}
    for entry in entries:
        kind, ratio = str(entry["kind"]), float(entry["ratio"])  # type: ignore[arg-type]
        low[kind] = min(low.get(kind, ratio), ratio)
    return low


# How the streamed text in `root` (a `.rw-text` box) breaks its lines: the computed
# breaking styles of the box and its blocks, the lines it takes, and every word
# drawn on more than one line (a Range's rects at different heights) although it
# is narrower than the box, i.e. a word the browser split where it did not have to.
# A word is a run of letters, digits and apostrophes: "book-shelves" may break after
# its hyphen, as text does everywhere.
WORD_BREAKS = """(root) => {
  const style = (e) => {
    const s = getComputedStyle(e);
    return {wordBreak: s.wordBreak, overflowWrap: s.overflowWrap,
            whiteSpace: s.whiteSpace};
  };
  const room = root.clientWidth
    - parseFloat(getComputedStyle(root).paddingLeft)
    - parseFloat(getComputedStyle(root).paddingRight);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const tops = new Set();
  const split = [];
  let words = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/[\\p{L}\\p{N}'\\u2019]+/gu)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      const lines = new Set(rects.map((r) => Math.round(r.top)));
      lines.forEach((t) => tops.add(t));
      const width = rects.reduce((sum, r) => sum + r.width, 0);
      words += 1;
      if (lines.size > 1 && width < room) split.push(match[0]);
    }
  }
  return {
    box: style(root),
    blocks: [...root.children].map(style),
    words, lines: tops.size, split, room,
  };
}"""


# How the views' stylesheets are in the page, in the document and every shadow root
# (marimo renders each widget in one): `styles` counts `<style>` elements inside views,
# `adopted` each shared sheet's adoptions by key, `scopes` the roots that hold views,
# `repeats` the adopted sheets of ours (rules under `.rw-` roots) whose rules another
# adopted sheet of the same root has.
STYLE_COPIES = """(roots) => {
  const rootSel = roots.map((r) => '.' + r).join(',');
  const shared = document[Symbol.for('replicate-widgets.stylesheets')] || new Map();
  const keyOf = new Map([...shared].map(([key, sheet]) => [sheet, key]));
  const all = [document];
  const walk = (node) => {
    for (const el of node.querySelectorAll('*')) {
      if (el.shadowRoot) { all.push(el.shadowRoot); walk(el.shadowRoot); }
    }
  };
  walk(document);
  let styles = 0, scopes = 0, repeats = 0;
  const adopted = {};
  for (const scope of all) {
    if (scope.querySelector(rootSel)) scopes += 1;
    for (const s of scope.querySelectorAll('style')) {
      if (s.parentElement?.closest(rootSel)) styles += 1;
    }
    const texts = new Set();
    for (const sheet of scope.adoptedStyleSheets) {
      const key = keyOf.get(sheet);
      if (key) adopted[key] = (adopted[key] || 0) + 1;
      const text = [...sheet.cssRules].map((r) => r.cssText).join('\\n');
      // Only ours: the host page (marimo) may adopt sheets of its own several times.
      if (!text.includes('.rw-')) continue;
      if (texts.has(text)) repeats += 1;
      texts.add(text);
    }
  }
  return {styles, adopted, scopes, repeats};
}"""
