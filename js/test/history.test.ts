import { describe, expect, it } from "vitest";
import { type RowData, RowTable, statusClass } from "../src/history/rows";

function row(id: string, extra: Partial<RowData> = {}): RowData {
  return {
    id,
    status: "succeeded",
    info_html: `<div class="rw-history-cells"><code class="rw-history-id">${id}</code></div>`,
    open: false,
    open_tip: "open",
    can_tweak: true,
    tweak_tip: "tweak",
    can_cancel: false,
    ...extra,
  };
}

describe("History's table", () => {
  it("keeps a row whose JSON did not change and redraws one that did", () => {
    const sent: [string, string][] = [];
    const table = new RowTable((action, id) => sent.push([action, id]));
    const detail = document.createElement("div");
    table.draw([row("a"), row("b")], {}, "", detail);
    const [a, b] = Array.from(table.el.querySelectorAll(".rw-history-row"));
    table.draw([row("a"), row("b", { status: "failed", open: true })], {}, "b", detail);
    const [a2, b2] = Array.from(table.el.querySelectorAll(".rw-history-row"));
    expect(a2).toBe(a);
    expect(b2).not.toBe(b);
    expect(b2.className).toContain("rw-status-failed");
    // the opened run's pane goes right under its row
    expect(b2.nextElementSibling).toBe(detail);
    expect(b2.querySelector(".rw-history-open")?.textContent).toBe("Hide");
    (a2.querySelector(".rw-history-tweak") as HTMLButtonElement).click();
    expect(sent).toEqual([["tweak", "a"]]);
    table.draw([], {}, "b", detail);
    expect(table.el.querySelector(".rw-history-empty")).not.toBeNull();
    expect(detail.isConnected).toBe(false);
  });

  it("gives only a running row a Cancel, and drops columns no row uses", () => {
    const sent: [string, string][] = [];
    const table = new RowTable((action, id) => sent.push([action, id]));
    const detail = document.createElement("div");
    table.draw(
      [row("done"), row("live", { status: "processing", can_cancel: true })],
      {},
      "",
      detail,
    );
    const [done, live] = Array.from(table.el.querySelectorAll(".rw-history-row"));
    expect(done.querySelectorAll("button")).toHaveLength(2);
    expect(done.querySelector(".rw-history-cancel")).toBeNull();
    const cancels = live.querySelectorAll("button.rw-history-cancel");
    expect(cancels).toHaveLength(1);
    (cancels[0] as HTMLButtonElement).click();
    expect(sent).toEqual([["cancel", "live"]]);
    // text-only runs: no thumbnail column; something runs: room for Cancel
    expect(table.el.classList).toContain("rw-history-no-thumbs");
    expect(table.el.classList).not.toContain("rw-history-none-running");
    const png = { data: new Uint8Array([1, 2, 3]), mime: "image/png" };
    table.draw([row("done"), row("live", { status: "canceled" })], { done: png }, "", detail);
    expect(table.el.querySelector("button.rw-history-cancel")).toBeNull();
    expect(table.el.classList).not.toContain("rw-history-no-thumbs");
    expect(table.el.classList).toContain("rw-history-none-running");
  });

  it("puts a status in a class name only as letters, digits and dashes", () => {
    expect(statusClass('x" onclick="alert(1)')).toBe("rw-status-xonclickalert1");
    expect(statusClass("")).toBe("rw-status-unknown");
  });
});
