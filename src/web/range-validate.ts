/**
 * Validation of a source that reads only asynchronously (a URL, a Blob on a file:// page) without
 * reading it whole. The validator is synchronous, so it runs over a cache of the ranges fetched so
 * far: a read outside them returns zeros and is recorded; the missed ranges are then fetched
 * (coalesced, a few at a time) and the validator runs again, until a run misses nothing. A zip
 * checkpoint settles in three or four rounds (tail, central directory, local headers and pickles),
 * a few kilobytes of a file of any size. The CRC-32 and NaN/Inf pass over every byte is the
 * caller's choice: {@link readWhole} fetches the file in pieces, with progress, up to a cap.
 * DOM-free.
 */
import { checkReadRange, type ByteSource } from "../bytes/source.js";
import { CheckpointError } from "../errors.js";
import { countSeverities, type Finding, type ValidateOptions, type ValidationReport } from "../validate/index.js";

/** Bytes read at each end before the first run (file head, zip tail). */
const EDGE_BYTES = 128 * 1024;
/** Missed ranges closer than this are fetched as one. */
const MERGE_GAP = 64 * 1024;
/** Reads in flight at once. */
const PARALLEL = 6;
/** Runs of the validator before giving up. */
export const MAX_ROUNDS = 12;
/** Largest single read answered with zeros while its range is fetched (larger ones fail the step that asked). */
const MAX_MISS = 64 * 2 ** 20;

/** A synchronous view of the ranges fetched so far; misses read as zeros and are recorded. */
class RangeCache {
  private readonly spans: { start: number; bytes: Uint8Array }[] = [];
  misses: [number, number][] = [];
  fetched = 0;

  constructor(readonly source: ByteSource) {}

  readSync = (offset: number, length: number): Uint8Array => {
    checkReadRange(this.source.size, offset, length, this.source.name);
    for (const s of this.spans) {
      if (s.start <= offset && offset + length <= s.start + s.bytes.length) return s.bytes.subarray(offset - s.start, offset - s.start + length);
    }
    this.misses.push([offset, offset + length]);
    if (length > MAX_MISS) throw new CheckpointError("limit-exceeded", `a ${length}-byte read is more than validation fetches at once`, { offset, ...(this.source.name === undefined ? {} : { file: this.source.name }) });
    return new Uint8Array(length);
  };

  /** The missed ranges, merged, that are not cached yet. */
  pending(): [number, number][] {
    const sorted = this.misses.sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [a, b] of sorted) {
      const last = out[out.length - 1];
      if (last !== undefined && a <= last[1] + MERGE_GAP) last[1] = Math.max(last[1], b);
      else out.push([a, b]);
    }
    this.misses = [];
    return out;
  }

  async fetch(ranges: readonly [number, number][]): Promise<void> {
    for (let i = 0; i < ranges.length; i += PARALLEL) {
      const got = await Promise.all(ranges.slice(i, i + PARALLEL).map(async ([a, b]) => ({ start: a, bytes: await this.source.read(a, b - a) })));
      for (const g of got) this.fetched += g.bytes.length;
      this.spans.push(...got);
    }
  }
}

export interface RangeRun<T> {
  /** What `run` returned on the last run (built on zeros when not `complete`: do not show it then). */
  readonly value: T;
  /** Bytes fetched from the source. */
  readonly fetched: number;
  /** False when `run` still missed ranges after {@link MAX_ROUNDS} runs or past `budget` bytes. */
  readonly complete: boolean;
}

/**
 * Runs `run` (a synchronous validation) over the ranges of `source` it reads, fetching at most
 * `budget` bytes. Meant for the structural pass (`checkCrc: false, scanValues: false`), which reads
 * the directory and the pickles only.
 */
export async function withRanges<T>(source: ByteSource, budget: number, run: (view: ByteSource) => T): Promise<RangeRun<T>> {
  const cache = new RangeCache(source);
  const edge = Math.min(EDGE_BYTES, source.size);
  await cache.fetch(source.size <= 2 * EDGE_BYTES ? [[0, source.size]] : [[0, edge], [source.size - edge, source.size]]);
  const view: ByteSource = { size: source.size, read: async (o, l) => cache.readSync(o, l), readSync: cache.readSync, ...(source.name === undefined ? {} : { name: source.name }) };
  let value = run(view);
  for (let round = 1; ; round++) {
    const pending = cache.pending();
    if (pending.length === 0) return { value, fetched: cache.fetched, complete: true };
    if (round === MAX_ROUNDS || cache.fetched + pending.reduce((n, [a, b]) => n + b - a, 0) > budget) return { value, fetched: cache.fetched, complete: false };
    await cache.fetch(pending);
    value = run(view);
  }
}

/** The report of a structural check that could not finish within its budget: one `validation-limit` finding. */
export function limitReport(source: ByteSource, options: ValidateOptions, fetched: number, budget: number): ValidationReport {
  const message = `a quick check reads at most ${budget} bytes in ${MAX_ROUNDS} rounds, and this file's structure needs more (${fetched} bytes were read): check all data to validate it`;
  const findings: Finding[] = [{ severity: "error", code: "validation-limit", message, where: {} }];
  return {
    ...(options.name === undefined ? {} : { file: options.name }),
    readable: true, container: "unknown", compression: "none", bytes: source.size, findings, counts: countSeverities(findings), imports: [], tensors: [],
  };
}

/** The whole source in memory, read in `piece`-byte reads with `progress(done, total)`; refused past `max` bytes. */
export async function readWhole(source: ByteSource, max: number, progress?: (done: number, total: number) => void, piece = 16 * 2 ** 20): Promise<Uint8Array> {
  if (source.size > max) throw new CheckpointError("limit-exceeded", `${source.size} bytes is more than the ${max} the page reads whole for a full check`, source.name === undefined ? {} : { file: source.name });
  const out = new Uint8Array(source.size);
  for (let at = 0; at < source.size; at += piece) {
    out.set(await source.read(at, Math.min(piece, source.size - at)), at);
    progress?.(Math.min(at + piece, source.size), source.size);
  }
  return out;
}
