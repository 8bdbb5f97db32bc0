// Public surface of the converters: lossless JSON and msgpack, plain JSON, safetensors, plain
// pickle and gzip, each a toX/fromX pair, and convertBytes, which detects the input and writes any of them.

// Lossless JSON: the value format (json-value) and the checkpoint document (json).
export { valueToJson, valueFromJson, MAX_HOST_DEPTH } from "./json-value.js";
export type { JsonValue, ToJsonOptions, FromJsonOptions } from "./json-value.js";
export { toJson, jsonChunks, fromJson, fromJsonSource, fromJsonValue, JSON_FORMAT_VERSION } from "./json.js";
export type { JsonOptions } from "./json.js";

// Plain JSON, as training loops write it.
export { toPlainJson, plainJsonChunks, fromPlainJson, fromPlainJsonSource, PLAIN_JSON_DTYPES } from "./plain-json.js";
export type { ToPlainJsonOptions, FromPlainJsonOptions } from "./plain-json.js";

// msgpack.
export { toMsgpack, msgpackChunks, fromMsgpack, fromMsgpackSource, MSGPACK_FORMAT_VERSION, DEFAULT_MSGPACK_MAX_DEPTH } from "./msgpack.js";
export type { MsgpackOptions } from "./msgpack.js";
export { MSGPACK_EXT } from "./msgpack-ext.js";
export type { MsgpackExtName } from "./msgpack-ext.js";

// safetensors.
export {
  toSafetensors, safetensorsChunks, planSafetensors, fromSafetensors, readSafetensorsSync, openSafetensors,
  SAFETENSORS_SKELETON_KEY,
} from "./safetensors.js";
export type { ToSafetensorsOptions, SafetensorsPlan, SafetensorsValue } from "./safetensors.js";
export { parseHeader as parseSafetensorsHeader, headerLength, SAFETENSORS_MAX_HEADER, SAFETENSORS_DTYPE_BITS } from "./safetensors-header.js";
export type { SafetensorsHeader, SafetensorsEntry } from "./safetensors-header.js";

// Plain pickle and gzip.
export { toPickle, pickleChunks, DEFAULT_PLAIN_PICKLE_PROTOCOL } from "./pickle-plain.js";
export type { ToPickleOptions } from "./pickle-plain.js";
export { gzip, gunzip, gzipChunks, isGzip, DEFAULT_GZIP_LEVEL, DEFAULT_GUNZIP_MAX_BYTES } from "./gzip.js";
export type { GzipOptions, GunzipOptions } from "./gzip.js";

// Any input to any output.
export { convertBytes, planConversion, readAnyForConversion, readAnySync } from "./convert-bytes.js";
export type { ConvertOptions, ConvertPlan, ReadAnyOptions, ReadAnyResult, InputFormat } from "./convert-bytes.js";
export { CONVERT_FORMATS, FORMAT_EXTENSIONS, formatFromName, isConvertFormat } from "./formats.js";
export type { ConvertFormat } from "./formats.js";
export type { ConvertInput } from "./input.js";
export { loadStorages } from "./load-storages.js";

// Building blocks.
export { canonicalOrigin } from "./torch-records.js";
export { encodeBase64, decodeBase64 } from "./base64.js";
