/**
 * The zip container under torch.save files, read with PyTorch's tolerance: records are found
 * through the central directory (case-insensitively, below the folder named by the first entry),
 * local headers only tell where data starts, CRCs are not checked, and irregularities become
 * {@link ZipQuirk}s for the validator instead of errors. Only the end of the file, the directory
 * and, lazily, each entry's local header are read; tensor data never is.
 */
import { encodeUtf8 } from "../../bytes/text.js";
import { runPlan, runPlanSync, type ByteSource, type ReadPlan } from "../../bytes/source.js";
import { LOCAL_HEADER_SIZE, FLAG_DESCRIPTOR, readDirectory, type ZipDirectory, type ZipOpenOptions } from "./zip-directory.js";
import { nameKey } from "./zip-names.js";
import { cleanLocalDataOffset, readEntryData, readLocalHeader, readLocalHeaderIn, type LocalHeader, type ReadEntryOptions } from "./zip-local.js";
import { allEntries, entryAt, rowAtHeaderOffset, type ZipTable } from "./zip-table.js";
import type { QuirkSink, ZipQuirk } from "./zip-quirks.js";

export type { ZipOpenOptions } from "./zip-directory.js";
export { DEFAULT_MAX_DIRECTORY_BYTES, DEFAULT_MAX_ZIP_ENTRIES } from "./zip-directory.js";
export type { ReadEntryOptions } from "./zip-local.js";
export { DEFAULT_MAX_INFLATED_SIZE } from "./zip-local.js";
export type { ZipQuirk, ZipQuirkCode, ZipQuirkInfo } from "./zip-quirks.js";
export { ZIP_QUIRKS, ZIP_QUIRKS_BY_CODE, MAX_QUIRKS_PER_CODE } from "./zip-quirks.js";

/** One central directory entry. */
export interface ZipEntry {
  /** Decoded as UTF-8 when flag bit 11 is set, else as latin-1 (standing in for CP437). */
  readonly name: string;
  /** The name's raw bytes (lookups compare these, as miniz does). */
  readonly nameBytes: Uint8Array;
  /** 0 stored, 8 deflated; anything else throws "unsupported" when read. */
  readonly method: number;
  /** General-purpose flags from the central directory. */
  readonly flags: number;
  /** CRC-32 from the central directory (not checked on read, as torch does not). */
  readonly crc32: number;
  /** Compressed size, zip64-resolved. */
  readonly compressedSize: number;
  /** Uncompressed size, zip64-resolved. */
  readonly size: number;
  readonly localHeaderOffset: number;
  readonly centralHeaderOffset: number;
}

/** An opened zip archive: its directory, quirks, and a record lookup. */
export interface ZipArchive {
  readonly source: ByteSource;
  /** Entries in central directory order. */
  readonly entries: readonly ZipEntry[];
  /** The archive folder with its slash ("archive/", "mnist/") taken from the FIRST entry, as torch does; "" if it has none. */
  readonly prefix: string;
  readonly zip64: boolean;
  /** Irregularities found so far; reading local headers (lazily, or via scanLocalHeaders) adds more. */
  readonly quirks: readonly ZipQuirk[];
  readonly eocdOffset: number;
  readonly centralDirectoryOffset: number;
  readonly centralDirectorySize: number;
  /**
   * Looks up an entry by its name below the prefix: get("data.pkl"), get("data/0"). Compares
   * bytes exactly first, then ignoring ASCII case as torch's miniz does. With duplicate names the
   * first in directory order wins.
   */
  get(record: string): ZipEntry | undefined;
}

const ASCII = /^[\x00-\x7f]*$/;

// Per-archive caches live on the archive under a private symbol (no module-level state).
const STATE = Symbol("torchsave.zip");

interface ZipState {
  readonly quirks: QuirkSink;
  readonly table: ZipTable;
  /**
   * Data offset per entry (by directory position; -1 until known), created on first use. An entry
   * has one once its local header quirks are recorded.
   */
  offsets: Float64Array | undefined;
  /** The same for entries of another archive with a central header offset this one lacks (odd callers). */
  readonly foreign: Map<number, number>;
  scanned: boolean;
  /** Whether rows are in ascending local header order (undefined until asked; see {@link rowAtDataOffset}). */
  ordered: boolean | undefined;
}

type StatefulArchive = ZipArchive & { readonly [STATE]?: ZipState };

