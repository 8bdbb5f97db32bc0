/**
 * The zip layout (torch >= 1.6): `<archive>/data.pkl` whose persistent ids
 * `("storage", StorageType, key, location, numel)` name records `<archive>/data/<key>`, plus the
 * small text records torch writes beside it. TorchScript archives add `constants.pkl` (tensors in
 * `constants/`) and `code/`.
 */
import { decodeLatin1 } from "../../bytes/text.js";
import { CheckpointError } from "../../errors.js";
import type { DecodeResult } from "../../pickle/decoder.js";
import { isPyGlobal, type PyGlobal } from "../../pickle/value.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { dtypeByStorageClass, type DTypeInfo } from "../dtypes.js";
import type { Storage, StorageLocation, TorchHost, TorchValue } from "../model.js";
import { decodeTorchPickle, pidItems } from "./torch-unpickle.js";
import type { ZipArchive, ZipEntry } from "../../containers/zip/zip-reader.js";
import { readEntry, readEntrySync, rowDataOffset, rowDataOffsetSync, zipTable } from "../../containers/zip/zip-reader.js";
import { locateRows, locateRowsSync } from "../../containers/zip/zip-locate.js";
import { rowAtHeaderOffset, rowMethod, rowName, rowNameLength, rowNameStart, type ZipTable } from "../../containers/zip/zip-table.js";

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
  /** Every storage, in the order the pickles first name them. */
  readonly storages: Storage[];
  /** Whether that order is already {@link compareKeys} order (torch numbers storages as it meets them). */
  readonly inKeyOrder: boolean;
  /** Storages still to be located, with the directory row that holds their bytes and its name when known (in the same order). */
  readonly pending: { storage: Storage; row: number; record: string | undefined }[];
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

/**
 * Decodes data.pkl (and constants.pkl) and creates every storage it names. With `locateNow` (an
 * in-memory source) each storage is located as it is created, so it is built whole; a storage
 * whose record cannot be located is left pending, and locating it later throws the error it would.
 */
