import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import form, { SAVE_DELAY_MS } from "../src/form";
import { MAX_SHOWN } from "../src/form/choice";
import type { Field } from "../src/form/types";
import markdown from "../src/parts/markdown";
import { NOT_CONNECTED } from "../src/shared/connection";
import { preload } from "../src/shared/loader";
import { type FakeModel, fakeModel, field, formState } from "./fake-model";

// The page has the markdown part (in the notebook it comes from the kernel once).
preload("markdown:test", markdown);

function mount(fields: Field[], values: Record<string, unknown> = {}) {
  const model = fakeModel({
    ...formState(fields, values),
    _view_parts: { markdown: "markdown:test" },
  });
  const el = document.createElement("div");
  document.body.append(el);
  // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
  const cleanup = form.render({ model: model as any, el } as any) as () => void;
  return { model, el, cleanup };
}

function rowOf(el: HTMLElement, name: string): HTMLElement {
  return el.querySelector(`[data-field="${name}"]`) as HTMLElement;
}

function type(input: HTMLInputElement | HTMLTextAreaElement, text: string) {
  input.value = text;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function lastSaved(model: FakeModel) {
  return model.saved[model.saved.length - 1];
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  document.body.replaceChildren();
});

describe("layout", () => {
  it("renders one row per field in the order given, each control labelled", () => {
    const fields = [
      field("prompt", "text", { required: true }),
      field("width", "integer", { minimum: 64, maximum: 1024, default: 512, has_default: true }),
      field("scheduler", "choice", {
        choices: ["DDIM", "K_EULER"],
        default: "DDIM",
        has_default: true,
      }),
      field("image", "file", { accept: "image/*" }),
      field("api_key", "secret"),
      field("tags", "array", { items: field("tags[]", "string") }),
      field("extra", "json"),
      field("hdr", "boolean", { default: false, has_default: true }),
    ];
    const { el } = mount(fields, { width: 512, scheduler: "DDIM", hdr: false });
    const names = [...el.querySelectorAll<HTMLElement>(".rw-form-field")].map(
      (r) => r.dataset.field,
    );
    expect(names).toEqual(fields.map((f) => f.name));
    for (const control of el.querySelectorAll("input, select, textarea")) {
      const id = control.getAttribute("id");
      const labelled =
        control.hasAttribute("aria-label") ||
        (id !== null && el.querySelector(`label[for="${id}"]`));
      expect(labelled, control.outerHTML).toBeTruthy();
    }
    expect(rowOf(el, "prompt").querySelector(".rw-form-required")).not.toBeNull();
    expect(rowOf(el, "width").querySelector(".rw-form-default")!.textContent).toBe("default: 512");
    expect(rowOf(el, "prompt").querySelector("textarea")).not.toBeNull();
    expect(rowOf(el, "api_key").querySelector("input")!.type).toBe("password");
    expect(rowOf(el, "hdr").querySelector("input")!.type).toBe("checkbox");
  });

  it("collapses deprecated fields under a Deprecated section", () => {
    const { el } = mount([field("a", "string"), field("old", "string", { deprecated: true })]);
    const details = el.querySelector("details.rw-form-deprecated")!;
    expect(details.querySelector("summary")!.textContent).toBe("Deprecated (1)");
    expect(details.querySelector('[data-field="old"]')).not.toBeNull();
    expect(details.hasAttribute("open")).toBe(false);
  });

  it("renders descriptions as markdown, keeping <|tokens|> visible as text", async () => {
    const desc = "Stop at `<|eot_id|>` or <|end|>; see [docs](https://example.com/x).";
    const { el } = mount([field("stop", "string", { description: desc })]);
    const d = rowOf(el, "stop").querySelector(".rw-form-desc")!;
    expect(d.textContent).toBe(desc); // as text until the markdown part has loaded
    for (let i = 0; i < 3; i++) await Promise.resolve(); // the part's promise settles
    expect(d.querySelector("code")!.textContent).toBe("<|eot_id|>");
    expect(d.textContent).toContain("<|end|>");
    expect(d.querySelector("a")!.getAttribute("href")).toBe("https://example.com/x");
  });

  it("shows a plain description as text without loading the markdown part", () => {
    const model = fakeModel({
      ...formState([field("p", "string", { description: "Prompt, in English." })]),
    });
    const el = document.createElement("div");
    // No _view_parts: a plain description needs no part, so nothing is asked.
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    form.render({ model: model as any, el } as any);
    expect(rowOf(el, "p").querySelector(".rw-form-desc")!.innerHTML).toBe(
      "<p>Prompt, in English.</p>",
    );
    expect(model.sent).toEqual([]);
  });

  it("shows the schema layer's note for fields it could only offer as JSON", () => {
    const { el } = mount([field("odd", "json", { problem: "anyOf of objects: edit as JSON." })]);
    expect(rowOf(el, "odd").querySelector(".rw-form-problem")!.textContent).toContain("anyOf");
  });
});

