/**
 * Byte sources the inspector opens: a File/Blob (read synchronously through `FileReaderSync` inside
 * a Web Worker, so validation and conversion stream; asynchronously elsewhere) and a URL read with
 * HTTP range requests. DOM-free: the host objects are declared here, not taken from lib.dom.
 */
import { blobSource, callbackSource, type ByteSource } from "../bytes/source.js";
import { CheckpointError } from "../errors.js";
import type { WebBlob } from "./protocol.js";

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: WebBlob): ArrayBuffer;
}
type FileReaderSyncCtor = new () => FileReaderSyncLike;

/** A Blob as a source; with `readSync` where the host has FileReaderSync (dedicated workers). */
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
  return { size: async.size, read: async (o, l) => readSync(o, l), readSync, name };
}

interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}
type FetchFn = (url: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<FetchResponse>;

/**
 * A URL read by HTTP range requests (`Range: bytes=a-b`). The size comes from the answer to a first
 * one-byte range request (Content-Range), so only the ranges the reader asks for are fetched. A
 * server that ignores ranges (200) is refused rather than downloaded whole behind the user's back.
 */
export async function urlInputSource(url: string, name: string, fetchFn: FetchFn = (globalThis as unknown as { fetch: FetchFn }).fetch.bind(globalThis)): Promise<ByteSource> {
  const first = await fetchFn(url, { headers: { Range: "bytes=0-0" } });
  if (!first.ok) throw new CheckpointError("io", `${url}: HTTP ${first.status}`, { file: name });
  const total = /\/(\d+)\s*$/.exec(first.headers.get("content-range") ?? "")?.[1];
  if (first.status !== 206 || total === undefined) {
    throw new CheckpointError("unsupported", `${url}: the server does not answer range requests (HTTP ${first.status}); download the file and open it instead`, { file: name });
  }
  return callbackSource(Number(total), async (offset, length) => {
    if (length === 0) return new Uint8Array(0);
    const r = await fetchFn(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    if (r.status !== 206) throw new CheckpointError("io", `${url}: HTTP ${r.status} for bytes ${offset}-${offset + length - 1}`, { offset, file: name });
    return new Uint8Array(await r.arrayBuffer());
  }, name);
}
