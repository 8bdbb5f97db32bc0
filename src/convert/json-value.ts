/**
 * The lossless JSON value format (docs/json-format.md): every pickle value as one readable JSON
 * document, and back, exactly — ints beyond 2**53, float specials and NaN bits, bytes, tuples,
 * sets, non-string dict keys, inert objects, sharing and cycles. The torch layer extends it with
 * its own tags (`$tensor`, `$storage`, ...) through the `host` hooks.
 */
export { valueToJson } from "./json-value-to.js";
export { valueFromJson } from "./json-value-from.js";
export { MAX_HOST_DEPTH } from "./json-value-types.js";
export type { JsonValue, ToJsonOptions, FromJsonOptions } from "./json-value-types.js";