/** True when `head` starts with a zip local header or an empty archive's end record. */
export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/**
 * Opens a zip synchronously; the source must have `readSync`.
 * @throws CheckpointError `truncated` (a zip cut short), `bad-archive` (damaged directory, with
 *   the offset), `limit-exceeded`, `invalid-argument` (no readSync), `io` (source failures).
 */
export function openZipSync(source: ByteSource, options?: ZipOpenOptions): ZipArchive {
  return makeArchive(source, runPlanSync(readDirectory(source.size, source.name, options), source));
}

/** Opens a zip from any source. Rejects as {@link openZipSync} throws. */
export async function openZip(source: ByteSource, options?: ZipOpenOptions): Promise<ZipArchive> {
  return makeArchive(source, await runPlan(readDirectory(source.size, source.name, options), source));
}

function makeArchive(source: ByteSource, dir: ZipDirectory): ZipArchive {
  const table = dir.table;
  const state: ZipState = { quirks: dir.quirks, table, offsets: undefined, foreign: new Map(), scanned: false, ordered: undefined };
  const archive: ZipArchive = {
    source,
    // Built on first use: reading a checkpoint needs no entry objects (see zip-table.ts).
    get entries() {
      return allEntries(table);
    },
    prefix: dir.prefix,
    zip64: dir.zip64,
    quirks: dir.quirks.items,
    eocdOffset: dir.eocdOffset,
    centralDirectoryOffset: dir.centralDirectoryOffset,
    centralDirectorySize: dir.centralDirectorySize,
    get(record) {
      // An ASCII record name is its own key; others are compared by their UTF-8 bytes.
      const row = dir.find(ASCII.test(record) ? record : nameKey(encodeUtf8(record)));
      return row < 0 ? undefined : entryAt(table, row);
    },
  };
  Object.defineProperty(archive, STATE, { value: state, enumerable: false });
  return archive;
}

/** The archive's directory as columns, for the reader's per-row paths (undefined for an archive not opened here). */
export function zipTable(zip: ZipArchive): ZipTable | undefined {
  return (zip as StatefulArchive)[STATE]?.table;
}

/** The entry's directory position: `hint` when it holds this entry, else found by offset (-1 for a foreign entry). */
function positionFor(state: ZipState, entry: ZipEntry, hint: number): number {
  if (hint >= 0 && state.table.built[hint] === entry) return hint;
  return rowAtHeaderOffset(state.table, entry.centralHeaderOffset);
}

function cachedOffset(state: ZipState | undefined, entry: ZipEntry, hint = -1): number | undefined {
  if (state === undefined) return undefined;
  const i = positionFor(state, entry, hint);
  if (i < 0) return state.foreign.get(entry.centralHeaderOffset);
  const v = state.offsets?.[i];
  return v === undefined || v < 0 ? undefined : v;
}

/** Caches the data offset and records the header's quirks, once per entry. */
function remember(state: ZipState | undefined, entry: ZipEntry, local: LocalHeader, hint = -1): number {
  if (state === undefined) return local.dataOffset;
  const i = positionFor(state, entry, hint);
  if (i < 0) {
    if (state.foreign.has(entry.centralHeaderOffset)) return local.dataOffset;
    state.foreign.set(entry.centralHeaderOffset, local.dataOffset);
  } else {
    const offsets = (state.offsets ??= newOffsets(state));
    if (offsets[i]! >= 0) return local.dataOffset;
    offsets[i] = local.dataOffset;
  }
  for (const q of local.quirks) state.quirks.add(q.code, q.message, entry.localHeaderOffset, entry.name);
  return local.dataOffset;
}

function* dataOffsetPlan(zip: ZipArchive, entry: ZipEntry): ReadPlan<number> {
  const state = (zip as StatefulArchive)[STATE];
  const cached = cachedOffset(state, entry);
  if (cached !== undefined) return cached;
  const local = yield* readLocalHeader(zip.source.size, entry, zip.source.name);
  // Nothing yields between here and the end, so concurrent async reads record each header once.
  return remember(state, entry, local);
}

/**
 * Where the entry's data starts: reads its local header (for the name and extra lengths) once
 * per archive and caches the answer. Records local-header quirks on `zip.quirks`.
 * @throws CheckpointError `bad-archive` when no local header is at the entry's offset or the data
 *   runs past the end; `invalid-argument` when the source has no readSync.
 */
