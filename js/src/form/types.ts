// Shapes shared by the form's modules: the Field JSON written by the Python schema
// layer (`Field.to_json()`), the widget's synced traits, and the control contract.

import type { MarkdownPart } from "./describe";

export type FieldKind =
  | "string"
  | "text"
  | "integer"
  | "number"
  | "boolean"
  | "choice"
  | "file"
  | "secret"
  | "array"
  | "json";

export interface Field {
  name: string;
  kind: FieldKind;
  title: string;
  description: string | null;
  default: unknown;
  has_default: boolean;
  required: boolean;
  nullable: boolean;
  choices: unknown[] | null;
  minimum: number | null;
  maximum: number | null;
  min_length: number | null;
  max_length: number | null;
  pattern: string | null;
  accept: string | null;
  deprecated: boolean;
  items: Field | null;
  x_order: number | null;
  format: string | null;
  /** Why the schema layer fell back to a JSON editor for this field, if it did. */
  problem?: string | null;
}

/** What `values[name]` holds for a file picked in the browser: the bytes stay in the kernel. */
export interface FileMarker {
  __file__: string;
  name: string;
  size: number;
  type: string;
}

/** What `values[name]` holds for a secret: the value itself only ever travels by message. */
export interface SecretMarker {
  __secret__: string;
}

export interface FormState {
  fields: Field[];
  values: Record<string, unknown>;
  errors: Record<string, string>;
  disabled: boolean;
  busy: boolean;
  submit_label: string;
  max_upload_bytes: number;
  message: string;
}

/** Marks "no value": the key is left out of `values` and out of the prediction input. */
export const UNSET: unique symbol = Symbol("unset");
export type Value = unknown | typeof UNSET;

/** What a control needs from the form around it. */
export interface ControlContext {
  field: Field;
  /** id for the element the field's <label> points at. */
  id: string;
  /** ids of the elements that describe the control (description, message). */
  describedBy: string;
  commit(value: Value): void;
  /** A problem only the browser can see (text that is not a number, invalid JSON...). */
  localError(message: string | null): void;
  upload(file: File): Promise<FileMarker>;
  /** Send a secret to the kernel under `key` ("" forgets it); returns the marker to store. */
  sendSecret(key: string, value: string): SecretMarker | null;
  maxUploadBytes(): number;
  /** The Markdown renderer for descriptions, asked of the kernel when first needed. */
  loadMarkdown(): Promise<MarkdownPart>;
}

export interface Control {
  /** Appended to the field row. */
  el: HTMLElement;
  /** Show a value that came from the kernel (UNSET: clear the control). */
  set(value: Value): void;
  destroy?(): void;
}

export function isFileMarker(value: unknown): value is FileMarker {
  return typeof value === "object" && value !== null && "__file__" in value;
}

export function isSecretMarker(value: unknown): value is SecretMarker {
  return typeof value === "object" && value !== null && "__secret__" in value;
}

/** True when a field may be left empty: it is then simply not sent. */
export function isOptional(field: Field): boolean {
  return !field.required || field.nullable;
}

let counter = 0;
/** A document-unique id prefix; several views of one widget can share a page. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}
