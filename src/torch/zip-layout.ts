/**
 * The zip layout (torch >= 1.6): `<archive>/data.pkl` whose persistent ids
 * `("storage", StorageType, key, location, numel)` name records `<archive>/data/<key>`, plus the
 * small text records torch writes beside it. TorchScript archives add `constants.pkl` (tensors in
 * `constants/`) and `code/`.
 */
import { decodeLatin1 } from "../bytes/text.js";
import { CheckpointError } from "../errors.js";
import type { DecodeResult } from "../pickle/decoder.js";
import { isPyGlobal, type PyGlobal } from "../pickle/value.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { dtypeByStorageClass, type DTypeInfo } from "./dtypes.js";
import type { Storage, TorchHost, TorchValue } from "./model.js";
import { decodeTorchPickle, pidItems } from "./torch-unpickle.js";
import type { ZipArchive, ZipEntry } from "./zip-reader.js";
import { entryDataOffset, entryDataOffsetSync, readEntry, readEntrySync } from "./zip-reader.js";

/** The small text records torch writes; read eagerly, they are a few bytes each. */
export const TEXT_RECORDS = ["version", ".data/version", ".format_version", ".storage_alignment", "byteorder", ".data/serialization_id"] as const;

/** Records and pickles a zip checkpoint needs before storages can be located. */
export interface ZipPreload {
  readonly records: Record<string, string>;
  readonly dataPkl: Uint8Array;
  readonly constantsPkl?: Uint8Array;
}

interface Decoded {
  readonly root: TorchValue;
  readonly protocol: number;
  readonly constants?: TorchValue;
  /** Storages with the entry that holds their bytes; `from` is filled in once data offsets are known. */
  readonly pending: { storage: Storage; entry: ZipEntry }[];
}

export function preloadZipSync(zip: ZipArchive): ZipPreload {
  return collect(zip, (e) => readEntrySync(zip, e));
}

export async function preloadZip(zip: ZipArchive): Promise<ZipPreload> {
  const wanted = [...TEXT_RECORDS, "data.pkl", "constants.pkl"].map((r) => zip.get(r)).filter((e): e is ZipEntry => e !== undefined);
  const loaded = new Map<ZipEntry, Uint8Array>();
  await Promise.all(wanted.map(async (e) => loaded.set(e, await readEntry(zip, e))));
  return collect(zip, (e) => loaded.get(e)!);
}

function collect(zip: ZipArchive, read: (e: ZipEntry) => Uint8Array): ZipPreload {
  const records: Record<string, string> = {};
  for (const name of TEXT_RECORDS) {
    const e = zip.get(name);
    // Text records are tiny; anything large is not what torch writes and is left for validate to report.
    if (e !== undefined && e.size <= 4096) records[name] = decodeLatin1(read(e)).trim();
  }
  const data = zip.get("data.pkl");
  if (data === undefined && zip.entries.some((e) => (e.flags & 1) !== 0)) {
    throw new CheckpointError("unsupported", "password-protected (encrypted) zip archive: not a torch.save file", { entry: zip.entries[0]!.name });
  }
  if (data === undefined) {
    throw new CheckpointError("missing-record", `zip archive has no ${zip.prefix}data.pkl: not a torch.save file`, { entry: `${zip.prefix}data.pkl` });
  }
  const constants = zip.get("constants.pkl");
  return { records, dataPkl: read(data), ...(constants === undefined ? {} : { constantsPkl: read(constants) }) };
}