describe("values", () => {
  it("debounces typing into one save carrying the final text", () => {
    const { el, model } = mount([field("prompt", "text")]);
    const area = rowOf(el, "prompt").querySelector("textarea")!;
    type(area, "a");
    type(area, "an");
    type(area, "an owl");
    expect(model.saved).toHaveLength(0);
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(model.saved).toEqual([{ prompt: "an owl" }]);
  });

  it("an emptied optional text box is unset, not an empty string", () => {
    const { el, model } = mount([field("neg", "string")], { neg: "x" });
    type(rowOf(el, "neg").querySelector("input")!, "");
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({});
  });

  it("integer controls only produce integers and say why others are refused", () => {
    const { el, model } = mount([field("steps", "integer", { minimum: 1, maximum: 500 })]);
    const row = rowOf(el, "steps");
    const box = row.querySelector<HTMLInputElement>(".rw-form-numbox")!;
    type(box, "2.5");
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(model.saved).toHaveLength(0);
    expect(row.querySelector(".rw-form-error")!.textContent).toMatch(/whole number/);
    expect(el.querySelector<HTMLButtonElement>(".rw-form-run")!.disabled).toBe(true);
    type(box, "40");
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ steps: 40 });
    expect(row.querySelector(".rw-form-error")!.textContent).toBe("");
    expect(row.querySelector<HTMLInputElement>(".rw-form-slider")!.value).toBe("40");
  });

  it("the slider moves the number; no slider over absurd ranges", () => {
    const { el, model } = mount([
      field("guidance", "number", { minimum: 1, maximum: 20, default: 7.5, has_default: true }),
      field("seed", "integer", { minimum: 0, maximum: 4294967295 }),
    ]);
    const slider = rowOf(el, "guidance").querySelector<HTMLInputElement>(".rw-form-slider")!;
    expect(slider.step).toBe("0.1");
    slider.value = "12.5";
    slider.dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ guidance: 12.5 });
    expect(rowOf(el, "guidance").querySelector<HTMLInputElement>(".rw-form-numbox")!.value).toBe(
      "12.5",
    );
    expect(rowOf(el, "seed").querySelector(".rw-form-slider")).toBeNull();
  });

  it("kernel-side changes update the controls", () => {
    const { el, model } = mount([field("prompt", "string"), field("n", "integer")]);
    model.kernelSet("values", { prompt: "from python", n: 3 });
    expect(rowOf(el, "prompt").querySelector("input")!.value).toBe("from python");
    expect(rowOf(el, "n").querySelector<HTMLInputElement>(".rw-form-numbox")!.value).toBe("3");
  });

  it("JSON editor accepts objects and reports broken JSON", () => {
    const { el, model } = mount([field("cfg", "json")]);
    const area = rowOf(el, "cfg").querySelector("textarea")!;
    type(area, "{'a': 1}");
    expect(rowOf(el, "cfg").querySelector(".rw-form-error")!.textContent).toMatch(/Not valid JSON/);
    type(area, '{"a": [1, 2]}');
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ cfg: { a: [1, 2] } });
  });

  it("list editor adds, edits and removes items", () => {
    const { el, model } = mount([field("words", "array", { items: field("w", "string") })]);
    const row = rowOf(el, "words");
    const add = row.querySelector<HTMLButtonElement>(".rw-form-list > button")!;
    add.click();
    add.click();
    const inputs = row.querySelectorAll<HTMLInputElement>(".rw-form-list-row input");
    type(inputs[0], "one");
    type(inputs[1], "two");
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ words: ["one", "two"] });
    row.querySelector<HTMLButtonElement>(".rw-form-list-remove")!.click();
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ words: ["two"] });
    row.querySelector<HTMLButtonElement>(".rw-form-list-remove")!.click();
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({}); // optional, no default: an empty list is "not set"
  });
});

