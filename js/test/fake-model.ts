// A stand-in for anywidget's model with the same event semantics the views rely on:
// `set` fires `change:<key>` synchronously, `send` records messages and buffers.
import type { Field } from "../src/form/types";

type Handler = (...args: unknown[]) => void;

export interface Sent {
  content: Record<string, unknown>;
  buffers: unknown[];
}

export function fakeModel(initial: Record<string, unknown>) {
  const state: Record<string, unknown> = { ...initial };
  const handlers = new Map<string, Set<Handler>>();
  const sent: Sent[] = [];
  const saved: Record<string, unknown>[] = [];
  return {
    state,
    sent,
    /** Snapshots of `values` at each save_changes(): what reached the kernel. */
    saved,
    get: (key: string) => state[key],
    set(key: string, value: unknown) {
      state[key] = value;
      for (const h of handlers.get(`change:${key}`) ?? []) h();
    },
    on(name: string, h: Handler) {
      if (!handlers.has(name)) handlers.set(name, new Set());
      handlers.get(name)!.add(h);
    },
    off(name: string, h: Handler) {
      handlers.get(name)?.delete(h);
    },
    send(content: Record<string, unknown>, _callbacks?: unknown, buffers?: unknown[]) {
      sent.push({ content, buffers: buffers ?? [] });
    },
    save_changes() {
      saved.push(structuredClone(state.values as Record<string, unknown>));
    },
    /** What the kernel does: change a trait and let the views hear it. */
    kernelSet(key: string, value: unknown) {
      this.set(key, value);
    },
  };
}

export type FakeModel = ReturnType<typeof fakeModel>;

export function field(name: string, kind: Field["kind"], extra: Partial<Field> = {}): Field {
  return {
    name,
    kind,
    title: name.replace(/_/g, " ").replace(/\b\w/g, (c) => c.toUpperCase()),
    description: null,
    default: null,
    has_default: false,
    required: false,
    nullable: false,
    choices: null,
    minimum: null,
    maximum: null,
    min_length: null,
    max_length: null,
    pattern: null,
    accept: null,
    deprecated: false,
    items: null,
    x_order: null,
    format: null,
    ...extra,
  };
}

export function formState(fields: Field[], values: Record<string, unknown> = {}) {
  return {
    fields,
    values,
    errors: {},
    disabled: false,
    busy: false,
    submit_label: "Run",
    max_upload_bytes: 1024 * 1024,
    message: "",
  };
}
