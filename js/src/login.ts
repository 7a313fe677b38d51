// login(): a password box. The token leaves the browser exactly once, as a custom
// message to the kernel; it is never written to a model trait (which would be saved
// with the notebook) and the input is cleared as soon as it is sent.
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./login/login.css";
import { adoptStyles } from "./shared/styles";

interface LoginModel {
  status: string;
  state: "empty" | "checking" | "ok" | "error" | "unverified";
}

function render({ model, el }: RenderProps<LoginModel>): () => void {
  const root = document.createElement("div");
  root.className = "rw-login";

  const form = document.createElement("form");
  form.className = "rw-login-form";
  form.autocomplete = "off";
  const label = document.createElement("label");
  label.textContent = "Replicate API token";
  const input = document.createElement("input");
  input.type = "password";
  input.placeholder = "r8_…";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.className = "rw-login-input";
  label.append(input);
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = "Use token";
  const forget = document.createElement("button");
  forget.type = "button";
  forget.textContent = "Forget";
  forget.className = "rw-login-forget";
  form.append(label, submit, forget);

  const status = document.createElement("div");
  status.className = "rw-login-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  const help = document.createElement("div");
  help.className = "rw-login-help";
  help.textContent =
    "The token is kept in this kernel's memory only: it is not saved in the notebook.";

  root.append(form, status, help);
  el.append(root);
  adoptStyles(root, "login", css);

  const onSubmit = (event: Event) => {
    event.preventDefault();
    const token = input.value;
    input.value = "";
    (model as unknown as AnyModel).send({ kind: "token", token });
  };
  // JupyterLab's notebook shortcuts listen on the document and would take Enter
  // (and other keys typed into the box) for themselves, cancelling the form's own
  // submission; keep keys inside the widget, as ipywidgets' text boxes do.
  const onKey = (event: KeyboardEvent) => {
    if (event.key === "Enter") onSubmit(event);
    if (event.key !== "Escape") event.stopPropagation();
  };
  const onForget = () => {
    input.value = "";
    (model as unknown as AnyModel).send({ kind: "forget" });
  };
  const update = () => {
    status.textContent = model.get("status");
    root.dataset.state = model.get("state");
  };
  form.addEventListener("submit", onSubmit);
  input.addEventListener("keydown", onKey);
  forget.addEventListener("click", onForget);
  model.on("change:status", update);
  model.on("change:state", update);
  update();
  return () => {
    form.removeEventListener("submit", onSubmit);
    input.removeEventListener("keydown", onKey);
    forget.removeEventListener("click", onForget);
    model.off("change:status", update);
    model.off("change:state", update);
  };
}

export default { render };