describe("choices", () => {
  it("short lists are a select with a 'not set' entry when optional without default", () => {
    const { el, model } = mount([field("size", "choice", { choices: [512, 768, 1024] })]);
    const select = rowOf(el, "size").querySelector("select")!;
    expect([...select.options].map((o) => o.text)).toEqual(["— not set —", "512", "768", "1024"]);
    select.value = "1";
    select.dispatchEvent(new Event("change"));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ size: 768 }); // integer choices stay integers
  });

  it("long lists are a searchable combobox", () => {
    const classes = Array.from({ length: 1001 }, (_, i) => `class ${i}`);
    const { el, model } = mount(
      [field("image_class", "choice", { choices: classes, default: "class 0", has_default: true })],
      { image_class: "class 0" },
    );
    const input = rowOf(el, "image_class").querySelector<HTMLInputElement>("[role=combobox]")!;
    expect(input.value).toBe("class 0");
    type(input, "");
    const list = rowOf(el, "image_class").querySelector("[role=listbox]")!;
    expect(list.querySelectorAll("[role=option]")).toHaveLength(MAX_SHOWN);
    type(input, "class 99");
    const options = [...list.querySelectorAll("[role=option]")].map((o) => o.textContent);
    expect(options).toEqual([
      "class 99",
      "class 990",
      "class 991",
      "class 992",
      "class 993",
      "class 994",
      "class 995",
      "class 996",
      "class 997",
      "class 998",
      "class 999",
    ]);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown" }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ image_class: "class 990" });
    expect(input.value).toBe("class 990");
    expect(list.hasAttribute("hidden")).toBe(true);
  });
});

describe("secrets and files", () => {
  it("secrets go by message; the synced value is only a marker", () => {
    const { el, model } = mount([field("token", "secret")]);
    type(rowOf(el, "token").querySelector("input")!, "r8_very_secret");
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    const msg = model.sent.find((s) => s.content.kind === "secret")!.content;
    expect(msg.value).toBe("r8_very_secret");
    expect(lastSaved(model)).toEqual({ token: { __secret__: msg.key } });
    expect(JSON.stringify(model.state)).not.toContain("r8_very_secret");
  });

  it("a picked file is sent as bytes in a buffer, and its marker saved at once", async () => {
    const { el, model } = mount([field("image", "file", { accept: "image/*" })]);
    const picker = rowOf(el, "image").querySelector<HTMLInputElement>("input[type=file]")!;
    const file = new File([new Uint8Array([137, 80, 78, 71])], "cat.png", { type: "image/png" });
    Object.defineProperty(picker, "files", { value: [file], configurable: true });
    picker.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(model.saved).toHaveLength(1));
    const sent = model.sent.find((s) => s.content.kind === "file")!;
    expect(sent.content).toMatchObject({
      field: "image",
      name: "cat.png",
      size: 4,
      type: "image/png",
    });
    expect(new Uint8Array(sent.buffers[0] as ArrayBuffer)).toEqual(
      new Uint8Array([137, 80, 78, 71]),
    );
    expect(model.saved[0]).toEqual({
      image: { __file__: sent.content.__file__, name: "cat.png", size: 4, type: "image/png" },
    });
    expect(rowOf(el, "image").querySelector(".rw-form-file-info")!.textContent).toContain(
      "cat.png",
    );
  });

  it("refuses files that do not match accept, with a message", async () => {
    const { el, model } = mount([field("image", "file", { accept: "image/*" })]);
    const picker = rowOf(el, "image").querySelector<HTMLInputElement>("input[type=file]")!;
    const file = new File(["hello"], "notes.txt", { type: "text/plain" });
    Object.defineProperty(picker, "files", { value: [file], configurable: true });
    picker.dispatchEvent(new Event("change"));
    expect(rowOf(el, "image").querySelector(".rw-form-error")!.textContent).toMatch(
      /not an accepted/,
    );
    expect(model.sent).toHaveLength(0);
  });

  it("a pasted URL is the value", () => {
    const { el, model } = mount([field("image", "file")]);
    type(
      rowOf(el, "image").querySelector<HTMLInputElement>(".rw-form-file-url")!,
      " https://x.org/a.png ",
    );
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ image: "https://x.org/a.png" });
  });
});

