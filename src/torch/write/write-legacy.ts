/**
 * The legacy (pre-1.6, `_use_new_zipfile_serialization=False`) layout, as `_legacy_save` writes
 * it: pickles of the magic number, the protocol version 1001 and `sys_info`, the object pickle
 * (persistent ids `("storage", type, key, location, numel, None)`), the list of storage keys
 * sorted as strings, then per key its element count as a little-endian u64 and its raw bytes.
 */
import { encodePickle } from "../../pickle/encoder.js";
import { pyDict, pyList } from "../../pickle/value.js";
import type { PyValue } from "../../pickle/value.js";
import { LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION } from "../read/legacy-layout.js";
import type { DataPickle } from "./write-data-pickle.js";
import type { ResolvedWriteOptions } from "./write-options.js";
import type { StorageRecord } from "./write-pickle-tensor.js";
import { storageChunks, storageChunksAsync } from "./write-storage-bytes.js";

/** The pickles before the storages, and the storages in the order the file holds them. */
function head(data: DataPickle, opts: ResolvedWriteOptions): { pickles: Uint8Array[]; order: StorageRecord[] } {
  const encode = (v: PyValue) => encodePickle(v, { protocol: opts.protocol, weightsOnly: opts.weightsOnly });
  // torch's sys_info on every platform it builds for: little-endian, short 2, int 4, long 4 (`struct.calcsize("=l")`).
  const sysInfo = pyDict([
    ["protocol_version", LEGACY_PROTOCOL_VERSION],
    ["little_endian", true],
    ["type_sizes", pyDict([["short", 2], ["int", 4], ["long", 4]])],
  ]);
  // torch sorts the keys as strings ("10" before "2") and writes the storages in that order.
  const order = [...data.records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = encode(pyList(order.map((r) => r.key)));
  return { pickles: [encode(LEGACY_MAGIC), encode(LEGACY_PROTOCOL_VERSION), encode(sysInfo), data.bytes, keys], order };
}

function countHeader(r: StorageRecord): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(r.numel), true);
  return out;
}

/** The legacy file as chunks, storages read synchronously. */
export function* legacyChunks(data: DataPickle, opts: ResolvedWriteOptions): Generator<Uint8Array> {
  const { pickles, order } = head(data, opts);
  yield* pickles;
  for (const r of order) {
    yield countHeader(r);
    yield* storageChunks(r.storage, opts.chunkBytes);
  }
}

/** The legacy file as chunks, storages read from any source. */
export async function* legacyChunksAsync(data: DataPickle, opts: ResolvedWriteOptions): AsyncGenerator<Uint8Array> {
  const { pickles, order } = head(data, opts);
  yield* pickles;
  for (const r of order) {
    yield countHeader(r);
    yield* storageChunksAsync(r.storage, opts.chunkBytes);
  }
}
