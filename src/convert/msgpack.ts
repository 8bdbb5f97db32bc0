/**
 * The lossless msgpack format: the same model as the lossless JSON, in binary. Storages are `bin`
 * items (no base64), Python floats are msgpack floats and ints are msgpack ints, dicts are maps
 * with keys of any type in order, and what msgpack cannot say natively is an ext item
 * (`MSGPACK_EXT`: tuple, set, big int, global, tensor, storage, ...). The document is a map:
 * `{"torchsave": 1, "storages": [...], "root": value}` (docs/formats.md).
 */
export { MSGPACK_FORMAT_VERSION, DEFAULT_MSGPACK_MAX_DEPTH } from "./msgpack-format.js";
export type { MsgpackOptions } from "./msgpack-format.js";
export { msgpackChunks, toMsgpack } from "./msgpack-encode.js";
export { fromMsgpack } from "./msgpack-decode.js";
export { fromMsgpackSource } from "./msgpack-source.js";
