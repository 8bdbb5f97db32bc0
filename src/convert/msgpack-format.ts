/**
 * The lossless msgpack format's constants and options, shared by its encoder
 * (msgpack-encode.ts) and decoder (msgpack-decode.ts). See msgpack.ts for the format.
 */
import type { PyObjectVia } from "../pickle/value.js";

/** Version of the document layout, written as the value of the `"torchsave"` key. */
export const MSGPACK_FORMAT_VERSION = 1;

/** Default nesting bound of {@link toMsgpack}/{@link fromMsgpack} (containers inside containers). */
export const DEFAULT_MSGPACK_MAX_DEPTH = 1000;

/** Options of {@link toMsgpack}, {@link msgpackChunks} and {@link fromMsgpack}. */
export interface MsgpackOptions {
  /** Deepest nesting encoded or decoded before `limit-exceeded`. Default {@link DEFAULT_MSGPACK_MAX_DEPTH}. */
  readonly maxDepth?: number;
}

/** The NaN bit pattern a float without `nanBits` has. */
export const CANONICAL_NAN = "7ff8000000000000";
/** How an inert object was built, numbered by position in msgpack object records. */
export const VIAS: readonly PyObjectVia[] = ["reduce", "newobj", "newobj_ex", "inst", "obj"];
