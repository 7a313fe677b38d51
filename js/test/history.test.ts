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

  it("puts a status in a class name only as letters, digits and dashes", () => {
    expect(statusClass('x" onclick="alert(1)')).toBe("rw-status-xonclickalert1");
    expect(statusClass("")).toBe("rw-status-unknown");
  });
});