describe("running", () => {
  it("kernel errors show under their field and block Run; Ctrl+Enter submits when valid", () => {
    const { el, model } = mount([field("prompt", "string", { required: true })]);
    const run = el.querySelector<HTMLButtonElement>(".rw-form-run")!;
    model.kernelSet("errors", { prompt: "prompt is required: type some text." });
    // A fresh form does not shout: the bar says what to fill in, Run waits.
    expect(rowOf(el, "prompt").querySelector(".rw-form-error")?.textContent ?? "").toBe("");
    expect(el.querySelector(".rw-form-status")!.textContent).toContain("Fill in");
    expect(run.disabled).toBe(true);
    const input = rowOf(el, "prompt").querySelector("input")!;
    input.dispatchEvent(
      new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }),
    );
    expect(model.sent).toHaveLength(0);
    // Trying to run shows the kernel's message under the field.
    expect(rowOf(el, "prompt").querySelector(".rw-form-error")!.textContent).toBe(
      "prompt is required: type some text.",
    );
    type(input, "hi");
    model.kernelSet("errors", {});
    expect(run.disabled).toBe(false);
    const event = new KeyboardEvent("keydown", {
      key: "Enter",
      metaKey: true,
      bubbles: true,
      cancelable: true,
    });
    input.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(true);
    // The values are flushed before the submit, so the kernel validates what was typed,
    // and travel with it, for a front end that delivers the save after the message.
    expect(model.saved).toEqual([{ prompt: "hi" }]);
    expect(model.sent.map((s) => s.content)).toEqual([
      { kind: "submit", values: { prompt: "hi" } },
    ]);
  });

  it("busy and disabled block running; submit_label relabels or hides the button", () => {
    const { el, model } = mount([field("a", "string")]);
    const run = el.querySelector<HTMLButtonElement>(".rw-form-run")!;
    model.kernelSet("busy", true);
    expect(run.disabled).toBe(true);
    expect(run.textContent).toBe("Running…");
    model.kernelSet("busy", false);
    model.kernelSet("disabled", true);
    expect(el.querySelector("fieldset")!.disabled).toBe(true);
    model.kernelSet("disabled", false);
    model.kernelSet("submit_label", "Generate");
    expect(run.textContent).toBe("Generate");
    model.kernelSet("submit_label", "");
    expect(run.hidden).toBe(true);
  });

  it("reset asks the kernel and drops half-typed text", () => {
    const { el, model } = mount([field("n", "integer")], { n: 4 });
    const box = rowOf(el, "n").querySelector<HTMLInputElement>(".rw-form-numbox")!;
    type(box, "4x");
    el.querySelector<HTMLButtonElement>(".rw-form-reset")!.click();
    expect(model.sent.map((s) => s.content)).toEqual([{ kind: "reset" }]);
    const fresh = rowOf(el, "n").querySelector<HTMLInputElement>(".rw-form-numbox")!;
    expect(fresh.value).toBe("4");
    expect(rowOf(el, "n").querySelector(".rw-form-error")!.textContent).toBe("");
  });

  it("cleanup flushes a pending save", () => {
    const { el, model, cleanup } = mount([field("a", "string")]);
    type(rowOf(el, "a").querySelector("input")!, "late");
    cleanup();
    expect(model.saved).toEqual([{ a: "late" }]);
  });
});

