// Hostile model logs and MIME types in the panel: nothing a model writes may become a
// live element, a handler, or a link that hides where it goes.
import { AnsiUp } from "ansi_up";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LogsView, renderLogs } from "../src/panel/logs";
import { saveBytes, UrlCache } from "../src/panel/media";
import { safeMime } from "../src/panel/types";

const ESC = "\x1b";
const ST = `${ESC}\\`;
/** An OSC 8 hyperlink as terminals (and ansi_up) read it. */
const osc8 = (url: string, text: string) => `${ESC}]8;;${url}${ST}${text}${ESC}]8;;${ST}`;

/** The panel's log view after the kernel sent ``text`` (whole, then as an append). */
function render(text: string): HTMLElement {
  const whole = new LogsView(() => {});
  whole.update(text, 0);
  const appended = new LogsView(() => {});
  appended.update("start\n", 0);
  appended.update(`start\n${text}`, 0);
  expect(appended.text).toBe(`start\n${whole.text}`);
  document.body.append(whole.root, appended.root);
  return whole.pre;
}

function renderWith(ansi: AnsiUp, text: string): HTMLElement {
  const pre = document.createElement("pre");
  pre.append(renderLogs(ansi, text));
  return pre;
}

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

describe("OSC 8 links in logs", () => {
  it("shows the URL itself as the link, in a new tab without opener or referrer", () => {
    const pre = render(`see ${osc8("https://replicate.com/docs", "the docs")} now\n`);
    const links = pre.querySelectorAll("a");
    expect(links.length).toBe(1);
    const a = links[0];
    expect(a.getAttribute("href")).toBe("https://replicate.com/docs");
    expect(a.textContent).toBe("https://replicate.com/docs");
    expect(a.target).toBe("_blank");
    expect(a.rel).toBe("noopener noreferrer");
    // The model's text stays, as text, next to the URL it really points to.
    expect(pre.textContent).toBe("see the docs (https://replicate.com/docs) now\n");
  });

  it("does not repeat a URL that is its own text", () => {
    const url = "https://example.com/x?a=1&b=2";
    const pre = render(osc8(url, url));
    expect(pre.textContent).toBe(url);
    expect(pre.querySelector("a")?.getAttribute("href")).toBe(url);
  });

  it("a link whose text pretends to be another URL shows the real one", () => {
    const pre = render(osc8("https://evil.test/login", "https://replicate.com/login"));
    const a = pre.querySelector("a");
    expect(a?.textContent).toBe("https://evil.test/login");
    expect(pre.textContent).toContain("(https://evil.test/login)");
  });

  it.each([
    "javascript:window.__pwned=1",
    "JavaScript:window.__pwned=1",
    "data:text/html,<script>window.__pwned=1</script>",
    "vbscript:x",
    "file:///etc/passwd",
    "//evil.test/no-scheme",
    "about:blank",
  ])("never links %s", (url) => {
    // No link, and nothing lost: the text the model wrote is shown.
    const shown = render(`${osc8(url, "click me")}\n`);
    expect(shown.querySelector("a")).toBeNull();
    expect(shown.textContent).toBe("click me\n");
    // Were it told to let every scheme through, the rebuild still keeps only the text.
    const permissive = new AnsiUp();
    permissive.url_allowlist = new Proxy({}, { get: () => 1 });
    const pre = renderWith(permissive, `${osc8(url, "click me")}\n`);
    expect(pre.querySelector("a")).toBeNull();
    expect(pre.textContent).toBe("click me\n");
  });

  it("escapes a hostile URL and text instead of opening an element", () => {
    const pre = render(
      `${osc8('https://x.test/"><img src=x onerror=window.__pwned=1>', "<b>x</b>")}\n`,
    );
    expect(pre.querySelector("img, b, script")).toBeNull();
    for (const el of pre.querySelectorAll("*"))
      for (const attr of el.attributes) expect(attr.name.startsWith("on")).toBe(false);
  });

  it("keeps only ansi_up's coloured spans", () => {
    const pre = render(
      `${ESC}[31mred${ESC}[0m <script>window.__pwned=1</script><img src=x onerror=alert(1)>\n`,
    );
    expect(pre.querySelector("span")?.textContent).toBe("red");
    expect(pre.querySelector("script, img")).toBeNull();
    expect(pre.textContent).toContain("<img src=x onerror=alert(1)>");
  });
});

describe("MIME types in the panel", () => {
  it.each([
    ["image/png", "image/png"],
    ["audio/x-wav", "audio/x-wav"],
    ['image/png" onerror="x', "application/octet-stream"],
    ["text/html; charset=utf-8", "application/octet-stream"],
    ["IMAGE/PNG", "application/octet-stream"],
    ["image/png\u2028", "application/octet-stream"],
    ["", "application/octet-stream"],
    [undefined, "application/octet-stream"],
  ])("safeMime(%j) is %j", (mime, expected) => {
    expect(safeMime(mime)).toBe(expected);
  });

  it("object URLs and downloads carry only a valid type", () => {
    const types: string[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      types.push((blob as Blob).type);
      return "blob:x";
    });
    vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    const cache = new UrlCache();
    cache.url({
      key: "m0",
      kind: "image",
      mime: 'image/png" onload="x',
      name: "a",
      data: new Uint8Array([1]),
    });
    saveBytes("a.html", "text/html\u0000<script>", new Uint8Array([1]));
    expect(types).toEqual(["application/octet-stream", "application/octet-stream"]);
  });
});
