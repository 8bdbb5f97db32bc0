/**
 * A {@link ByteSource} over an `http(s)://` URL, read with HTTP range requests: a 20 GB checkpoint
 * is inspected by fetching its zip directory, `data.pkl` or a safetensors header, not the file.
 * Uses the host's `fetch` (Node >= 18, browsers), so it runs unchanged in a page. Small reads are
 * rounded up to aligned blocks kept in a small LRU cache (readers ask for many nearby headers);
 * large reads go straight through. Transient failures (network errors, 408/429/5xx) are retried with
 * exponential backoff. A server that ignores `Range` (answers 200 with the whole body) is a clear
 * `unsupported` error rather than a silent full download.
 */
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { checkReadRange, type ByteSource } from "./source.js";

/** The slice of a `fetch` Response that urlSource uses (declared here: the core needs no DOM types). */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
  readonly body?: { cancel(): Promise<void> } | null;
}

/** The slice of `fetch` that urlSource uses. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal?: unknown },
) => Promise<FetchResponseLike>;

/** Options of {@link urlSource}; every field is optional. */
export interface UrlSourceOptions {
  /** The fetch to use. Default: `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** Extra request headers (an `Authorization` token, say). `Range` is set by urlSource. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Retries after the first attempt for network errors and 408/429/5xx. Default {@link DEFAULT_URL_RETRIES}. */
  readonly retries?: number;
  /** Delay before the first retry in ms; doubles each time. Default {@link DEFAULT_URL_RETRY_DELAY_MS}. */
  readonly retryDelayMs?: number;
  /** Reads shorter than this are rounded out to aligned blocks of this size and cached. Default {@link DEFAULT_URL_BLOCK_SIZE}; 0 turns the cache off. */
  readonly blockSize?: number;
  /** How many blocks the cache keeps. Default {@link DEFAULT_URL_CACHE_BLOCKS}. */
  readonly cacheBlocks?: number;
  /** Called with the number of body bytes after every response (for progress and byte counting). */
  readonly onBytes?: (bytes: number) => void;
  /** An `AbortSignal` passed to every fetch. */
  readonly signal?: unknown;
  /** Name for error messages. Default: the URL without its query string. */
  readonly name?: string;
}

export const DEFAULT_URL_RETRIES = 3;
export const DEFAULT_URL_RETRY_DELAY_MS = 250;
export const DEFAULT_URL_BLOCK_SIZE = 64 * 1024;
export const DEFAULT_URL_CACHE_BLOCKS = 64;