describe("more controls", () => {
  it("optional flags without a default can stay unset", () => {
    const { el, model } = mount([field("fast", "boolean")]);
    const select = rowOf(el, "fast").querySelector("select")!;
    expect([...select.options].map((o) => o.text)).toEqual(["— not set —", "true", "false"]);
    select.value = "false";
    select.dispatchEvent(new Event("change"));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ fast: false });
    select.value = "";
    select.dispatchEvent(new Event("change"));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({});
  });

  it("a dropped file is uploaded like a picked one", async () => {
    const { el, model } = mount([field("audio", "file")]);
    const zone = rowOf(el, "audio").querySelector<HTMLElement>(".rw-form-file")!;
    const file = new File(["RIFF"], "a.wav", { type: "audio/wav" });
    const drop = new Event("drop", { cancelable: true }) as Event & { dataTransfer: unknown };
    drop.dataTransfer = { files: [file], getData: () => "" };
    zone.dispatchEvent(drop);
    await vi.waitFor(() => expect(model.saved).toHaveLength(1));
    expect(model.sent[0].content).toMatchObject({ kind: "file", name: "a.wav" });
    expect(drop.defaultPrevented).toBe(true);
  });

  it("files over the upload limit are refused with what to do instead", () => {
    const { el, model } = mount([field("video", "file")]);
    model.state.max_upload_bytes = 3;
    const picker = rowOf(el, "video").querySelector<HTMLInputElement>("input[type=file]")!;
    Object.defineProperty(picker, "files", {
      value: [new File(["too big"], "v.mp4", { type: "video/mp4" })],
    });
    picker.dispatchEvent(new Event("change"));
    expect(rowOf(el, "video").querySelector(".rw-form-error")!.textContent).toMatch(
      /paste a URL instead/i,
    );
    expect(model.sent).toHaveLength(0);
  });

  it("a secret set from Python shows as set without its value", () => {
    const { el, model } = mount([field("token", "secret")]);
    model.kernelSet("values", { token: { __secret__: "py-1" } });
    const input = rowOf(el, "token").querySelector("input")!;
    expect(input.value).toBe("");
    expect(input.placeholder).toMatch(/set in the kernel/);
  });

  it("lists of files upload each item", async () => {
    const { el, model } = mount([field("images", "array", { items: field("i", "file") })]);
    const row = rowOf(el, "images");
    row.querySelector<HTMLButtonElement>(".rw-form-list > button")!.click();
    const picker = row.querySelector<HTMLInputElement>(".rw-form-list-row input[type=file]")!;
    Object.defineProperty(picker, "files", {
      value: [new File(["x"], "one.png", { type: "image/png" })],
    });
    picker.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(JSON.stringify(lastSaved(model))).toContain('"name":"one.png"'));
    const marker = (lastSaved(model).images as { __file__: string }[])[0];
    expect(model.sent.find((s) => s.content.kind === "file")!.content.__file__).toBe(
      marker.__file__,
    );
  });

  it("combobox: Escape restores the value, unmatched text is not committed", () => {
    const choices = Array.from({ length: 40 }, (_, i) => `lang-${i}`);
    const { el, model } = mount([field("language", "choice", { choices })]);
    const input = rowOf(el, "language").querySelector<HTMLInputElement>("[role=combobox]")!;
    type(input, "lang-3");
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(input.value).toBe("lang-3");
    type(input, "klingon");
    expect(rowOf(el, "language").querySelector("[role=listbox]")!.textContent).toMatch(
      /No choice matches/,
    );
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(input.value).toBe("lang-3");
    type(input, "nothing");
    input.dispatchEvent(new Event("blur"));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(lastSaved(model)).toEqual({ language: "lang-3" });
    expect(input.value).toBe("lang-3");
  });

  it("keys typed in the form do not reach the notebook's shortcuts", () => {
    const { el } = mount([field("n", "number", { minimum: 0, maximum: 1 })]);
    const seen: string[] = [];
    const listener = (e: KeyboardEvent) => seen.push(e.key);
    document.addEventListener("keydown", listener);
    const slider = el.querySelector<HTMLInputElement>(".rw-form-slider")!;
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    document.removeEventListener("keydown", listener);
    expect(seen).toEqual(["Escape"]);
  });

  it("messages the kernel gives for the whole form show in the status line", () => {
    const { el, model } = mount([field("a", "string")]);
    model.kernelSet("message", "The submit callback failed: RuntimeError: boom");
    expect(el.querySelector(".rw-form-status")!.textContent).toContain("RuntimeError: boom");
  });

  it("a new field list rebuilds the form", () => {
    const { el, model } = mount([field("a", "string")]);
    model.kernelSet("fields", [field("b", "integer"), field("c", "json")]);
    const names = [...el.querySelectorAll<HTMLElement>(".rw-form-field")].map(
      (r) => r.dataset.field,
    );
    expect(names).toEqual(["b", "c"]);
  });
});

describe("without a kernel", () => {
  it("disables Run and says to run the cell again, now or when the kernel goes", async () => {
    const fields = [field("prompt", "text")];
    const { el, model } = mount(fields, { prompt: "hi" });
    const run = el.querySelector(".rw-form-run") as HTMLButtonElement;
    expect(run.disabled).toBe(false);
    model.kernelSet("busy", true);
    expect(run.textContent).toBe("Running…");
    el.classList.add("jupyter-widgets-disconnected"); // ipywidgets: the comm is not live
    await Promise.resolve();
    expect(run.disabled).toBe(true);
    expect(run.textContent).toBe("Run"); // nothing runs for it any more
    expect(el.querySelector(".rw-form-status")?.textContent).toBe(NOT_CONNECTED);
    expect((el.querySelector(".rw-form") as HTMLElement).dataset.connection).toBe("lost");
    run.click();
    expect(model.sent).toEqual([]);
  });
});
