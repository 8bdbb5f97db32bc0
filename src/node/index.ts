// Node-only helpers: files as random-access sources, checkpoint files in and out, atomic writes.
// Everything `torchsave/node/read` exports (reading files, walking tensors, their bytes, errors),
// plus writing. Readers that care about start-up time import `torchsave/node/read` instead.
export * from "./read-index.js";
export { writeFileAtomic, writeFileAtomicSync } from "./atomic-write.js";
export { writeFileSetAtomic } from "./atomic-file-set.js";
export type { FileSetEntry } from "./atomic-file-set.js";
export { writeCheckpointFile, writeCheckpointFileSync, archiveNameFor, nodeCrc32 } from "./write-checkpoint.js";
export { DEFAULT_ATOMIC_IN_FLIGHT } from "./atomic-write.js";
export type { AtomicWriteOptions } from "./atomic-write.js";
export { DEFAULT_CHECKPOINT_IN_FLIGHT } from "./write-checkpoint.js";
export type { WriteFileOptions } from "./write-checkpoint.js";
export { directoryFiles } from "./directory-files.js";
export type { DirectoryFilesHandle } from "./directory-files.js";
export { checkpointFolder, MAX_FOLDER_FILES } from "./checkpoint-folder.js";
export { isGzipFile, openGunzippedFile, openFileSourceInflating, GUNZIP_IN_MEMORY_BYTES } from "./gunzip-file.js";
export type { GunzipFileOptions, GunzippedFile } from "./gunzip-file.js";
export { gzipStream } from "./gzip-stream.js";
