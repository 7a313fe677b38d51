// The Compare / Sweep view: cells follow the `panels` part and `cell_headers`,
// busy decides which of Run all / Cancel all is enabled, and clicks become actions.
import { describe, expect, it } from "vitest";
import compare from "../src/compare";
import type { Host } from "../src/shared/compose";
import { fakeModel } from "./fake-model";

function fakeHost() {
  const rendered: string[] = [];
  const host: Host = {
    getWidget: async (ref: string) => ({
      render: async ({ el }: { el: HTMLElement }) => {
        rendered.push(ref);
        el.textContent = `panel ${ref}`;
      },
    }),
  };
  return { host, rendered };
}

function setUp() {
  const model = fakeModel({
    header: "<div>demo/fractal: seed (2)</div>",
    message: "",
    busy: false,
    columns: 2,
    cell_headers: ['<div class="rw-grid-header">seed=1</div>', ""],
    parts: { panels: ["anywidget:a", "anywidget:b"] },
  });
  const el = document.createElement("div");
  document.body.append(el);
  const { host, rendered } = fakeHost();
  // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
  const stop = compare.render({ model: model as any, el, host });
  return { model, el, rendered, stop };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("compare view", () => {
  it("draws one cell per panel, with its header, in a grid of the given columns", async () => {
    const { el, rendered } = setUp();
    await flush();
    const cells = el.querySelectorAll(".rw-grid-cell");
    expect(cells).toHaveLength(2);
    expect(rendered).toEqual(["anywidget:a", "anywidget:b"]);
    expect(cells[0].querySelector(".rw-grid-header")?.textContent).toBe("seed=1");
    // an empty header takes no room (the panel names its model)
    expect((cells[1].querySelector(".rw-grid-head") as HTMLElement).hidden).toBe(true);
    const grid = el.querySelector(".rw-grid") as HTMLElement;
    expect(grid.style.getPropertyValue("--rw-grid-columns")).toBe("2");
  });

  it("enables one of Run all and Cancel all, and sends their actions", () => {
    const { model, el } = setUp();
    const run = el.querySelector(".rw-grid-run") as HTMLButtonElement;
    const cancel = el.querySelector(".rw-grid-cancel") as HTMLButtonElement;
    expect([run.disabled, cancel.disabled]).toEqual([false, true]);
    run.click();
    model.kernelSet("busy", true);
    expect([run.disabled, cancel.disabled]).toEqual([true, false]);
    cancel.click();
    expect(model.sent.map((s) => s.content)).toEqual([
      { kind: "action", name: "run", value: null },
      { kind: "action", name: "cancel", value: null },
    ]);
  });

  it("redraws headers and the message, and keeps panels that did not change", async () => {
    const { model, el, rendered } = setUp();
    await flush();
    model.kernelSet("message", "0 of 2 succeeded; 2 canceled.");
    model.kernelSet("cell_headers", [
      '<div class="rw-grid-header">seed=1</div><div class="rw-grid-error">not started: canceled</div>',
      "",
    ]);
    expect(el.querySelector(".rw-grid-message")?.textContent).toBe("0 of 2 succeeded; 2 canceled.");
    expect(el.querySelector(".rw-grid-error")?.textContent).toBe("not started: canceled");
    model.kernelSet("parts", { panels: ["anywidget:a", "anywidget:c", "anywidget:d"] });
    await flush();
    expect(rendered).toEqual(["anywidget:a", "anywidget:b", "anywidget:c", "anywidget:d"]);
    expect(el.querySelectorAll(".rw-grid-cell")).toHaveLength(3);
  });

  it("clears its view when the host stops it", () => {
    const { el, stop } = setUp();
    stop();
    expect(el.querySelector(".rw-compare")).toBeNull();
  });
});
