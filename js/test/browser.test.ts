import { describe, expect, it, vi } from "vitest";
import browser from "../src/browser";
import tile from "../src/tile";
import { fakeModel } from "./fake-model";

// biome-ignore lint/suspicious/noExplicitAny: the fakes stand in for anywidget's objects
type Any = any;

const PNG = new DataView(new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]).buffer);

function browserState(extra: Record<string, unknown> = {}) {
  return {
    parts: { tiles: [], playground: null },
    query: "",
    sort: "Newest versions",
    sort_choices: ["Newest versions", "Newest models", "Oldest models"],
    collection: "",
    collection_choices: [
      ["", "All models"],
      ["local-models", "Local models"],
    ],
    status: "",
    more: false,
    card_notice: "",
    card_head: "",
    card_example: "",
    card_note: "",
    card_cover: new DataView(new ArrayBuffer(0)),
    example_image: new DataView(new ArrayBuffer(0)),
    version: "",
    version_choices: [],
    open_disabled: "",
    stage_notice: "",
    ...extra,
  };
}

function fakeHost() {
  const rendered: string[] = [];
  return {
    rendered,
    getWidget: async (ref: string) => ({
      render: async ({ el }: { el: HTMLElement }) => {
        rendered.push(ref);
        el.textContent = `part ${ref}`;
      },
    }),
  };
}

function draw(state: Record<string, unknown>) {
  const model = fakeModel(state);
  const saved: [string, unknown][] = [];
  model.save_changes = () => {
    saved.push(["save", null]);
  };
  const host = fakeHost();
  const el = document.createElement("div");
  document.body.append(el);
  const stop = browser.render({ model: model as Any, el, host } as Any);
  return { model, el, host, saved, stop };
}

describe("model browser view", () => {
  it("sends a search, a sort and a collection as traits, Load more as an action", () => {
    const { model, el } = draw(browserState());
    const query = el.querySelector(".rw-browser-query input") as HTMLInputElement;
    query.value = "hello";
    query.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.state.query).toBe("hello");
    const sort = el.querySelector(".rw-browser-sort select") as HTMLSelectElement;
    expect([...sort.options].map((o) => o.value)).toContain("Oldest models");
    sort.value = "Oldest models";
    sort.dispatchEvent(new Event("change"));
    expect(model.state.sort).toBe("Oldest models");
    const menu = el.querySelector(".rw-browser-collection select") as HTMLSelectElement;
    expect(menu.textContent).toContain("Local models");
    menu.value = "local-models";
    menu.dispatchEvent(new Event("change"));
    expect(model.state.collection).toBe("local-models");
    const more = el.querySelector(".rw-browser-more") as HTMLButtonElement;
    expect(more.hidden).toBe(true);
    model.kernelSet("more", true);
    expect(more.hidden).toBe(false);
    more.click();
    expect(model.sent.map((s) => s.content)).toEqual([
      { kind: "action", name: "more", value: null },
    ]);
  });

  it("keeps typed keys from JupyterLab's shortcuts", () => {
    const { el } = draw(browserState());
    const seen: string[] = [];
    el.addEventListener("keydown", () => seen.push("bubbled"));
    const query = el.querySelector(".rw-browser-query input") as HTMLInputElement;
    query.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
    query.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(seen).toEqual(["bubbled"]);
  });

  it("shows the card the kernel built, its cover as a blob: URL, and Open", () => {
    const create = vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:cover");
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    const { model, el, stop } = draw(browserState());
    const card = el.querySelector(".rw-browser-card") as HTMLElement;
    expect(card.hidden).toBe(true);
    model.kernelSet("card_notice", '<div class="rw-notice">Loading x ...</div>');
    expect(card.hidden).toBe(false);
    expect(card.textContent).toContain("Loading x");
    model.kernelSet("version_choices", [["abc", "abc 2026"]]);
    model.kernelSet("version", "abc");
    model.kernelSet("card_head", '<h3 class="rw-card-title">a/b</h3>');
    model.kernelSet("card_cover", PNG);
    model.kernelSet("card_notice", "");
    expect(el.querySelector(".rw-card-title")?.textContent).toBe("a/b");
    const img = el.querySelector("img.rw-card-cover") as HTMLImageElement;
    expect(img.src).toBe("blob:cover");
    expect((el.querySelector(".rw-browser-version select") as HTMLSelectElement).value).toBe("abc");
    const open = el.querySelector(".rw-browser-open") as HTMLButtonElement;
    expect(open.disabled).toBe(false);
    open.click();
    expect(model.sent.at(-1)?.content).toEqual({ kind: "action", name: "open", value: null });
    model.kernelSet("open_disabled", "This model has no versions yet.");
    expect(open.disabled).toBe(true);
    expect(open.title).toContain("no versions");
    model.kernelSet("card_cover", new DataView(new ArrayBuffer(0)));
    expect(el.querySelector("img.rw-card-cover")).toBeNull();
    expect(revoke).toHaveBeenCalledWith("blob:cover");
    stop();
    expect(el.children).toHaveLength(0);
    create.mockRestore();
    revoke.mockRestore();
  });

  it("mounts the tiles and the Playground as parts", async () => {
    const { model, el, host } = draw(browserState());
    model.kernelSet("parts", { tiles: ["anywidget:t1", "anywidget:t2"], playground: null });
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    const grid = el.querySelector(".rw-browser-grid") as HTMLElement;
    expect(grid.children).toHaveLength(2);
    model.kernelSet("parts", {
      tiles: ["anywidget:t1", "anywidget:t2", "anywidget:t3"],
      playground: "anywidget:pg",
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(grid.children).toHaveLength(3);
    expect(host.rendered.filter((r) => r === "anywidget:t1")).toHaveLength(1); // kept
    expect(el.querySelector(".rw-browser-playground")?.textContent).toContain("anywidget:pg");
  });
});

describe("model tile view", () => {
  it("shows the initial until the cover arrives, and sends details", () => {
    const create = vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:tile");
    const model = fakeModel({
      markup: '<div class="rw-tile-text"><b class="rw-tile-ref">a/b</b></div>',
      initial: "A",
      cover: new DataView(new ArrayBuffer(0)),
      parts: {},
    });
    const el = document.createElement("div");
    tile.render({ model: model as Any, el } as Any);
    const placeholder = el.querySelector(".rw-tile-placeholder") as HTMLElement;
    expect(placeholder.textContent).toBe("A");
    expect(placeholder.hidden).toBe(false);
    expect(el.querySelector("img.rw-cover")).toBeNull();
    model.kernelSet("cover", PNG);
    expect((el.querySelector("img.rw-cover") as HTMLImageElement).src).toBe("blob:tile");
    expect(placeholder.hidden).toBe(true);
    expect(el.querySelector(".rw-tile-ref")?.textContent).toBe("a/b");
    (el.querySelector("button.rw-tile-open") as HTMLButtonElement).click();
    expect(model.sent.map((s) => s.content)).toEqual([
      { kind: "action", name: "details", value: null },
    ]);
    create.mockRestore();
  });
});
