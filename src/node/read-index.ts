/**
 * `torchsave/node/read`: the fast path for reading checkpoint files in Node. One import covers
 * open → walk → bytes, and loading it costs a few milliseconds: it holds only the reader (no
 * writer, converters or validation), and fflate is loaded on first use (a deflated record or gzip
 * input), not at import. Everything here is also exported by `torchsave/node`.
 *
 * It is built as one self-contained file, so its error classes are a copy of those in the other
 * entries: test errors with {@link isTorchsaveError} or the classes exported here. Checkpoints,
 * tensors and storages are plain data and work with the functions of every entry.
 */

// Files.
export { readCheckpointFileSync, readCheckpointFile, openCheckpointFile } from "./read-file.js";
export type { OpenedCheckpointFile } from "./read-file.js";
export { openFileSource, openFileSourceAsync } from "./file-source.js";
export type { FileSource, FileSourceOptions } from "./file-source.js";

// Checkpoints from other sources, tensors and their bytes (the reading half of `torchsave/torch`).
export { readCheckpoint, openCheckpoint, openCheckpointSync } from "../torch/index.js";
export type { Checkpoint, CheckpointLayout, ReadOptions } from "../torch/index.js";
export { walkTensors, findParts, isStateDict, isOptimizerState } from "../torch/index.js";
export type { TensorEntry, WalkOptions, CheckpointParts, CheckpointPart } from "../torch/index.js";
export { tensorBytes, tensorBytesAsync, tensorTypedArray, tensorToFloat32, tensorExtent, isContiguous, numel } from "../torch/index.js";
export type { TensorExtent } from "../torch/index.js";
export { storageBytesSync, loadStorage, isTensor, isStorage, isNdArray, dtypeByName } from "../torch/index.js";
export type { Storage, StorageLocation, Tensor, NdArray, TorchHost, TorchValue, DTypeInfo, DTypeName } from "../torch/index.js";

// Errors.
export { TorchsaveError, CheckpointError, PickleDecodeError, isTorchsaveError, formatKeyPath } from "../errors.js";
export type { ErrorCode, KeyPath } from "../errors.js";
