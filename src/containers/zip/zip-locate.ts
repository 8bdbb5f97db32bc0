/**
 * Where many records' data starts, for archives read through a random-access source: a record's
 * data begins after its local header's name and extra field, so each must be read once. Headers
 * that lie close together (a checkpoint of small tensors has one every few hundred bytes) are read
 * in one piece, so locating 80,000 storages costs a few hundred reads instead of 80,000. A lone
 * header is read alone, up to the end of its name: a large record's bytes are never read here.
 */
import { cleanLocalDataOffset } from "./zip-local.js";
import { LOCAL_HEADER_SIZE } from "./zip-directory.js";
import { rememberCleanRowOffset, type ZipArchive } from "./zip-reader.js";
import { rowNameLength, type ZipTable } from "./zip-table.js";

/** Headers at most this far apart share a read. */
const JOIN_GAP = 4096;
/** The longest shared read. */
const MAX_SPAN = 1024 * 1024;

/** One read: the file's bytes [start, end) hold the local headers of `rows`. */
interface HeaderSpan {
  readonly start: number;
  end: number;
  readonly rows: number[];
}

/** Spans covering the headers of `rows`, in file order, each at most MAX_SPAN long (one header may exceed it alone). */
function headerSpans(table: ZipTable, rows: readonly number[], fileSize: number): HeaderSpan[] {
  const at = table.localHeaderOffset;
  const ordered = [...rows].sort((a, b) => at[a]! - at[b]!);
  const spans: HeaderSpan[] = [];
  let open: HeaderSpan | undefined;
  for (const row of ordered) {
    const start = at[row]!;
    // The fixed part and the name are all a check needs: the extra field only counts by its length.
    const end = Math.min(fileSize, start + LOCAL_HEADER_SIZE + rowNameLength(table, row));
    if (open !== undefined && start <= open.end + JOIN_GAP && end - open.start <= MAX_SPAN) {
      open.end = Math.max(open.end, end);
      open.rows.push(row);
    } else {
      open = { start, end, rows: [row] };
      spans.push(open);
    }
  }
  return spans;
}

/** Records the data offsets of the clean headers found in `bytes` (the span's bytes) on the archive. */
function readSpan(zip: ZipArchive, table: ZipTable, span: HeaderSpan, bytes: Uint8Array): void {
  for (const row of span.rows) {
    const offset = cleanLocalDataOffset(bytes, span.start, zip.source.size, table, row);
    if (offset >= 0) rememberCleanRowOffset(zip, row, offset);
  }
}

/**
 * Reads the local headers of `rows` in shared spans through `readSync` and records the data
 * offsets of those that agree with the central directory, so `rowDataOffsetSync` answers them
 * without a read. The others are left to it: the general path records their quirks or throws.
 */
export function locateRowsSync(zip: ZipArchive, table: ZipTable, rows: readonly number[]): void {
  const source = zip.source;
  if (source.readSync === undefined) return;
  for (const span of headerSpans(table, rows, source.size)) {
    readSpan(zip, table, span, source.readSync(span.start, span.end - span.start));
  }
}

/** Async twin of {@link locateRowsSync}: the spans are read concurrently. */
export async function locateRows(zip: ZipArchive, table: ZipTable, rows: readonly number[]): Promise<void> {
  const source = zip.source;
  const spans = headerSpans(table, rows, source.size);
  const read = await Promise.all(spans.map((span) => source.read(span.start, span.end - span.start)));
  spans.forEach((span, i) => readSpan(zip, table, span, read[i]!));
}
