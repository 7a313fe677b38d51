// The `_esm` of every widget here (replicate_widgets/_view.py): a loader that gets the
// widget's view bundle once per page and compiles it once.
//
// anywidget compiles each model's `_esm` afresh, and JupyterLab keeps every widget's
// opening message for the life of the page, so the bundle travels neither way: the
// model carries its bundle's key (`_view_key`, name and hash), and only the first widget
// of a class in a kernel the bundle itself (`_view_code`: a kernel busy in the cell that
// shows it could not answer before the cell ends). The compiled
// bundles are kept in a page-wide map by key; a key the page has not got is asked of
// the kernel once, with a custom message through one widget's comm, and the kernel
// answers with the code as a binary buffer. Every other view of that key waits for the
// same answer. Code a bundle needs only sometimes (a part, `js/src/parts/`) is asked for
// the same way by the bundle itself (`loadPart`). The loader is compiled for every widget
// model: keep it small.

interface ViewModule {
  initialize?(ctx: unknown): unknown;
  render?(ctx: unknown): unknown;
}

interface Model {
  get(key: string): unknown;
  send(content: Record<string, unknown>): void;
  on(name: string, handler: (...args: never[]) => void): void;
}

interface Ctx {
  model: Model;
  el?: HTMLElement;
  signal?: AbortSignal;
}

interface Entry {
  /** The compiled bundle's default export, once the code came and compiled. */
  done?: ViewModule;
  /** The code came (a later answer to a repeated request is ignored). */
  came?: boolean;
  module: Promise<ViewModule>;
  arrive(code: string): void;
  fail(why: string): void;
  /** When the kernel was last asked (ms; 0: not yet). */
  askedAt: number;
  /** The models waiting for the code; the newest asks again (its kernel is likeliest up). */
  waiting: Model[];
  /** Milliseconds after which another waiting view asks again (doubles each time). */
  wait: number;
}

/** The message kind of a request and of its answer (the kernel's `View`). */
const KIND = "view-code";
/** First wait before asking again: a lost request (a closed widget, a restarted kernel). */
export const RETRY_MS = 5000;
/** A view waiting this long says why it may not come. */
export const SLOW_MS = 10000;
/**
 * The longest `initialize` waits for code it has to compile (see there), counted from
 * when this module was evaluated: anywidget evaluates a model's `_esm` afresh just before
 * it calls `initialize`, and gives up on the model 2 s after it began.
 */
export const INIT_WAIT_MS = 800;
let evaluated = Date.now();

/** Tests: this module was evaluated now (in a page, each model's copy is). */
export function evaluatedNow(): void {
  evaluated = Date.now();
}
export const LOADING = "Loading this widget's view...";
export const NO_ANSWER =
  "This widget's view comes from its kernel, which has not answered yet: it may be busy " +
  "running a cell (the view appears when it is done), or gone (run the cell again; a " +
  "notebook saved without its kernel cannot show this widget).";

type Compile = (code: string) => Promise<ViewModule>;

let compile: Compile = async (code) => {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  try {
    return (await import(/* @vite-ignore */ url)).default as ViewModule;
  } finally {
    URL.revokeObjectURL(url);
  }
};

/** Tests compile without `blob:` imports, which their DOM does not have. */
export function setCompile(fn: Compile): void {
  compile = fn;
}

// On globalThis: every model's loader is a module of its own, and views of one key in
// any notebook of the page share one bundle. Keyed by hash: a rebuilt bundle is new.
const STORE = Symbol.for("replicate_widgets.view_code");
const page = globalThis as Record<symbol, unknown>;
page[STORE] ??= new Map<string, Entry>();
const store = page[STORE] as Map<string, Entry>;

// The code is also kept in the browser by key (localStorage, one version per bundle name),
// for a page without a live widget comm: a notebook reopened with its saved widget state,
// whose kernel is new and has none of those widgets. It is used only if it still hashes
// to its key; without WebCrypto (a page served over plain http from elsewhere), never.
const SAVED = "replicate_widgets.view_code:";

function keep(key: string, code: string): void {
  try {
    const name = `${SAVED}${key.split(":")[0]}:`;
    for (let i = localStorage.length; i--; ) {
      const old = localStorage.key(i);
      if (old?.startsWith(name)) localStorage.removeItem(old); // an older build
    }
    localStorage.setItem(SAVED + key, code);
  } catch {
    // No storage, or full: the page asks the kernel next time.
  }
}

async function kept(key: string): Promise<string | null> {
  try {
    const code = localStorage.getItem(SAVED + key);
    if (code === null || !crypto.subtle) return null;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    if (key.endsWith(`:${hex.slice(0, 16)}`)) return code;
    localStorage.removeItem(SAVED + key);
  } catch {
    // No storage: ask the kernel.
  }
  return null;
}

function entryOf(key: string): Entry {
  let entry = store.get(key);
  if (!entry) {
    let arrive!: (code: string) => void;
    let fail!: (why: string) => void;
    const code = new Promise<string>((resolve, reject) => {
      arrive = resolve;
      fail = (why) => reject(new Error(why));
    });
    const made: Entry = {
      module: code.then(compile).then(
        (m) => {
          made.done = m;
          made.waiting = [];
          return m;
        },
        (error: unknown) => {
          // The next view of this key asks again (a kernel restarted meanwhile).
          if (store.get(key) === made) store.delete(key);
          throw error;
        },
      ),
      arrive,
      fail,
      askedAt: 0,
      waiting: [],
      wait: RETRY_MS,
    };
    made.module.catch(() => {}); // each view reports it; no unhandled rejection
    store.set(key, made);
    entry = made;
    made.askedAt = Date.now(); // no request while the browser's copy is read
    kept(key).then((code) => {
      if (made.came) return; // from a widget's state meanwhile
      if (code !== null) {
        made.came = true;
        arrive(code);
      } else {
        made.askedAt = 0;
        ask(key, made);
      }
    });
  }
  return entry;
}

