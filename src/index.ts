// torchsave: pure codecs for PyTorch checkpoints and Python pickles. This entry is browser-safe.
export * from "./errors.js";
export * from "./pickle/index.js";
export * from "./torch/index.js";
export type { ByteSource } from "./bytes/source.js";
export { bytesSource, blobSource, callbackSource } from "./bytes/source.js";