export function decodeZip(zip: ZipArchive, pre: ZipPreload, options: ReadOptions, locateNow = false): Decoded {
  const byteOrder = pre.records.byteorder === "big" ? "big" : "little";
  if (pre.records.byteorder !== undefined && pre.records.byteorder !== "big" && pre.records.byteorder !== "little") {
    throw new CheckpointError("invalid-data", `byteorder record says ${JSON.stringify(pre.records.byteorder.slice(0, 20))}`, { entry: `${zip.prefix}byteorder` });
  }
  const table = tableOf(zip);
  const storages: Storage[] = [];
  const pending: Decoded["pending"] = [];
  let inKeyOrder = true;
  let lastNumber = -1;
  // The pickle memoizes each storage class once; look its dtype up once per global object.
  const classes = new Map<PyGlobal, DTypeInfo | undefined>();
  const dtypeOf = (type: PyGlobal): DTypeInfo | undefined => {
    if (classes.has(type)) return classes.get(type);
    const info = dtypeByStorageClass(type.name);
    classes.set(type, info);
    return info;
  };
  const decodeWith = (bytes: Uint8Array, record: string, dir: string): DecodeResult<TorchHost> => {
    const byKey = createStorageKeys();
    const folder = `${dir}/`;
    let numbered: NumberedRows | undefined;
    return decodeTorchPickle(bytes, 0, options, {
      entry: `${zip.prefix}${record}`,
      persistentLoad: (pid, ctx) => {
        const items = pidItems(pid, ctx.offset);
        const tag = items[0], type = items[1], key = items[2], location = items[3], count = items[4];
        if (tag !== "storage" || !isPyGlobal(type) || typeof key !== "string" || typeof count !== "number") {
          throw new CheckpointError("invalid-data", "persistent id is not (\"storage\", type, key, location, numel)", { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        const n = decimalKey(key);
        const existing = storageByKey(byKey, key, n);
        if (existing !== undefined) return existing;
        const untyped = type.name === "UntypedStorage";
        const info = untyped ? undefined : dtypeOf(type);
        if (!untyped && info === undefined) {
          throw new CheckpointError("unsupported", `unknown storage class ${type.module}.${type.name}`, { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        // Torch names records "<folder>/0", "<folder>/1", ...: those are found by number.
        numbered ??= numberedRows(table, folder);
        const byNumber = n >= 0 && n < numbered.rows.length ? numbered.rows[n]! : -1;
        const row = byNumber >= 0 ? byNumber : rowOf(table, zip.get(folder + key));
        if (row < 0) {
          throw new CheckpointError("missing-record", `storage ${key} is referenced but ${zip.prefix}${folder}${key} is missing`, { offset: ctx.offset, entry: `${zip.prefix}${record}` });
        }
        const dtype = info?.name ?? "uint8";
        const loc = typeof location === "string" ? location : "cpu";
        const byteLength = untyped ? count : count * info!.itemSize;
        // A row found by number is named by its folder's bytes and this key: no decoding needed.
        const recordName = byNumber >= 0 && (table.names.size === 0 || !table.names.has(row)) ? numbered.headFolder + key : undefined;
        const from = locateNow ? locateEarly(zip, table, row, byteLength, recordName) : undefined;
        let storage: Storage;
        if (from === undefined) {
          storage = { kind: "storage", key, storageType: type, dtype, location: loc, declaredNumel: count, byteLength, byteOrder };
          pending.push({ storage, row, record: recordName });
        } else if (from.compression === "deflate") {
          storage = { kind: "storage", key, storageType: type, dtype, location: loc, declaredNumel: count, byteLength, byteOrder, from };
        } else {
          const data = zip.source.bytes!.subarray(from.offset, from.offset + byteLength);
          storage = { kind: "storage", key, storageType: type, dtype, location: loc, declaredNumel: count, byteLength, byteOrder, from, data };
        }
        addStorageKey(byKey, key, n, storage);
        if (inKeyOrder && storages.length > 0) {
          // Canonical decimal keys compare by their numbers; anything else the slow way.
          inKeyOrder = n >= 0 && lastNumber >= 0 ? n >= lastNumber : compareKeys(storages[storages.length - 1]!.key, key) <= 0;
        }
        lastNumber = n;
        storages.push(storage);
        return storage;
      },
    });
  };
  const main = decodeWith(pre.dataPkl, "data.pkl", "data");
  const constants = pre.constantsPkl === undefined ? undefined : decodeWith(pre.constantsPkl, "constants.pkl", "constants").value;
  return { root: main.value, protocol: main.protocol, storages, inKeyOrder, pending, ...(constants === undefined ? {} : { constants }) };
}

/** The directory of an archive the reader opened (every archive reaching here was). */
function tableOf(zip: ZipArchive): ZipTable {
  const table = zipTable(zip);
  if (table === undefined) throw new CheckpointError("invalid-argument", "zip archive was not opened by torchsave");
  return table;
}

/** The directory row of an entry `zip.get` found, or -1. */
function rowOf(table: ZipTable, entry: ZipEntry | undefined): number {
  return entry === undefined ? -1 : rowAtHeaderOffset(table, entry.centralHeaderOffset);
}

/**
 * Where a storage of an in-memory archive lives, as {@link locate} would set it; undefined when
 * locating it fails (it is then located after decoding, which throws the same error as ever).
 */
function locateEarly(zip: ZipArchive, table: ZipTable, row: number, byteLength: number, record = rowName(table, row)): StorageLocation | undefined {
  const method = rowMethod(table, row);
  if (method !== 0 && method !== 8) return undefined;
  const stored = method === 0;
  if (stored && table.size[row]! < byteLength) return undefined;
  let dataOffset: number;
  try {
    dataOffset = rowDataOffsetSync(zip, row);
  } catch {
    return undefined;
  }
  return { source: zip.source, offset: dataOffset, length: table.compressedSize[row]!, compression: stored ? "none" : "deflate", record };
}

/** Rows found by number, and the archive folder's bytes read as latin-1 followed by the folder (`headFolder` + key names a row). */
interface NumberedRows {
  readonly rows: Int32Array;
  readonly headFolder: string;
}

/**
 * Where `zip.get(folder + n)` finds its entry by exact name, per canonical decimal `n` (-1: not
 * found that way; `zip.get` then decides). One pass over the names, comparing bytes: the first
 * entry in directory order with that exact name wins, as in `zip.get`.
 */
function numberedRows(table: ZipTable, folder: string): NumberedRows {
  const cd = table.cd;
  const count = table.count;
  let rows = new Int32Array(0);
  if (count === 0 || !/^[\x00-\x7f]*$/.test(folder)) return { rows, headFolder: folder };
  // The archive folder's raw bytes, as the directory took them from the first entry.
  const first = rowNameStart(table, 0);
  const head = cd.subarray(first, first + cd.subarray(first, first + rowNameLength(table, 0)).indexOf(0x2f) + 1);
  const lead = head.length + folder.length;
  for (let i = 0; i < count; i++) {
    const start = rowNameStart(table, i);
    const length = rowNameLength(table, i);
    const digits = length - lead;
    if (digits < 1 || digits > 9 || (digits > 1 && cd[start + lead] === 0x30)) continue;
    let same = true;
    for (let k = 0; same && k < head.length; k++) same = cd[start + k] === head[k];
    for (let k = 0; same && k < folder.length; k++) same = cd[start + head.length + k] === folder.charCodeAt(k);
    if (!same) continue;
    let n = 0;
    for (let k = lead; k < length && n >= 0; k++) {
      const d = cd[start + k]! - 0x30;
      n = d >= 0 && d <= 9 ? n * 10 + d : -1;
    }
    // Only positions up to the entry count are kept: torch's numbers are dense from 0.
    if (n < 0 || n >= count) continue;
    if (rows.length === 0) rows = new Int32Array(count).fill(-1);
    if (rows[n]! < 0) rows[n] = i;
  }
  return { rows, headFolder: decodeLatin1(head) + folder };
}

/** Storages by key: torch's keys ("0", "1", ... in order) in an array, any other key in a Map. */
interface StorageKeys {
  readonly dense: Storage[];
  readonly sparse: Map<string, Storage>;
}

function createStorageKeys(): StorageKeys {
  return { dense: [], sparse: new Map() };
}

/** The number a canonical decimal key ("0", "17"; no sign, no leading zero, up to 9 digits) spells, else -1. */
function decimalKey(key: string): number {
  const n = key.length;
  if (n === 0 || n > 9 || (n > 1 && key.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = key.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The storage named `key`, whose {@link decimalKey} is `n`. */
function storageByKey(keys: StorageKeys, key: string, n: number): Storage | undefined {
  // A key is in `dense` exactly when its number is below dense's length (keys there come in order).
  if (n >= 0 && n < keys.dense.length) return keys.dense[n];
  return keys.sparse.get(key);
}

/** Records a storage whose key {@link storageByKey} did not find. */
function addStorageKey(keys: StorageKeys, key: string, n: number, storage: Storage): void {
  if (n === keys.dense.length) keys.dense.push(storage);
  else keys.sparse.set(key, storage);
}

function locate(zip: ZipArchive, storage: Storage, row: number, dataOffset: number, record: string | undefined): void {
  const table = tableOf(zip);
  const method = rowMethod(table, row);
  const name = record ?? rowName(table, row);
  if (method !== 0 && method !== 8) {
    throw new CheckpointError("unsupported", `record ${name} uses zip compression method ${method}`, { entry: name });
  }
  const stored = method === 0;
  const size = table.size[row]!;
  if (stored && size < storage.byteLength) {
    throw new CheckpointError("truncated", `record ${name} holds ${size} bytes; storage ${storage.key} needs ${storage.byteLength}`, { entry: name });
  }
  storage.from = { source: zip.source, offset: dataOffset, length: table.compressedSize[row]!, compression: stored ? "none" : "deflate", record: name };
  if (stored && zip.source.bytes !== undefined) {
    storage.data = zip.source.bytes.subarray(dataOffset, dataOffset + storage.byteLength);
  }
}

function finish(zip: ZipArchive, pre: ZipPreload, d: Decoded): Checkpoint {
  const storages = d.inKeyOrder ? d.storages : sortByKey(d.storages);
  return {
    layout: pre.constantsPkl !== undefined ? "torchscript" : "zip",
    compression: "none", root: d.root, storages, protocol: d.protocol, records: pre.records,
    archiveName: zip.prefix.replace(/\/$/, ""), source: zip.source, zip,
    ...(d.constants === undefined ? {} : { constants: d.constants }),
  };
}

export function readZipCheckpointSync(zip: ZipArchive, options: ReadOptions): Checkpoint {
  const pre = preloadZipSync(zip);
  const d = decodeZip(zip, pre, options, zip.source.bytes !== undefined);
  locateRowsSync(zip, tableOf(zip), d.pending.map((p) => p.row));
  for (const { storage, row, record } of d.pending) locate(zip, storage, row, rowDataOffsetSync(zip, row), record);
  return finish(zip, pre, d);
}

export async function readZipCheckpoint(zip: ZipArchive, options: ReadOptions): Promise<Checkpoint> {
  const pre = await preloadZip(zip);
  const d = decodeZip(zip, pre, options);
  await locateRows(zip, tableOf(zip), d.pending.map((p) => p.row));
  const offsets = await Promise.all(d.pending.map(({ row }) => rowDataOffset(zip, row)));
  d.pending.forEach(({ storage, row, record }, i) => locate(zip, storage, row, offsets[i]!, record));
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