/** Ask the kernel for `key`'s code through the newest waiting model, unless asked lately. */
function ask(key: string, entry: Entry): void {
  const model = entry.waiting[entry.waiting.length - 1];
  if (!model || entry.came || (entry.askedAt && Date.now() - entry.askedAt < entry.wait)) return;
  if (entry.askedAt) entry.wait = Math.min(entry.wait * 2, 60000);
  // A listener per request, not per model: a host may drop a view's listeners when the
  // view goes, and may hand the same model to the next view.
  model.on("msg:custom", ((content: Record<string, unknown>, buffers: ArrayBufferView[] = []) => {
    if (content?.kind !== KIND || typeof content.key !== "string") return;
    const answered = store.get(content.key);
    if (!answered || answered.came) return;
    answered.came = true;
    if (content.missing || !buffers[0]) answered.fail("its kernel does not have this view's code");
    else {
      const code = new TextDecoder().decode(buffers[0]);
      keep(content.key, code);
      answered.arrive(code);
    }
  }) as never);
  entry.askedAt = Date.now();
  try {
    model.send({ kind: KIND, key });
  } catch {
    // No comm (a closed widget, no kernel): another view, or the retry, asks.
  }
}

/**
 * A part of a view's code that its bundle loads on demand (`js/src/parts/`), asked of the
 * kernel like a bundle: the model's `_view_parts` maps the part's name to its key.
 */
export function loadPart<T>(model: Model, name: string): Promise<T> {
  const key = (model.get("_view_parts") as Record<string, string> | undefined)?.[name];
  if (!key) return Promise.reject(new Error(`no part "${name}" in this view`));
  const entry = entryOf(key);
  if (!entry.done) {
    entry.waiting.push(model);
    ask(key, entry);
  }
  return entry.module as Promise<unknown> as Promise<T>;
}

/** Tests: the page has `key`'s code already, compiled to `module`. */
export function preload(key: string, module: unknown): void {
  const entry = entryOf(key);
  entry.done = module as ViewModule;
  entry.module = Promise.resolve(entry.done);
}

/** The entry of `model`'s bundle, given the code if the model carries it (a kernel's first). */
function entryFor(model: Model): [string, Entry] {
  const key = String(model.get("_view_key") ?? "");
  const entry = entryOf(key);
  const code = model.get("_view_code");
  if (!entry.came && typeof code === "string" && code) {
    entry.came = true;
    keep(key, code);
    entry.arrive(code);
  }
  return [key, entry];
}

/** Wait for `promise` (fulfilled or not), but never longer than `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise.catch(() => {}), late]);
  } finally {
    clearTimeout(timer);
  }
}

function note(el: HTMLElement | undefined, text: string): void {
  if (!el) return;
  const p = document.createElement("p");
  p.className = "rw-view-note";
  p.style.cssText = "margin:0.5em 0;font-style:italic;opacity:0.8";
  p.textContent = text;
  el.replaceChildren(p);
}

export default {
  // anywidget waits for `initialize` before it renders and before it hands the model any
  // message from the kernel (and a parent's `getWidget` waits at most 10 s for it).
  //  - The code is here or compiling (the model carries it, or another view brought it):
  //    wait for the bundle's own `initialize`, so its listeners see every message. Else
  //    a change that came meanwhile (a streamed text's append) was lost, and the view
  //    asked the kernel for the whole value, which a kernel busy in another cell answers
  //    only when that cell ends: the text stood still till then.
  //  - It has to come from the kernel: ask, and return at once. The answer is a message
  //    to this model, which anywidget holds until `initialize` returns.
  //  - Never past INIT_WAIT_MS: anywidget gives up on a model whose `initialize` has not
  //    returned 2 s after the model was made, and then drops every message to it.
  async initialize(ctx: Ctx) {
    const [key, entry] = entryFor(ctx.model);
    if (!entry.done) entry.waiting.push(ctx.model);
    ask(key, entry);
    let closed = false;
    let cleanup: unknown;
    const start = (m: ViewModule) => {
      if (!closed) cleanup = m.initialize?.(ctx);
    };
    if (entry.done) start(entry.done);
    else {
      // Registered first, so the bundle's `initialize` runs before this one returns.
      entry.module.then(start, () => {});
      if (entry.came) await within(entry.module, evaluated + INIT_WAIT_MS - Date.now());
    }
    return () => {
      closed = true;
      if (typeof cleanup === "function") cleanup();
    };
  },

  async render(ctx: Ctx) {
    const [key, entry] = entryFor(ctx.model);
    if (entry.done) return entry.done.render?.(ctx);
    const start = Date.now();
    note(ctx.el, LOADING);
    entry.waiting.push(ctx.model);
    const timer = setInterval(() => {
      ask(key, entry);
      // ipywidgets marks a view whose comm is not live (no kernel, a saved notebook).
      if (Date.now() - start >= SLOW_MS || ctx.el?.closest(".jupyter-widgets-disconnected"))
        note(ctx.el, NO_ANSWER);
    }, 1000);
    try {
      ask(key, entry);
      const m = await entry.module;
      if (ctx.signal?.aborted) return;
      ctx.el?.replaceChildren();
      return m.render?.(ctx);
    } catch (error) {
      note(ctx.el, `This widget's view could not be loaded: ${(error as Error).message}.`);
    } finally {
      clearInterval(timer);
    }
  },
};
