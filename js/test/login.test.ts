import { describe, expect, it } from "vitest";
import login from "../src/login";

type Handler = () => void;

function fakeModel(initial: Record<string, unknown>) {
  const state = { ...initial };
  const handlers = new Map<string, Set<Handler>>();
  const sent: unknown[] = [];
  return {
    sent,
    state,
    get: (key: string) => state[key],
    set: (key: string, value: unknown) => {
      state[key] = value;
      for (const h of handlers.get(`change:${key}`) ?? []) h();
    },
    on: (name: string, h: Handler) => {
      if (!handlers.has(name)) handlers.set(name, new Set());
      handlers.get(name)!.add(h);
    },
    off: (name: string, h: Handler) => handlers.get(name)?.delete(h),
    send: (msg: unknown) => sent.push(msg),
    save_changes: () => {},
  };
}

describe("login view", () => {
  it("sends the token once as a message, clears the box and never sets a trait", () => {
    const model = fakeModel({ status: "", state: "empty" });
    const el = document.createElement("div");
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    login.render({ model: model as any, el } as any);
    const input = el.querySelector("input") as HTMLInputElement;
    expect(input.type).toBe("password");
    input.value = "r8_secret";
    el.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(model.sent).toEqual([{ kind: "token", token: "r8_secret" }]);
    expect(input.value).toBe("");
    expect(JSON.stringify(model.state)).not.toContain("r8_secret");
  });

  it("sends on Enter itself and keeps the key from JupyterLab's shortcuts", () => {
    const model = fakeModel({ status: "", state: "empty" });
    const el = document.createElement("div");
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    login.render({ model: model as any, el } as any);
    const seen: string[] = [];
    el.addEventListener("keydown", () => seen.push("bubbled"));
    const input = el.querySelector("input") as HTMLInputElement;
    input.value = "r8_enter";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.sent).toEqual([{ kind: "token", token: "r8_enter" }]);
    expect(seen).toEqual([]);
  });

  it("shows the kernel's status and state", () => {
    const model = fakeModel({ status: "", state: "empty" });
    const el = document.createElement("div");
    // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for anywidget's model
    login.render({ model: model as any, el } as any);
    model.set("state", "error");
    model.set("status", "Replicate rejected this token.");
    expect(el.querySelector(".rw-login-status")!.textContent).toBe(
      "Replicate rejected this token.",
    );
    expect((el.querySelector(".rw-login") as HTMLElement).dataset.state).toBe("error");
  });
});
