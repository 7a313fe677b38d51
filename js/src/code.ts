// Copy as code: one tab per language, the snippet as plain text, and a Copy button.
// The kernel writes the snippets (with secrets as environment variables, never
// values); this view only shows them and puts the chosen one on the clipboard.
import type { RenderProps } from "@anywidget/types";
import css from "./code/code.css";
import { copyText } from "./shared/clipboard";
import { adoptStyles } from "./shared/styles";

interface CodeModel {
  snippets: Record<string, string>;
  language: string;
}

const LABELS: Record<string, string> = {
  python: "Python",
  replicate: "Python (replicate)",
  javascript: "JavaScript",
  curl: "curl",
};

function render({ model, el }: RenderProps<CodeModel>): () => void {
  const root = document.createElement("div");
  root.className = "rw-code";
  const tabs = document.createElement("div");
  tabs.className = "rw-code-tabs";
  tabs.setAttribute("role", "tablist");
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "rw-code-copy";
  copy.textContent = "Copy";
  const pre = document.createElement("pre");
  pre.className = "rw-code-text";
  pre.setAttribute("role", "tabpanel");
  pre.tabIndex = 0;
  const bar = document.createElement("div");
  bar.className = "rw-code-bar";
  bar.append(tabs, copy);
  root.append(bar, pre);
  el.append(root);
  adoptStyles(root, "code", css);

  const draw = () => {
    const snippets = model.get("snippets") ?? {};
    const names = Object.keys(snippets);
    let language = model.get("language");
    if (!names.includes(language)) language = names[0] ?? "";
    tabs.replaceChildren(
      ...names.map((name) => {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "rw-code-tab";
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", String(name === language));
        tab.textContent = LABELS[name] ?? name;
        tab.addEventListener("click", () => {
          model.set("language", name);
          model.save_changes();
        });
        return tab;
      }),
    );
    pre.textContent = snippets[language] ?? "";
    copy.textContent = "Copy";
  };
  const onCopy = async () => {
    const copied = await copyText(pre.textContent ?? "", pre);
    copy.textContent = copied ? "Copied" : "Press Ctrl+C";
  };
  copy.addEventListener("click", onCopy);
  model.on("change:snippets", draw);
  model.on("change:language", draw);
  draw();
  return () => {
    copy.removeEventListener("click", onCopy);
    model.off("change:snippets", draw);
    model.off("change:language", draw);
  };
}

export default { render };
