/**
 * The legacy layout (torch 0.4–1.5, and `_use_new_zipfile_serialization=False` since): pickles of the
 * magic number, the protocol version (1001), `sys_info`, the object, and the storage-key list, then
 * per key an 8-byte element count and the raw storage bytes. Persistent ids are
 * `("storage", type, root_key, location, numel, view_metadata)` and, in whole-module saves,
 * `("module", cls, source_file, source)`.
 */
import { CheckpointError, isTorchsaveError } from "../../errors.js";
import { decodePickleAt } from "../../pickle/decoder.js";
import { dictGet, isPyGlobal, pyKind } from "../../pickle/value.js";
import type { PyDict } from "../../pickle/value.js";
import type { ByteSource } from "../../bytes/source.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { dtypeByStorageClass } from "../dtypes.js";
import type { Storage, TorchHost, TorchValue } from "../model.js";
import { decodeTorchPickle, pidItems } from "./torch-unpickle.js";
import type { RebuildHooks } from "../rebuild/rebuild.js";

/** `0x1950a86a20f9469cfc6c`, the first pickle of every legacy file. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
export const LEGACY_PROTOCOL_VERSION = 1001;

interface Parsed {
  readonly root: TorchValue;
  readonly protocol: number;
  readonly sysInfo: TorchValue;
  readonly storages: Map<string, Storage>;
  readonly keys: string[];
  /** Where the raw storages begin. */
  readonly dataStart: number;
  readonly littleEndian: boolean;
}

/** Parses the pickles at the head of a legacy file. Throws `truncated` if `head` ends inside them. */
function parseHead(head: Uint8Array, options: ReadOptions, hooks: RebuildHooks): Parsed {
  const plain = { ...(options.limits === undefined ? {} : { limits: options.limits }), reducers: {} };
  const magic = decodePickleAt(head, 0, plain);
  if (magic.value !== LEGACY_MAGIC) {
    throw new CheckpointError("invalid-data", "not a legacy torch file: the first pickle is not torch's magic number", { offset: 0 });
  }
  const version = decodePickleAt(head, magic.end, plain);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new CheckpointError("unsupported", `legacy protocol version ${String(version.value)} (expected 1001)`, { offset: magic.end });
  }
  const sys = decodePickleAt(head, version.end, plain);
  const littleEndian = pyKind(sys.value) !== "dict" || dictGet(sys.value as PyDict, "little_endian") !== false;
  const storages = new Map<string, Storage>();
  const main = decodeTorchPickle(head, sys.end, options, {
    ...hooks,
    persistentLoad: (pid, ctx) => {
      const items = pidItems(pid, ctx.offset);
      if (items[0] === "module") return items[1] ?? null; // the class itself, as torch returns it
      const [tag, type, rootKey, location, count, view] = items;
      if (tag !== "storage" || !isPyGlobal(type) || typeof rootKey !== "string" || typeof count !== "number") {
        throw new CheckpointError("invalid-data", "persistent id is not (\"storage\", type, key, location, numel, view)", { offset: ctx.offset });
      }
      const info = dtypeByStorageClass(type.name);
      if (info === undefined) throw new CheckpointError("unsupported", `unknown storage class ${type.module}.${type.name}`, { offset: ctx.offset });
      let root = storages.get(rootKey);
      if (root === undefined) {
        root = {
          kind: "storage", key: rootKey, storageType: type, dtype: info.name, location: typeof location === "string" ? location : "cpu",
          declaredNumel: count, byteLength: count * info.itemSize, byteOrder: littleEndian ? "little" : "big",
        };
        storages.set(rootKey, root);
      }
      if (view === null || view === undefined) return root;
      const [viewKey, offset, size] = pidItems(view, ctx.offset);
      if (typeof viewKey !== "string" || typeof offset !== "number" || typeof size !== "number" || offset < 0 || size < 0 || offset + size > root.declaredNumel) {
        throw new CheckpointError("invalid-data", `bad view metadata for storage ${rootKey}`, { offset: ctx.offset });
      }
      const existing = storages.get(viewKey);
      if (existing !== undefined) return existing;
      const viewStorage: Storage = { ...root, key: viewKey, declaredNumel: size, byteLength: size * info.itemSize, view: { root, offset } };
      storages.set(viewKey, viewStorage);
      return viewStorage;
    },
  });
  const keysResult = decodePickleAt(head, main.end, plain);
  const list = keysResult.value;
  if (pyKind(list) !== "list" || !(list as { items: unknown[] }).items.every((k) => typeof k === "string")) {
    throw new CheckpointError("invalid-data", "the storage-key list is not a list of str", { offset: main.end });
  }
  return {
    root: main.value, protocol: main.protocol, sysInfo: sys.value, storages,
    keys: (list as { items: string[] }).items, dataStart: keysResult.end, littleEndian,
  };
}

