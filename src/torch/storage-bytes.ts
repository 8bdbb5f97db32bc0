/**
 * A storage's bytes, read on demand. In-memory inputs give zero-copy views; random-access sources
 * are read once per storage and cached on it. Deflated zip records are inflated (a copy, unavoidably).
 * A storage armed with its record's CRC-32 (record-crc.ts) is checked as it is read.
 */
import { inflateSync } from "fflate";
import { CheckpointError } from "../errors.js";
import type { Storage, StorageLocation } from "./model.js";
import { checkRecordCrc, checkRecordInMemory, pendingRecordCrc } from "./record-crc.js";

/** The storage's bytes in the file's byte order, read synchronously (in-memory or `readSync` sources). */
export function storageBytesSync(storage: Storage): Uint8Array {
  if (storage.data !== undefined) {
    checkRecordInMemory(storage);
    return storage.data;
  }
  storage.data = readStorageBytesSync(storage);
  return storage.data;
}

/**
 * {@link storageBytesSync} without keeping the bytes on the storage: the converters read a
 * storage, write it and drop it, so converting a file larger than memory stays bounded (the
 * caller holds one storage at a time). In-memory sources still give zero-copy views.
 */
export function readStorageBytesSync(storage: Storage): Uint8Array {
  if (storage.data !== undefined) {
    checkRecordInMemory(storage);
    return storage.data;
  }
  const from = requireLocation(storage);
  const src = from.source;
  let raw: Uint8Array;
  if (src.bytes !== undefined) raw = src.bytes.subarray(from.offset, from.offset + from.length);
  else if (src.readSync !== undefined) raw = src.readSync(from.offset, from.length);
  else {
    throw new CheckpointError("unsupported", `storage ${storage.key} must be loaded first: await loadStorage() (this source reads asynchronously)`, { entry: from.record });
  }
  return finish(storage, from, raw);
}

/** The storage's bytes in the file's byte order, reading asynchronously if needed (kept on the storage). */
export async function loadStorage(storage: Storage): Promise<Uint8Array> {
  if (storage.data !== undefined) {
    checkRecordInMemory(storage);
    return storage.data;
  }
  const from = requireLocation(storage);
  const src = from.source;
  const raw = src.bytes !== undefined ? src.bytes.subarray(from.offset, from.offset + from.length) : await src.read(from.offset, from.length);
  storage.data = finish(storage, from, raw);
  return storage.data;
}

function requireLocation(storage: Storage): StorageLocation {
  if (storage.from === undefined) {
    throw new CheckpointError("missing-record", `storage ${storage.key} has no bytes (not found in the file)`);
  }
  return storage.from;
}

function finish(storage: Storage, from: StorageLocation, raw: Uint8Array): Uint8Array {
  if (raw.length !== from.length) {
    throw new CheckpointError("truncated", `storage ${storage.key}: expected ${from.length} bytes, got ${raw.length}`, { entry: from.record, offset: from.offset });
  }
  let data = raw;
  if (from.compression === "deflate") {
    try {
      data = inflateSync(raw, { out: new Uint8Array(storage.byteLength) });
    } catch (e) {
      throw new CheckpointError("bad-archive", `storage ${storage.key}: deflate stream is damaged`, { entry: from.record, offset: from.offset, cause: e });
    }
  }
  // The whole record was read (inflated): its CRC-32, when a check is owed (see record-crc.ts).
  const check = pendingRecordCrc(storage);
  if (check !== undefined) checkRecordCrc(storage, data.length === 0 ? 0 : check.crc32(data, 0), data.length);
  if (data.length < storage.byteLength) {
    throw new CheckpointError("truncated", `storage ${storage.key} holds ${data.length} bytes but ${storage.byteLength} are declared`, { entry: from.record, offset: from.offset });
  }
  return data.length === storage.byteLength ? data : data.subarray(0, storage.byteLength);
}
