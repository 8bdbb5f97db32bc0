/**
 * Node's `fs` for the reader, fetched when a file is opened rather than by an ESM `import`. Node's
 * ESM face of a builtin reads every export at import time, and for `fs` that loads fs/promises,
 * streams, readline and the file watchers: about 25 internal modules, several milliseconds of a
 * short script's start. `process.getBuiltinModule` (Node 20.16+) and `require` hand back the
 * module without touching those lazy exports.
 */
import { createRequire } from "node:module";
import type * as Fs from "node:fs";
import type * as FsPromises from "node:fs/promises";

/** `node:fs`. */
export function nodeFs(): typeof Fs {
  return builtin("node:fs") as typeof Fs;
}

/** `node:fs/promises` (loaded on first use: only the asynchronous readers need it). */
export function nodeFsPromises(): typeof FsPromises {
  return builtin("node:fs/promises") as typeof FsPromises;
}

/** The largest Uint8Array this Node allocates (`buffer.constants.MAX_LENGTH`: 4 GiB on Node 20). */
export function maxArrayBytes(): number {
  return (builtin("node:buffer") as { constants: { MAX_LENGTH: number } }).constants.MAX_LENGTH;
}

function builtin(id: string): unknown {
  // Builtins resolve from anywhere, so require() needs no real base path here.
  return typeof process.getBuiltinModule === "function" ? process.getBuiltinModule(id) : createRequire("/")(id);
}
