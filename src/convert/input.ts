/** What the `toX` converters accept: a checkpoint as read, or any value of the torch value model. */
import type { Checkpoint, TorchValue } from "../torch/index.js";

export type ConvertInput = Checkpoint | TorchValue;

/** True for a `Checkpoint` (it has `root` and `layout`; values of the model have `kind` or are scalars). */
export function isCheckpoint(v: unknown): v is Checkpoint {
  return typeof v === "object" && v !== null && !("kind" in v) && "root" in v && "layout" in v && "storages" in v;
}

/** The value to convert: a checkpoint's root, or the value itself. */
export function rootOf(input: ConvertInput): TorchValue {
  return isCheckpoint(input) ? input.root : input;
}

/** Python's own check for a well-formed str: no unpaired UTF-16 surrogates. */
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const hasLoneSurrogate = (s: string): boolean => LONE.test(s);
