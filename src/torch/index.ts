// Public surface of the PyTorch layer: read checkpoints of every layout, reach tensors and their bytes.
export { readCheckpoint, openCheckpoint, openCheckpointSync } from "./read/read-checkpoint.js";
export type { Checkpoint, CheckpointLayout, ReadOptions } from "./read/checkpoint.js";
export { DEFAULT_MAX_INFLATED_BYTES } from "./read/checkpoint.js";
export type { Storage, StorageLocation, Tensor, TensorLayout, Quantization, SparseParts, NdArray, NdField, TorchHost, TorchValue } from "./model.js";
export { isTensor, isStorage, isNdArray } from "./model.js";
export { tensorBytes, readTensorBytesSync, tensorBytesAsync, tensorTypedArray, tensorToFloat32, tensorExtent, isContiguous, numel, contiguousStrides } from "./tensor-data.js";
export type { TensorExtent } from "./tensor-data.js";
export { storageBytesSync, readStorageBytesSync, loadStorage } from "./storage-bytes.js";
export { walkTensors } from "./walk.js";
export type { TensorEntry, WalkOptions } from "./walk.js";
export { stripPrefix, addPrefix } from "./prefix.js";
export { moduleStateDict, isModuleObject, MODULE_VERSIONS } from "./module-state-dict.js";
export type { ModuleStateDict } from "./module-state-dict.js";
export { findParts, isStateDict, isOptimizerState, PART_KEYS } from "./parts.js";
export type { CheckpointParts, CheckpointPart } from "./parts.js";
export { DTYPES, dtypeByName, dtypeByStorageClass, dtypeBySafetensors, dtypeByNumpy } from "./dtypes.js";
export type { DTypeInfo, DTypeName } from "./dtypes.js";
export { detectContainer } from "./read/detect.js";
export type { ContainerKind } from "./read/detect.js";
export { torchReducers, torchFindGlobal } from "./rebuild/rebuild.js";
export { LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION } from "./read/legacy-layout.js";
export { numpyDescr, buildNdArray } from "../numpy/numpy.js";
export { readNumpyDtype } from "../numpy/numpy-dtype.js";
export type { NumpyDtype } from "../numpy/numpy-dtype.js";
export * from "./read/zip-access.js";
export { verifyRecordCrcsSync, verifyRecordCrcsAsRead } from "./read/verify-crc.js";
export type { CrcCheck, VerifyCrcOptions } from "./read/verify-crc.js";
export {
  float16ToFloat32, bfloat16ToFloat32, float32ToFloat16, float32ToBfloat16, toFloat16Bits, toBfloat16Bits,
  float8E4m3fnToFloat32, float8E5m2ToFloat32, float8E4m3fnuzToFloat32, float8E5m2fnuzToFloat32, float8E8m0fnuToFloat32,
  float4E2m1fnToFloat32, canConvertToFloat32, toFloat32Array, byteswap,
} from "./float-convert.js";
export { crc32 } from "../bytes/crc32.js";
export type { Crc32Fn } from "../bytes/crc32.js";
// Writing checkpoints torch.load accepts.
export { writeCheckpoint, checkpointChunks, checkpointChunksAsync } from "./write/write-checkpoint.js";
export { DEFAULT_WRITE_PROTOCOL, DEFAULT_ARCHIVE_NAME } from "./write/write-options.js";
export type { WriteOptions } from "./write/write-options.js";
export { mapLocation } from "./map-location.js";
export type { LocationMap, MapLocationResult } from "./map-location.js";
export { toTorchValue, stateDict, tensor, parameter, tensorView, asFloat, asTuple, asSet, asBytes, asOrderedDict } from "./builder.js";
export type { BuildInput, BuildOptions, TensorOptions, TypedArrayInput, NestedNumbers } from "./builder.js";
export { WEIGHTS_ONLY_GLOBALS, isWeightsOnlyGlobal } from "./write/write-weights-only.js";
export { zipRecordsSync } from "../containers/zip/zip-writer.js";
