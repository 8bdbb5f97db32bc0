/** The input side shared by the converters: what they accept, and the guard that keeps JS errors from escaping readers. */
import { ConvertError, isTorchsaveError } from "../errors.js";
import type { Checkpoint, TorchValue } from "../torch/index.js";

/** What the `toX` converters accept: a checkpoint as read (its root is converted), or any value of the torch value model. */
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

/** True when `s` has an unpaired UTF-16 surrogate (Python allows it in a str; UTF-8 cannot carry it). */
export const hasLoneSurrogate = (s: string): boolean => LONE.test(s);

/**
 * Runs a reader so that only torchsave errors leave it: a JS error from malformed input (a
 * TypeError, or a RangeError such as an exhausted stack) becomes a ConvertError.
 */
export function guarded<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isTorchsaveError(e)) throw e;
    const message = (e as Error)?.message ?? String(e);
    const deep = e instanceof RangeError && /call stack/i.test(message);
    throw new ConvertError(deep ? "limit-exceeded" : "invalid-data", deep ? `${what}: nested too deeply` : `${what}: ${message}`, { cause: e });
  }
}