/** Walks the raw storages after the pickles, recording where each lives (8-byte count, then bytes). */
function* locateStorages(p: Parsed, source: ByteSource): Generator<{ offset: number; length: number }, void, Uint8Array> {
  let pos = p.dataStart;
  for (const key of p.keys) {
    const storage = p.storages.get(key);
    if (storage === undefined) throw new CheckpointError("invalid-data", `storage key ${key} is listed but no tensor uses it`, { offset: pos });
    if (pos + 8 > source.size) throw new CheckpointError("truncated", `file ends before storage ${key}`, { offset: pos });
    const head = yield { offset: pos, length: 8 };
    const view = new DataView(head.buffer, head.byteOffset, 8);
    const count = Number(view.getBigUint64(0, p.littleEndian));
    const itemSize = itemSizeOf(storage);
    const length = count * itemSize;
    if (!Number.isSafeInteger(length) || pos + 8 + length > source.size) {
      throw new CheckpointError("truncated", `storage ${key} declares ${count} elements but the file ends first`, { offset: pos });
    }
    if (count !== storage.declaredNumel) {
      throw new CheckpointError("invalid-data", `storage ${key} holds ${count} elements but the pickle declared ${storage.declaredNumel}`, { offset: pos });
    }
    storage.from = { source, offset: pos + 8, length, compression: "none", record: `storage ${key}` };
    if (source.bytes !== undefined) storage.data = source.bytes.subarray(pos + 8, pos + 8 + length);
    pos += 8 + length;
  }
  for (const s of p.storages.values()) {
    if (s.view === undefined) continue;
    const root = s.view.root;
    if (root.from === undefined) throw new CheckpointError("invalid-data", `view storage ${s.key} points at storage ${root.key}, which has no data`);
    const itemSize = itemSizeOf(root);
    const start = root.from.offset + s.view.offset * itemSize;
    s.from = { ...root.from, offset: start, length: s.byteLength, record: `storage ${root.key} (view ${s.key})` };
    if (source.bytes !== undefined) s.data = source.bytes.subarray(start, start + s.byteLength);
  }
}

function itemSizeOf(s: Storage): number {
  return dtypeByStorageClass(s.storageType.name)?.itemSize ?? 1;
}

function toCheckpoint(p: Parsed, source: ByteSource): Checkpoint {
  const storages = [...p.storages.values()];
  return { layout: "legacy", compression: "none", root: p.root, storages, protocol: p.protocol, records: {}, sysInfo: p.sysInfo, source };
}

const FIRST_HEAD = 1 << 20;

/**
 * Reads a legacy file synchronously (in-memory or `readSync` sources). `firstHead` is the first
 * guess at the size of its pickles (read again, four times larger, while they are cut short).
 */
export function readLegacyCheckpointSync(source: ByteSource, options: ReadOptions, hooks: RebuildHooks = {}, firstHead = FIRST_HEAD): Checkpoint {
  const read = (o: number, n: number) => source.bytes?.subarray(o, o + n) ?? source.readSync!(o, n);
  let size = source.bytes !== undefined ? source.size : Math.min(source.size, firstHead);
  for (;;) {
    try {
      const parsed = parseHead(read(0, size), options, hooks);
      const steps = locateStorages(parsed, source);
      for (let step = steps.next(); !step.done; step = steps.next(read(step.value.offset, step.value.length)));
      return toCheckpoint(parsed, source);
    } catch (e) {
      if (!(isTorchsaveError(e) && e.code === "truncated" && size < source.size)) throw e;
      size = Math.min(source.size, size * 4);
    }
  }
}

/** Reads a legacy file from an asynchronous source, fetching only the pickles and 8-byte storage headers. */
export async function readLegacyCheckpoint(source: ByteSource, options: ReadOptions, hooks: RebuildHooks = {}): Promise<Checkpoint> {
  let size = Math.min(source.size, FIRST_HEAD);
  for (;;) {
    let parsed: Parsed;
    try {
      parsed = parseHead(await source.read(0, size), options, hooks);
    } catch (e) {
      if (!(isTorchsaveError(e) && e.code === "truncated" && size < source.size)) throw e;
      size = Math.min(source.size, size * 4);
      continue;
    }
    const steps = locateStorages(parsed, source);
    for (let step = steps.next(); !step.done; step = steps.next(await source.read(step.value.offset, step.value.length)));
    return toCheckpoint(parsed, source);
  }
}

/** True when `head` starts with the pickled legacy magic number (any protocol torch used). */
export function hasLegacyMagic(head: Uint8Array): boolean {
  try {
    return decodePickleAt(head.subarray(0, 64), 0, { reducers: {} }).value === LEGACY_MAGIC;
  } catch {
    return false;
  }
}

export type { TorchHost };
