import { describe, expect, it } from "vitest";
import { adoptStyles, SHEETS } from "../src/shared/styles";

const CSS = ":where(.rw-demo) .rw-demo-x { color: rgb(1, 2, 3); }";

function registry(): Map<string, CSSStyleSheet> | undefined {
  return (document as Document & { [SHEETS]?: Map<string, CSSStyleSheet> })[SHEETS];
}

function view(parent: Node): HTMLElement {
  const root = document.createElement("div");
  root.className = "rw-demo";
  parent.appendChild(root);
  return root;
}

describe("adoptStyles", () => {
  it("gives every view of a document one shared sheet, and no <style>", () => {
    const roots = [view(document.body), view(document.body), view(document.body)];
    for (const root of roots) adoptStyles(root, "demo", CSS);
    const sheet = registry()?.get("demo");
    expect(sheet).toBeDefined();
    expect(document.adoptedStyleSheets.filter((s) => s === sheet)).toHaveLength(1);
    expect(document.querySelectorAll("style")).toHaveLength(0);
    expect(Array.from(sheet?.cssRules ?? [], (r) => r.cssText).join("")).toContain("rw-demo-x");
  });

  it("adopts into each shadow root a view is in, once, sharing the document's sheet", () => {
    const hosts = [document.createElement("div"), document.createElement("div")];
    const shadows = hosts.map((host) => {
      document.body.append(host);
      return host.attachShadow({ mode: "open" });
    });
    for (const shadow of shadows) {
      adoptStyles(view(shadow), "shadowed", CSS);
      adoptStyles(view(shadow), "shadowed", CSS);
    }
    const sheet = registry()?.get("shadowed");
    for (const shadow of shadows) {
      expect(shadow.adoptedStyleSheets).toEqual([sheet]);
      expect(shadow.querySelectorAll("style")).toHaveLength(0);
    }
    // Not put into the document, which the shadow roots' views are not in.
    expect(document.adoptedStyleSheets).not.toContain(sheet);
  });

  it("styles a detached view with a <style> until it is attached, then shares the sheet", async () => {
    const el = document.createElement("div");
    const root = view(el);
    adoptStyles(root, "late", CSS);
    const style = root.querySelector("style");
    expect(style?.textContent).toBe(CSS);
    expect(root.firstChild).toBe(style);
    document.body.append(el);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(root.querySelector("style")).toBeNull();
    expect(document.adoptedStyleSheets).toContain(registry()?.get("late"));
  });

  it("brings the shared sheet up to newer CSS under the same key", () => {
    adoptStyles(view(document.body), "versioned", ".rw-demo { color: red; }");
    adoptStyles(view(document.body), "versioned", ".rw-demo { color: blue; }");
    const sheet = registry()?.get("versioned");
    expect(sheet?.cssRules[0]?.cssText).toContain("blue");
    expect(document.adoptedStyleSheets.filter((s) => s === sheet)).toHaveLength(1);
  });

  it("keeps a <style> per view where constructable sheets are missing", () => {
    const Saved = window.CSSStyleSheet;
    // biome-ignore lint/suspicious/noExplicitAny: removing the API under test
    (window as any).CSSStyleSheet = undefined;
    try {
      const root = view(document.body);
      adoptStyles(root, "old-browser", CSS);
      expect(root.querySelector("style")?.textContent).toBe(CSS);
      expect(registry()?.has("old-browser")).toBe(false);
    } finally {
      window.CSSStyleSheet = Saved;
    }
  });
});