/** Decodes data.pkl (and constants.pkl) and creates every storage it names. */
export function decodeZip(zip: ZipArchive, pre: ZipPreload, options: ReadOptions): Decoded {
  const byteOrder = pre.records.byteorder === "big" ? "big" : "little";
  if (pre.records.byteorder !== undefined && pre.records.byteorder !== "big" && pre.records.byteorder !== "little") {
    throw new CheckpointError("invalid-data", `byteorder record says ${JSON.stringify(pre.records.byteorder.slice(0, 20))}`, { entry: `${zip.prefix}byteorder` });
  }
  const pending: Decoded["pending"] = [];
  // The pickle memoizes each storage class once; look its dtype up once per global object.
  const classes = new Map<PyGlobal, DTypeInfo | undefined>();
  const dtypeOf = (type: PyGlobal): DTypeInfo | undefined => {
    if (classes.has(type)) return classes.get(type);
    const info = dtypeByStorageClass(type.name);
    classes.set(type, info);
    return info;
  };
  const decodeWith = (bytes: Uint8Array, record: string, dir: string): DecodeResult<TorchHost> => {
    const byKey = new Map<string, Storage>();
    const folder = `${dir}/`;
    return decodeTorchPickle(bytes, 0, options, {
      entry: `${zip.prefix}${record}`,
      persistentLoad: (pid, ctx) => {
        const items = pidItems(pid, ctx.offset);
        const tag = items[0], type = items[1], key = items[2], location = items[3], count = items[4];
        if (tag !== "storage" || !isPyGlobal(type) || typeof key !== "string" || typeof count !== "number") {
          throw new CheckpointError("invalid-data", "persistent id is not (\"storage\", type, key, location, numel)", { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        const existing = byKey.get(key);
        if (existing !== undefined) return existing;
        const untyped = type.name === "UntypedStorage";
        const info = untyped ? undefined : dtypeOf(type);
        if (!untyped && info === undefined) {
          throw new CheckpointError("unsupported", `unknown storage class ${type.module}.${type.name}`, { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        const entryName = folder + key;
        const entry = zip.get(entryName);
        if (entry === undefined) {
          throw new CheckpointError("missing-record", `storage ${key} is referenced but ${zip.prefix}${entryName} is missing`, { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        const storage: Storage = {
          kind: "storage", key, storageType: type, dtype: info?.name ?? "uint8",
          location: typeof location === "string" ? location : "cpu", declaredNumel: count,
          byteLength: untyped ? count : count * info!.itemSize, byteOrder,
        };
        byKey.set(key, storage);
        pending.push({ storage, entry });
        return storage;
      },
    });
  };
  const main = decodeWith(pre.dataPkl, "data.pkl", "data");
  const constants = pre.constantsPkl === undefined ? undefined : decodeWith(pre.constantsPkl, "constants.pkl", "constants").value;
  return { root: main.value, protocol: main.protocol, pending, ...(constants === undefined ? {} : { constants }) };
}

function locate(zip: ZipArchive, storage: Storage, entry: ZipEntry, dataOffset: number): void {
  if (entry.method !== 0 && entry.method !== 8) {
    throw new CheckpointError("unsupported", `record ${entry.name} uses zip compression method ${entry.method}`, { entry: entry.name });
  }
  const stored = entry.method === 0;
  if (stored && entry.size < storage.byteLength) {
    throw new CheckpointError("truncated", `record ${entry.name} holds ${entry.size} bytes; storage ${storage.key} needs ${storage.byteLength}`, { entry: entry.name });
  }
  storage.from = { source: zip.source, offset: dataOffset, length: entry.compressedSize, compression: stored ? "none" : "deflate", record: entry.name };
  if (stored && zip.source.bytes !== undefined) {
    storage.data = zip.source.bytes.subarray(dataOffset, dataOffset + storage.byteLength);
  }
}

function finish(zip: ZipArchive, pre: ZipPreload, d: Decoded): Checkpoint {
  const storages = sortByKey(d.pending.map((p) => p.storage));
  return {
    layout: pre.constantsPkl !== undefined ? "torchscript" : "zip",
    compression: "none", root: d.root, storages, protocol: d.protocol, records: pre.records,
    archiveName: zip.prefix.replace(/\/$/, ""), source: zip.source, zip,
    ...(d.constants === undefined ? {} : { constants: d.constants }),
  };
}

export function readZipCheckpointSync(zip: ZipArchive, options: ReadOptions): Checkpoint {
  const pre = preloadZipSync(zip);
  const d = decodeZip(zip, pre, options);
  for (const { storage, entry } of d.pending) locate(zip, storage, entry, entryDataOffsetSync(zip, entry));
  return finish(zip, pre, d);
}

export async function readZipCheckpoint(zip: ZipArchive, options: ReadOptions): Promise<Checkpoint> {
  const pre = await preloadZip(zip);
  const d = decodeZip(zip, pre, options);
  const offsets = await Promise.all(d.pending.map(({ entry }) => entryDataOffset(zip, entry)));
  d.pending.forEach(({ storage, entry }, i) => locate(zip, storage, entry, offsets[i]!));
  return finish(zip, pre, d);
}

/** Numeric keys in numeric order ("2" before "10"), others after, by text. */
export function compareKeys(a: string, b: string): number {
  const na = /^\d+$/.test(a), nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b) || a.length - b.length;
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Storages in {@link compareKeys} order (stable). Each key is classified once, and the usual case
 * (torch numbers storages in the order the pickle first names them) is only checked, not sorted.
 */
function sortByKey(storages: Storage[]): Storage[] {
  const n = storages.length;
  // The number a digits-only key stands for, NaN for other keys (Number() of digits is never NaN).
  const nums = new Float64Array(n);
  for (let i = 0; i < n; i++) nums[i] = isDigits(storages[i]!.key) ? Number(storages[i]!.key) : NaN;
  const compare = (i: number, j: number): number => {
    const a = nums[i]!, b = nums[j]!;
    const na = a === a, nb = b === b;
    const ka = storages[i]!.key, kb = storages[j]!.key;
    if (na && nb) return a - b || ka.length - kb.length;
    if (na !== nb) return na ? -1 : 1;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = !(compare(i - 1, i) > 0);
  if (sorted) return storages;
  const order = Array.from({ length: n }, (_, i) => i).sort(compare);
  return order.map((i) => storages[i]!);
}

function isDigits(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
