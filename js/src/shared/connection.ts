// Whether a widget's kernel is still there, and whether its view left the page.
//
// ipywidgets marks a view's element with `jupyter-widgets-disconnected` when its
// model's comm is not live: after a kernel restart, and for widgets restored from
// a saved notebook that no running kernel has. A kernel that died without a restart
// is read from the widget manager's kernel, where the front end has one
// (JupyterLab). Once lost, a widget never comes back: its kernel-side object is gone.

/** What a widget without its kernel says instead of looking usable. */
export const NOT_CONNECTED = "Not connected: run the cell again.";

const DISCONNECTED_CLASS = "jupyter-widgets-disconnected";
/**
 * The same mark, put by a composite widget on the places of its parts (ipywidgets
 * marks only the composite's own element, and draws a broken-link icon for it).
 */
export const PART_DISCONNECTED_CLASS = "rw-disconnected";
const GONE_STATUSES = new Set(["dead", "restarting", "autorestarting"]);
/** The notebooks a view can be shown in (JupyterLab and Notebook 7, classic). */
const NOTEBOOK = ".jp-Notebook, #notebook";
/** Milliseconds after a view's removal before checking that its notebook is open. */
export const REMOVAL_CHECK_MS = 250;

interface Signal {
  connect(slot: () => void): unknown;
  disconnect(slot: () => void): unknown;
}

interface KernelLike {
  status?: string;
  statusChanged?: Signal;
}

function kernelOf(manager: unknown): KernelLike | null {
  const kernel = (manager as { kernel?: unknown } | null | undefined)?.kernel;
  return kernel && typeof kernel === "object" ? (kernel as KernelLike) : null;
}

/**
 * Call `onLost()` once when the kernel behind the view in `el` is gone (now, or
 * later). Returns the function that stops watching.
 */
export function watchConnection(el: HTMLElement, manager: unknown, onLost: () => void): () => void {
  let lost = false;
  const kernel = kernelOf(manager);
  const check = () => {
    if (lost) return;
    const status = kernel?.status ?? "";
    const marked =
      el.classList.contains(DISCONNECTED_CLASS) || el.classList.contains(PART_DISCONNECTED_CLASS);
    if (marked || GONE_STATUSES.has(status)) {
      lost = true;
      onLost();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(el, { attributes: true, attributeFilter: ["class"] });
  kernel?.statusChanged?.connect(check);
  check();
  return () => {
    observer.disconnect();
    kernel?.statusChanged?.disconnect(check);
  };
}

interface Sender {
  send(content: Record<string, unknown>): void;
}

function newViewId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Tell the kernel that this view is shown, and later that it was removed from a
 * notebook that is still open (its output cleared, its cell re-run or deleted),
 * not from one being closed. The kernel cancels what an owner widget started
 * once no view of it is left. Returns `{ seen, removed }`: call `seen()` while the
 * view is on the page (it finds the notebook) and `removed()` from the cleanup.
 */
export function reportView(model: Sender, el: HTMLElement): { seen(): void; removed(): void } {
  const view = newViewId();
  let notebook: Element | null = null;
  const send = (open: boolean) => {
    try {
      model.send({ kind: "view", view, open });
    } catch {
      // No kernel to tell (it died, or the comm closed): nothing to cancel there.
    }
  };
  const seen = () => {
    notebook ??= el.closest(NOTEBOOK);
  };
  send(true);
  seen();
  return {
    seen,
    removed() {
      seen();
      const shownIn = notebook;
      setTimeout(() => {
        // A notebook that is gone was closed: its runs are not the view's to stop.
        if (shownIn?.isConnected) send(false);
      }, REMOVAL_CHECK_MS);
    },
  };
}