export function entryDataOffsetSync(zip: ZipArchive, entry: ZipEntry): number {
  return entryDataOffsetSyncAt(zip, entry, -1);
}

/**
 * {@link entryDataOffsetSync} for a caller that knows the entry's position in `zip.entries`
 * (`position`; -1 when it does not), which spares finding it. For the reader's own use.
 * @throws CheckpointError as {@link entryDataOffsetSync}.
 */
export function entryDataOffsetSyncAt(zip: ZipArchive, entry: ZipEntry, position: number): number {
  const source = zip.source;
  const bytes = source.bytes;
  // In memory, the header is parsed in place: no read plan, no view per entry.
  if (bytes !== undefined && bytes.length === source.size) {
    const state = (zip as StatefulArchive)[STATE];
    const cached = cachedOffset(state, entry, position);
    if (cached !== undefined) return cached;
    return remember(state, entry, readLocalHeaderIn(bytes, entry, source.name), position);
  }
  return runPlanSync(dataOffsetPlan(zip, entry), source);
}

function newOffsets(state: ZipState): Float64Array {
  return new Float64Array(state.table.count).fill(-1);
}

/**
 * Records row `row`'s data offset, found by a caller that checked its local header agrees with
 * the central directory (so it has no quirks to record).
 */
export function rememberCleanRowOffset(zip: ZipArchive, row: number, dataOffset: number): void {
  const state = (zip as StatefulArchive)[STATE]!;
  (state.offsets ??= newOffsets(state))[row] = dataOffset;
}

/**
 * {@link entryDataOffsetSync} of the entry in directory row `row`, without building its entry
 * object when the source is in memory and the local header agrees with the central directory
 * (the usual case; any other builds it and takes the general path, which records or throws).
 * @throws CheckpointError as {@link entryDataOffsetSync}.
 */
export function rowDataOffsetSync(zip: ZipArchive, row: number): number {
  const state = (zip as StatefulArchive)[STATE]!;
  const offsets = (state.offsets ??= newOffsets(state));
  const cached = offsets[row]!;
  if (cached >= 0) return cached;
  const bytes = zip.source.bytes;
  if (bytes !== undefined && bytes.length === zip.source.size) {
    const clean = cleanLocalDataOffset(bytes, 0, bytes.length, state.table, row);
    if (clean >= 0) return (offsets[row] = clean);
  }
  return entryDataOffsetSyncAt(zip, entryAt(state.table, row), row);
}

/**
 * The directory row whose data starts at `dataOffset`, among rows whose data offset is already
 * known (read through this archive: `rowDataOffsetSync`, `entryDataOffsetSync`...); -1 when none
 * is, or when rows are not laid out in local header order (callers then look the entry up by
 * name). A binary search over the local header offsets: no entry objects, no map.
 */
export function rowAtDataOffset(zip: ZipArchive, dataOffset: number): number {
  const state = (zip as StatefulArchive)[STATE];
  const offsets = state?.offsets;
  if (state === undefined || offsets === undefined) return -1;
  const table = state.table;
  const starts = table.localHeaderOffset;
  if (state.ordered === undefined) {
    let ordered = true;
    for (let i = 1; i < table.count && ordered; i++) ordered = starts[i - 1]! < starts[i]!;
    state.ordered = ordered;
  }
  if (!state.ordered) return -1;
  // The last row whose local header starts before the data (a header precedes its data).
  let lo = 0;
  let hi = table.count - 1;
  let row = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! < dataOffset) {
      row = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return row >= 0 && offsets[row] === dataOffset ? row : -1;
}

/** Async twin of {@link rowDataOffsetSync}. */
export function rowDataOffset(zip: ZipArchive, row: number): Promise<number> {
  const state = (zip as StatefulArchive)[STATE]!;
  const cached = state.offsets?.[row];
  if (cached !== undefined && cached >= 0) return Promise.resolve(cached);
  return entryDataOffset(zip, entryAt(state.table, row));
}

/** Async twin of {@link entryDataOffsetSync}. */
export function entryDataOffset(zip: ZipArchive, entry: ZipEntry): Promise<number> {
  return runPlan(dataOffsetPlan(zip, entry), zip.source);
}

function* entryPlan(zip: ZipArchive, entry: ZipEntry, options: ReadEntryOptions | undefined): ReadPlan<Uint8Array> {
  const dataOffset = yield* dataOffsetPlan(zip, entry);
  return yield* readEntryData(entry, dataOffset, zip.source.name, options);
}

