/**
 * Plain JSON, as training loops write it with `json.dump`: tensors as nested lists of numbers
 * (`tensor.tolist()`), floats as JSON numbers, dicts as objects. For people and tools that want
 * numbers; lossy by nature (docs/formats.md lists what is lost). The import reads such dumps back,
 * turning every rectangular list of numbers into a tensor (dtype inferred as torch.tensor would,
 * or given).
 */
export { toPlainJson, plainJsonChunks, toPlainJsonValue, DEFAULT_PLAIN_JSON_MAX_DEPTH } from "./plain-json-export.js";
export type { ToPlainJsonOptions } from "./plain-json-export.js";
export { fromPlainJson, fromPlainJsonSource, PLAIN_JSON_DTYPES } from "./plain-json-import.js";
export type { FromPlainJsonOptions } from "./plain-json-import.js";
