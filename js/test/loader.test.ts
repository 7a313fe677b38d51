// The `_esm` loader: one request for a view's code per page, however many views
// render at once; the code compiled once; a clear note when it does not come.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import loader, {
  evaluatedNow,
  INIT_WAIT_MS,
  LOADING,
  NO_ANSWER,
  RETRY_MS,
  SLOW_MS,
  setCompile,
} from "../src/shared/loader";
import { fakeModel } from "./fake-model";

type Custom = (content: Record<string, unknown>, buffers?: ArrayBufferView[]) => void;

let compiled: string[] = [];
let serial = 0;

/** A widget model whose `msg:custom` listeners the test can call (as the kernel would). */
function widget(key: string) {
  const model = fakeModel({ _view_key: key });
  const customs: Custom[] = [];
  const on = model.on;
  model.on = (name: string, h: (...args: unknown[]) => void) => {
    if (name === "msg:custom") customs.push(h as Custom);
    on(name, h);
  };
  const answer = (code: string | null) => {
    const content =
      code === null ? { kind: "view-code", key, missing: true } : { kind: "view-code", key };
    const buffers = code === null ? [] : [new DataView(new TextEncoder().encode(code).buffer)];
    for (const h of customs) h(content, buffers);
  };
  const requests = () => model.sent.filter((s) => s.content.kind === "view-code");
  return { model, answer, requests };
}

async function show(w: ReturnType<typeof widget>) {
  const el = document.createElement("div");
  loader.initialize({ model: w.model as never });
  const rendered = loader.render({ model: w.model as never, el });
  return { el, rendered };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  compiled = [];
  // A bundle's "code" here names what its render writes; compiling records it.
  setCompile(async (code) => {
    compiled.push(code);
    return {
      initialize: ({ model }: { model: { set(k: string, v: unknown): void } }) =>
        model.set("initialized", true),
      render: ({ el }: { el: HTMLElement }) => {
        el.textContent = code;
      },
    };
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the view loader", () => {
  it("asks once for views of one key rendering at once, and compiles once", async () => {
    const key = `form:${serial++}`;
    const views = [widget(key), widget(key), widget(key)];
    const shown = await Promise.all(views.map(show));
    expect(shown[0].el.textContent).toBe(LOADING);
    await flush(); // the browser's copy is looked for first: none
    const asked = views.flatMap((v) => v.requests());
    expect(asked.map((r) => r.content)).toEqual([{ kind: "view-code", key }]);

    views[2].answer("the form");
    await Promise.all(shown.map((s) => s.rendered));
    expect(shown.map((s) => s.el.textContent)).toEqual(["the form", "the form", "the form"]);
    expect(compiled).toEqual(["the form"]);
    // The bundle's own initialize ran for each model, before its render.
    expect(views.every((v) => v.model.get("initialized") === true)).toBe(true);

    // A later view of the key on the same page: no request, no compile.
    const later = widget(key);
    const { el, rendered } = await show(later);
    await rendered;
    expect(el.textContent).toBe("the form");
    expect(later.requests()).toHaveLength(0);
    expect(compiled).toEqual(["the form"]);
  });

  it("says so when the kernel has not got the code, and asks again for the next view", async () => {
    const key = `panel:${serial++}`;
    const first = widget(key);
    const shown = await show(first);
    await flush();
    first.answer(null);
    await shown.rendered;
    expect(shown.el.textContent).toMatch(/could not be loaded: its kernel does not have/);

    const next = widget(key);
    const again = await show(next);
    await flush();
    expect(next.requests()).toHaveLength(1);
    next.answer("the panel");
    await again.rendered;
    expect(again.el.textContent).toBe("the panel");
  });

  it("asks again through another view when no answer came, and explains a long wait", async () => {
    vi.useFakeTimers();
    const key = `code:${serial++}`;
    const lost = widget(key); // its request went to a kernel that is gone
    await show(lost);
    await vi.advanceTimersByTimeAsync(0);
    const waiting = widget(key);
    const shown = await show(waiting);
    expect(lost.requests()).toHaveLength(1);
    expect(waiting.requests()).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(RETRY_MS + 1000);
    expect(waiting.requests()).toHaveLength(1);
    expect(shown.el.textContent).toBe(LOADING);

    await vi.advanceTimersByTimeAsync(SLOW_MS);
    expect(shown.el.textContent).toBe(NO_ANSWER);
    // Backing off: one more request in the next 10 s, not one a second.
    expect(lost.requests().length + waiting.requests().length).toBeLessThanOrEqual(3);

    waiting.answer("the code view");
    vi.useRealTimers();
    await shown.rendered;
    await flush();
    expect(shown.el.textContent).toBe("the code view");
  });
});

describe("the browser's copy", () => {
  const sha = async (code: string) => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code));
    return [...new Uint8Array(digest)]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("")
      .slice(0, 16);
  };
  const reload = () =>
    (globalThis as unknown as Record<symbol, Map<string, unknown>>)[
      Symbol.for("replicate_widgets.view_code")
    ].clear();

  it("draws a reloaded page's views with no kernel to ask, if the code still hashes to its key", async () => {
    const code = `the history ${serial++}`;
    const key = `history:${await sha(code)}`;
    const first = widget(key);
    const shown = await show(first);
    await flush();
    first.answer(code);
    await shown.rendered;

    reload(); // a new page: the notebook reopened with its saved widget state
    const saved = widget(key);
    const again = await show(saved);
    await again.rendered;
    expect(again.el.textContent).toBe(code);
    expect(saved.requests()).toHaveLength(0);
  });

  it("asks the kernel when the browser's copy does not hash to its key", async () => {
    const key = `trainer:${await sha("the trainer")}`;
    localStorage.setItem(`replicate_widgets.view_code:${key}`, "tampered");
    const w = widget(key);
    const shown = await show(w);
    await flush();
    expect(w.requests()).toHaveLength(1);
    expect(localStorage.getItem(`replicate_widgets.view_code:${key}`)).toBeNull();
    w.answer("the trainer");
    await shown.rendered;
    expect(shown.el.textContent).toBe("the trainer");
  });
});

