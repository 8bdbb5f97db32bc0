// Public surface of the pickle codec: decode, encode, disassemble, and the value model.
export { decodePickle, decodePickleAt, DEFAULT_DECODE_LIMITS } from "./decoder.js";
export type { DecodeOptions, DecodeResult, Reducer, ReducerRegistry, ReduceContext, PersistentLoad, DecodeLimits } from "./decoder.js";
export { BUILTIN_REDUCERS, builtinReducers } from "./reducers.js";
export { encodePickle, encodePickleChunks, DEFAULT_PROTOCOL, DEFAULT_ENCODE_MAX_DEPTH, DEFAULT_PICKLE_CHUNK_BYTES } from "./encoder.js";
export type { EncodeOptions, EncodeChunksOptions } from "./encoder.js";
export type { HostWriter, HostScalar } from "./encode-host.js";
export { disassemble, formatDisassembly } from "./disassemble.js";
export type { DisassembledOp, DisassembleOptions } from "./disassemble.js";
export { OPCODES, OPCODES_BY_CODE, OPCODES_BY_NAME, HIGHEST_PROTOCOL } from "./opcodes.js";
export type { OpcodeInfo, StackItem } from "./opcodes.js";
export type { ArgDescriptor, ArgSize } from "./args.js";
export { floatRepr } from "./py-float.js";
export * from "./value.js";
