// torchsave/distributed: checkpoints written by distributed training, read as one checkpoint.
export { readDcpMetadata } from "./dcp-metadata.js";
export type { DcpMetadata, DcpEntry, DcpChunk } from "./dcp-metadata.js";
export { openDcp, openDcpSync, MAX_DCP_LIST_INDEX } from "./dcp-read.js";
export type { DcpCheckpoint, DirectoryFiles } from "./dcp-read.js";
export { checkTiling, scatterChunk, MAX_OVERLAP_PAIRS } from "./assemble.js";
export type { Box } from "./assemble.js";
export { sliceSource } from "./slice-source.js";
export { readAnyAsync } from "./read-any-async.js";
