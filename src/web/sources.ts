/**
 * Byte sources the inspector opens: a File/Blob, read synchronously through `FileReaderSync` inside
 * a Web Worker where a reader needs it (validation, conversion, opening) and asynchronously for
 * `read` (a 64 MiB tensor comes faster through `Blob.arrayBuffer()`), and a URL read
 * with HTTP range requests (bytes/url-source.ts). DOM-free: the host objects are declared here.
 */
import { blobSource, type ByteSource } from "../bytes/source.js";
import { urlSource } from "../bytes/url-source.js";
import { CheckpointError } from "../errors.js";
import type { OpenInput, WebBlob } from "./protocol.js";

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: WebBlob): ArrayBuffer;
}
type FileReaderSyncCtor = new () => FileReaderSyncLike;

/** A Blob as a source; with `readSync` where the host has FileReaderSync (dedicated workers); `read` stays asynchronous. */
export function blobInputSource(blob: WebBlob, name: string): ByteSource {
  const async = blobSource(blob, name);
  const Ctor = (globalThis as { FileReaderSync?: FileReaderSyncCtor }).FileReaderSync;
  if (Ctor === undefined) return async;
  const reader = new Ctor();
  const readSync = (offset: number, length: number): Uint8Array => {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new CheckpointError("invalid-argument", `bad read range: offset ${offset}, length ${length}`, { file: name });
    }
    if (length > blob.size - offset) {
      throw new CheckpointError("truncated", `expected ${length} bytes, ${Math.max(0, blob.size - offset)} remain of ${blob.size}`, { offset, file: name });
    }
    try {
      return new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length)));
    } catch (e) {
      throw new CheckpointError("io", `read of ${length} bytes failed: ${String(e)}`, { offset, file: name, cause: e });
    }
  };
  return { size: async.size, read: async.read, readSync, name };
}

/** The source of a one-file input the page asked for. */
export async function inputSource(input: Exclude<OpenInput, { kind: "set" }>): Promise<ByteSource> {
  return input.kind === "blob" ? blobInputSource(input.blob, input.name) : urlSource(input.url, { name: input.name });
}