/**
 * The entry's bytes. A stored entry over an in-memory source is a zero-copy `subarray` view of
 * the input (writes through it change the input); deflated entries are inflated into a new
 * buffer, up to `options.maxInflatedSize`. The CRC is not checked (torch does not).
 * @throws CheckpointError `unsupported` (compression method), `bad-archive` (sizes disagree,
 *   damaged deflate data, no local header), `limit-exceeded`, `invalid-argument` (no readSync).
 */
export function readEntrySync(zip: ZipArchive, entry: ZipEntry, options?: ReadEntryOptions): Uint8Array {
  return runPlanSync(entryPlan(zip, entry, options), zip.source);
}

/** Async twin of {@link readEntrySync}. */
export function readEntry(zip: ZipArchive, entry: ZipEntry, options?: ReadEntryOptions): Promise<Uint8Array> {
  return runPlan(entryPlan(zip, entry, options), zip.source);
}

function* scanPlan(zip: ZipArchive): ReadPlan<readonly ZipQuirk[]> {
  const dataOffsets: number[] = [];
  for (const entry of zip.entries) dataOffsets.push(yield* dataOffsetPlan(zip, entry));
  return layoutQuirks(zip, dataOffsets);
}

/** The layout checks of a scan, once every entry's data offset (`dataOffsets`, in directory order) is known. */
function layoutQuirks(zip: ZipArchive, dataOffsets: readonly number[]): readonly ZipQuirk[] {
  const state = (zip as StatefulArchive)[STATE];
  if (state === undefined || state.scanned) return zip.quirks;
  state.scanned = true;
  const spans = zip.entries.map((entry, i) => ({ entry, start: entry.localHeaderOffset, end: dataOffsets[i]! + entry.compressedSize }));
  // Writers lay entries out in directory order; sort (stably) only when they did not.
  let ordered = true;
  for (let i = 1; i < spans.length && ordered; i++) ordered = spans[i - 1]!.start <= spans[i]!.start;
  if (!ordered) spans.sort((a, b) => a.start - b.start);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    const nextStart = spans[i + 1]?.start ?? zip.centralDirectoryOffset;
    const gap = nextStart - s.end;
    // A data descriptor (12-24 bytes) may legitimately follow the data.
    const descriptor = (s.entry.flags & FLAG_DESCRIPTOR) !== 0 && (gap === 12 || gap === 16 || gap === 20 || gap === 24);
    const roughEnd = s.entry.localHeaderOffset + LOCAL_HEADER_SIZE + s.entry.compressedSize;
    if (gap > 0 && !descriptor) {
      state.quirks.add("unreferenced-data", `${gap} bytes after the entry belong to no entry`, s.end, s.entry.name);
    } else if (gap < 0 && nextStart >= roughEnd && s.start < zip.centralDirectoryOffset) {
      // Overlaps the directory pass could not see: they come from the local name and extra field.
      const what = i + 1 < spans.length ? JSON.stringify(spans[i + 1]!.entry.name) : "the central directory";
      state.quirks.add("overlapping-entries", `entry's data overlaps ${what}`, s.start, s.entry.name);
    }
  }
  return zip.quirks;
}

/**
 * Reads every entry's local header and checks the exact layout: local/central disagreements,
 * bytes no entry claims, overlaps. Returns all of the archive's quirks. Cheap for in-memory
 * sources; one small read per entry otherwise.
 * @throws CheckpointError as {@link entryDataOffsetSync}.
 */
export function scanLocalHeadersSync(zip: ZipArchive): readonly ZipQuirk[] {
  const source = zip.source;
  if (source.bytes !== undefined && source.bytes.length === source.size) {
    // In memory: a plain loop, no read plan per entry.
    const dataOffsets: number[] = [];
    for (let i = 0; i < zip.entries.length; i++) dataOffsets.push(entryDataOffsetSyncAt(zip, zip.entries[i]!, i));
    return layoutQuirks(zip, dataOffsets);
  }
  return runPlanSync(scanPlan(zip), source);
}

/** Async twin of {@link scanLocalHeadersSync}. */
export function scanLocalHeaders(zip: ZipArchive): Promise<readonly ZipQuirk[]> {
  return runPlan(scanPlan(zip), zip.source);
}