/** A URL source; `stats` counts what was fetched so far. */
export interface UrlSource extends ByteSource {
  readonly url: string;
  readonly stats: { readonly requests: number; readonly bytesFetched: number; readonly retries: number };
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Opens `url` for range reads. One request (for the first block) learns the size from
 * `Content-Range`, so opening costs at most `blockSize` bytes.
 * @throws CheckpointError `invalid-argument` for a URL that is not http(s) or bad options;
 *   `unsupported` when the server ignores range requests (or, in a browser, does not expose
 *   `Content-Range` through CORS); `io` when the server fails after the retries or answers 4xx.
 */
export async function urlSource(url: string, options: UrlSourceOptions = {}): Promise<UrlSource> {
  if (!/^https?:\/\//i.test(url)) throw new CheckpointError("invalid-argument", `not an http(s) URL: ${url}`);
  const name = options.name ?? url.replace(/[?#].*$/, "");
  const fetchFn = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (fetchFn === undefined) throw new CheckpointError("unsupported", "this host has no fetch; pass options.fetch", { file: name });
  const retries = checkedCount(options.retries ?? DEFAULT_URL_RETRIES, "retries", name);
  const delay0 = checkedCount(options.retryDelayMs ?? DEFAULT_URL_RETRY_DELAY_MS, "retryDelayMs", name);
  const blockSize = checkedCount(options.blockSize ?? DEFAULT_URL_BLOCK_SIZE, "blockSize", name);
  const cacheBlocks = checkedCount(options.cacheBlocks ?? DEFAULT_URL_CACHE_BLOCKS, "cacheBlocks", name);
  const stats = { requests: 0, bytesFetched: 0, retries: 0 };
  const file = { file: name };

  /** One range request with retries; returns the body and the total size from Content-Range. */
  const fetchRange = async (start: number, endInclusive: number): Promise<{ body: Uint8Array; total: number }> => {
    for (let attempt = 0; ; attempt++) {
      let res: FetchResponseLike;
      try {
        stats.requests++;
        const init = { method: "GET", headers: { ...options.headers, Range: `bytes=${start}-${endInclusive}` } };
        res = await fetchFn(url, options.signal === undefined ? init : { ...init, signal: options.signal });
      } catch (e) {
        if (attempt < retries && !isAbort(e)) {
          await backoff(delay0, attempt, stats);
          continue;
        }
        throw new CheckpointError("io", `fetching bytes ${start}-${endInclusive} failed: ${String(e)}`, { offset: start, cause: e, ...file });
      }
      if (res.status === 206) {
        const range = parseContentRange(res.headers.get("content-range"));
        if (range === undefined) {
          await cancel(res);
          throw new CheckpointError(
            "unsupported",
            "the server answered 206 without a readable Content-Range header (cross-origin servers must list it in Access-Control-Expose-Headers)",
            { offset: start, ...file },
          );
        }
        const body = await readBody(res, stats, options.onBytes, start, file);
        if (range.start !== start || body.length !== range.end - range.start + 1) {
          throw new CheckpointError("io", `asked for bytes ${start}-${endInclusive}, the server sent ${range.start}-${range.end} (${body.length} bytes)`, { offset: start, ...file });
        }
        return { body, total: range.total };
      }
      if (res.status === 200) {
        // A small file sent whole in answer to the opening request is the file; anything else is not a range.
        const length = Number(res.headers.get("content-length") ?? NaN);
        if (start === 0 && Number.isSafeInteger(length) && length <= endInclusive + 1) {
          const body = await readBody(res, stats, options.onBytes, start, file);
          if (body.length === length) return { body, total: length };
        }
        await cancel(res);
        throw new CheckpointError(
          "unsupported",
          "the server ignores HTTP range requests (it answered 200 with the whole file to a Range request); download the file, or serve it from a server that supports ranges",
          file,
        );
      }
      if (res.status === 416) {
        await cancel(res);
        throw new CheckpointError("truncated", `the server says bytes ${start}-${endInclusive} are past the end (416)`, { offset: start, ...file });
      }
      await cancel(res);
      if (RETRY_STATUS.has(res.status) && attempt < retries) {
        await backoff(delay0, attempt, stats);
        continue;
      }
      throw new CheckpointError("io", `HTTP ${res.status} for bytes ${start}-${endInclusive}`, { offset: start, ...file });
    }
  };

  // Open: the first block tells the size and is cached.
  const first = await fetchRange(0, Math.max(blockSize, 1) - 1);
  const size = first.total;
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointError("unsupported", "the server did not report the file's size in Content-Range", file);
  const cache = new Map<number, Uint8Array>();
  const remember = (index: number, block: Uint8Array): void => {
    if (cacheBlocks === 0 || blockSize === 0) return;
    cache.delete(index);
    cache.set(index, block);
    while (cache.size > cacheBlocks) cache.delete(cache.keys().next().value as number);
  };
  if (blockSize > 0) remember(0, first.body);
  const inflight = new Map<number, Promise<Uint8Array>>();

  const block = async (index: number): Promise<Uint8Array> => {
    const hit = cache.get(index);
    if (hit !== undefined) {
      remember(index, hit);
      return hit;
    }
    const pending = inflight.get(index);
    if (pending !== undefined) return pending;
    const start = index * blockSize;
    const end = Math.min(size, start + blockSize) - 1;
    const p = fetchRange(start, end).then((r) => r.body);
    inflight.set(index, p);
    try {
      const got = await p;
      remember(index, got);
      return got;
    } finally {
      inflight.delete(index);
    }
  };

  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    checkReadRange(size, offset, length, name);
    if (length === 0) return new Uint8Array(0);
    if (blockSize === 0 || length > blockSize) {
      const { body } = await fetchRange(offset, offset + length - 1);
      return body;
    }
    const firstIndex = Math.floor(offset / blockSize);
    const lastIndex = Math.floor((offset + length - 1) / blockSize);
    if (firstIndex === lastIndex) {
      const b = await block(firstIndex);
      const at = offset - firstIndex * blockSize;
      return b.slice(at, at + length);
    }
    const out = new Uint8Array(length);
    const [a, b] = await Promise.all([block(firstIndex), block(lastIndex)]);
    const at = offset - firstIndex * blockSize;
    out.set(a.subarray(at), 0);
    out.set(b.subarray(0, length - (a.length - at)), a.length - at);
    return out;
  };

  return {
    size,
    url,
    name,
    stats,
    read: async (offset, length) => {
      try {
        return await read(offset, length);
      } catch (e) {
        if (isTorchsaveError(e)) throw e;
        throw new CheckpointError("io", `read of ${length} bytes failed: ${String(e)}`, { offset, cause: e, ...file });
      }
    },
  };
}

/** Parses `bytes START-END/TOTAL`; undefined when absent or malformed (a `*` total counts as malformed). */
export function parseContentRange(header: string | null): { start: number; end: number; total: number } | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(header);
  if (m === null) return undefined;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![start, end, total].every(Number.isSafeInteger) || end < start || end >= total) return undefined;
  return { start, end, total };
}

async function readBody(
  res: FetchResponseLike,
  stats: { bytesFetched: number },
  onBytes: ((n: number) => void) | undefined,
  offset: number,
  file: { file: string },
): Promise<Uint8Array> {
  let buf: ArrayBuffer;
  try {
    buf = await res.arrayBuffer();
  } catch (e) {
    throw new CheckpointError("io", `reading the response body failed: ${String(e)}`, { offset, cause: e, ...file });
  }
  stats.bytesFetched += buf.byteLength;
  onBytes?.(buf.byteLength);
  return new Uint8Array(buf);
}

async function cancel(res: FetchResponseLike): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // the body is being dropped anyway
  }
}

function isAbort(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "AbortError";
}

async function backoff(delay0: number, attempt: number, stats: { retries: number }): Promise<void> {
  stats.retries++;
  const ms = delay0 * 2 ** attempt;
  const timer = (globalThis as { setTimeout?: (f: () => void, ms: number) => unknown }).setTimeout;
  if (ms > 0 && timer !== undefined) await new Promise<void>((resolve) => timer(resolve, ms));
}

function checkedCount(n: number, what: string, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new CheckpointError("invalid-argument", `urlSource: ${what} must be a non-negative integer, got ${n}`, { file: name });
  return n;
}
