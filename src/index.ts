// torchsave: pure codecs for PyTorch checkpoints and Python pickles. This entry is browser-safe.
export * from "./errors.js";
export * from "./pickle/index.js";
export * from "./torch/index.js";
export type { ByteSource } from "./bytes/source.js";
export { bytesSource, blobSource, callbackSource } from "./bytes/source.js";
export { urlSource } from "./bytes/url-source.js";
export type { UrlSource, UrlSourceOptions, FetchLike, FetchResponseLike } from "./bytes/url-source.js";
export * from "./convert/index.js";
export { validateCheckpoint, validateCheckpointAsync, sanitize } from "./validate/index.js";
export type { ValidationReport, Finding, ValidateOptions } from "./validate/index.js";
export * from "./analyze/index.js";
