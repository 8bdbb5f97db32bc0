/**
 * {@link readAnySync}'s twin for sources that read only asynchronously (URLs, Blobs): torch
 * layouts and safetensors open lazily (directory, pickle or header only); JSON, msgpack and gzip
 * need their whole input, which is read first.
 */
import { bytesSource, type ByteSource } from "../bytes/source.js";
import type { ReadAnyOptions, ReadAnyResult } from "../convert/index.js";
import { openSafetensors, readAnySync } from "../convert/index.js";
import { detectContainer, openCheckpoint } from "../torch/index.js";

const DETECT_HEAD_BYTES = 1024;

/**
 * Reads any input torchsave reads from any source.
 * @throws as `readAnySync`, and the source's read errors.
 */
export async function readAnyAsync(source: ByteSource, options: ReadAnyOptions = {}): Promise<ReadAnyResult> {
  if (source.bytes !== undefined || source.readSync !== undefined) return readAnySync(source, options);
  const head = await source.read(0, Math.min(DETECT_HEAD_BYTES, source.size));
  const kind = detectContainer(head, source.size);
  if (kind === "safetensors") {
    const v = await openSafetensors(source);
    return { root: v.root, format: "safetensors", gzip: false, metadata: v.metadata };
  }
  if (kind === "zip" || kind === "legacy" || kind === "tar" || kind === "npy" || kind === "pickle") {
    const readOptions = { ...(source.name === undefined ? {} : { name: source.name }), ...(options.read ?? {}) };
    const checkpoint = await openCheckpoint(source, readOptions);
    return { root: checkpoint.root, format: checkpoint.layout, gzip: checkpoint.compression === "gzip", checkpoint };
  }
  return readAnySync(bytesSource(await source.read(0, source.size), source.name), options);
}