describe("a kernel's first widget of a class", () => {
  it("carries the code: no request, even while the kernel is busy", async () => {
    const key = `playground:${serial++}`;
    const first = widget(key);
    first.model.set("_view_code", "the playground");
    const later = widget(key);
    const shown = await Promise.all([show(first), show(later)]);
    await Promise.all(shown.map((s) => s.rendered));
    await flush();
    expect(shown.map((s) => s.el.textContent)).toEqual(["the playground", "the playground"]);
    expect([...first.requests(), ...later.requests()]).toEqual([]);
  });

  it("returns from initialize only after the bundle's own initialize, so it misses no message", async () => {
    let compiled!: () => void;
    setCompile(
      (code) =>
        new Promise((resolve) => {
          compiled = () =>
            resolve({
              initialize: ({ model }: { model: { set(k: string, v: unknown): void } }) =>
                model.set("initialized", code),
            });
        }),
    );
    evaluatedNow();
    const key = `panel:${serial++}`;
    const first = widget(key);
    first.model.set("_view_code", "the panel");
    let returned = false;
    const init = Promise.resolve(loader.initialize({ model: first.model as never })).then(() => {
      returned = true;
    });
    await flush();
    expect(returned).toBe(false); // anywidget holds the model's messages meanwhile
    compiled();
    await init;
    expect(first.model.get("initialized")).toBe("the panel");
    expect(first.requests()).toEqual([]);
  });

  it("does not wait for code the kernel has to send, nor past INIT_WAIT_MS", async () => {
    vi.useFakeTimers();
    setCompile(() => new Promise(() => {})); // never compiles
    const asked = widget(`form:${serial++}`);
    let returned = false;
    Promise.resolve(loader.initialize({ model: asked.model as never })).then(() => {
      returned = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(returned).toBe(true); // the answer is a message to the model: no waiting for it

    const slow = widget(`form:${serial++}`);
    slow.model.set("_view_code", "a slow form");
    evaluatedNow();
    returned = false;
    Promise.resolve(loader.initialize({ model: slow.model as never })).then(() => {
      returned = true;
    });
    await vi.advanceTimersByTimeAsync(INIT_WAIT_MS - 10);
    expect(returned).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(returned).toBe(true);

    // A copy evaluated long ago (a host that reuses it): no wait at all.
    const late = widget(`form:${serial++}`);
    late.model.set("_view_code", "a late form");
    returned = false;
    Promise.resolve(loader.initialize({ model: late.model as never })).then(() => {
      returned = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(returned).toBe(true);
  });
});
