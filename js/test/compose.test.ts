// Parts: a composite view's parts stay one slot per part, mounted once, whether the
// view is in the page or not when the `parts` trait changes. JupyterLab detaches
// outputs it re-renders and cells scrolled out of a long notebook; anywidget may
// render into an element not yet in the page; a widget may be displayed twice.
import { describe, expect, it } from "vitest";
import { type CompositeModel, type Host, Parts } from "../src/shared/compose";
import { fakeModel } from "./fake-model";

function fakeHost() {
  const rendered: string[] = [];
  const host: Host = {
    getWidget: async (ref: string) => ({
      render: async ({ el }: { el: HTMLElement }) => {
        rendered.push(ref);
        el.textContent = `part ${ref}`;
      },
    }),
  };
  return { host, rendered };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** One view of a composite with a list of parts called "tiles". */
function view(model: ReturnType<typeof fakeModel>, host: Host) {
  const stop = new AbortController();
  // The fake's handlers take any arguments; the type asks for the views' own.
  const parts = new Parts(model as unknown as CompositeModel, host, stop.signal);
  const list = parts.placeList("tiles", document.createElement("div"));
  return { list, stop };
}

/** The parts each slot of `list` holds, in order (a slot per element child). */
function slots(list: HTMLElement): string[] {
  return Array.from(list.children, (child) => (child as HTMLElement).dataset.part ?? "?");
}

describe("Parts.placeList", () => {
  it("keeps one slot per part when the list changes while the view is detached", async () => {
    const model = fakeModel({ parts: { tiles: ["anywidget:a", "anywidget:b"] } });
    const { host, rendered } = fakeHost();
    const { list } = view(model, host); // rendered before it is in the page
    await flush();
    expect(slots(list)).toEqual(["anywidget:a", "anywidget:b"]);

    model.kernelSet("parts", { tiles: ["anywidget:a", "anywidget:b", "anywidget:c"] });
    await flush();
    expect(slots(list)).toEqual(["anywidget:a", "anywidget:b", "anywidget:c"]);
    expect(list.textContent).toBe("part anywidget:apart anywidget:bpart anywidget:c");
    expect(rendered).toEqual(["anywidget:a", "anywidget:b", "anywidget:c"]);
  });

  it("keeps its slots, and what they show, when the view is detached and re-attached", async () => {
    const model = fakeModel({ parts: { tiles: ["anywidget:a", "anywidget:b"] } });
    const { host, rendered } = fakeHost();
    const { list, stop } = view(model, host);
    document.body.append(list);
    await flush();
    const [a, b] = Array.from(list.children);

    list.remove(); // JupyterLab re-rendering the output, or scrolling it away
    model.kernelSet("parts", { tiles: ["anywidget:b", "anywidget:a", "anywidget:d"] });
    document.body.append(list);
    model.kernelSet("parts", { tiles: ["anywidget:b", "anywidget:a", "anywidget:d"] });
    await flush();
    expect(slots(list)).toEqual(["anywidget:b", "anywidget:a", "anywidget:d"]);
    // The same elements, moved, not re-made: their views keep scroll and focus.
    expect(list.children[0]).toBe(b);
    expect(list.children[1]).toBe(a);
    expect(rendered).toEqual(["anywidget:a", "anywidget:b", "anywidget:d"]);

    model.kernelSet("parts", { tiles: ["anywidget:d"] });
    expect(slots(list)).toEqual(["anywidget:d"]);
    stop.abort();
    list.remove();
  });

  it("gives each of two views of one widget its own slots, one per part", async () => {
    const model = fakeModel({ parts: { tiles: ["anywidget:a"] } });
    const { host, rendered } = fakeHost();
    const first = view(model, host);
    const second = view(model, host);
    document.body.append(first.list); // only the first one is in the page
    await flush();
    model.kernelSet("parts", { tiles: ["anywidget:a", "anywidget:b"] });
    await flush();
    for (const { list } of [first, second]) {
      expect(slots(list)).toEqual(["anywidget:a", "anywidget:b"]);
      expect(list.textContent).toBe("part anywidget:apart anywidget:b");
    }
    expect(rendered.sort()).toEqual(["anywidget:a", "anywidget:a", "anywidget:b", "anywidget:b"]);
    first.list.remove();
  });

  it("mounts a part listed twice once", async () => {
    const model = fakeModel({ parts: { tiles: ["anywidget:a", "anywidget:a"] } });
    const { host, rendered } = fakeHost();
    const { list } = view(model, host);
    await flush();
    expect(slots(list)).toEqual(["anywidget:a"]);
    expect(rendered).toEqual(["anywidget:a"]);
  });
});
