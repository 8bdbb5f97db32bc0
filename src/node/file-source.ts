/**
 * A Node file as a random-access ByteSource: synchronous and asynchronous reads at any offset,
 * > 4 GiB included. A read of any length is split into steps of at most {@link READ_STEP_BYTES}:
 * Node's `fs.read`/`readSync` take a 32-bit length (2 GiB and more fail with `ERR_OUT_OF_RANGE`,
 * and the async binding aborts the process), so a 3 GiB storage is three reads into one array.
 */
import type { ByteSource } from "../bytes/source.js";
import { bytesSource, checkReadRange } from "../bytes/source.js";
import { CheckpointError } from "../errors.js";
import { maxArrayBytes, nodeFs, nodeFsPromises } from "./read-builtins.js";

/** Largest single `fs.read` the sources issue: 1 GiB (Node's limit is just under 2 GiB). */
export const READ_STEP_BYTES = 2 ** 30;
/** Reads up to this size are served from a read-ahead window (the synchronous source). */
const SMALL_READ_BYTES = 64 * 1024;
/** Size of that window: 1 MiB. */
const READ_AHEAD_BYTES = 1 << 20;

export interface FileSource extends ByteSource {
  /** Releases the file descriptor (once asynchronous reads under way are done). Reads after close fail with code "io". */
  close(): void;
}

/** Options of {@link openFileSource}. */
export interface FileSourceOptions {
  /**
   * A file of at most this many bytes is read whole when opened (one read, the file closed at
   * once) and served from memory: reads are views, with no copy or read per storage. Default 0
   * (never): larger files are read range by range, so memory stays bounded whatever their size.
   */
  readonly wholeUpTo?: number;
  /**
   * `read` of more than 64 KiB runs on libuv's thread pool over the same descriptor, so the caller
   * computes while the bytes come (`diff` and `stats` measure one tensor while the next is read);
   * smaller reads are served from the read-ahead window as `readSync` serves them. Default false:
   * `read` does what `readSync` does and resolves (the writers' pipelines are tuned on that).
   */
  readonly threadPool?: boolean;
  /** The file named in errors and as the source's `name`. Default the path opened. */
  readonly name?: string;
}

/**
 * Opens `path` for random access. Reads copy only the requested ranges (unless `wholeUpTo`
 * applies). `close()` waits for
 * thread-pool reads under way before it releases the descriptor; reads asked for after it fail
 * with `io`.
 */
export function openFileSource(file: string, options: FileSourceOptions = {}): FileSource {
  const { closeSync, fstatSync, openSync, read, readSync } = nodeFs();
  // The name errors and `source.name` give (a temp file of inflated gzip names the gzip file).
  const path = options.name ?? file;
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw ioError(e, path);
  }
  const size = fstatSync(fd).size;
  if (size <= (options.wholeUpTo ?? 0)) return wholeFile(fd, size, path);
  let closing = false;
  let pending = 0;
  const release = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const open = (): number => {
    if (fd === undefined || closing) throw new CheckpointError("io", "file source is closed", { file: path });
    return fd;
  };
  const ended = (at: number) => new CheckpointError("truncated", `file ended at byte ${at} (it shrank while open?)`, { file: path, offset: at });
  // Small reads are served from a read-ahead window: thousands of small storages read in file
  // order cost one read per window, not one per storage.
  let window: Uint8Array | undefined;
  let windowStart = 0;
  const readRange = (offset: number, length: number): Uint8Array => {
    checkReadRange(size, offset, length, path);
    open();
    if (length <= SMALL_READ_BYTES && length > 0) {
      if (window === undefined || offset < windowStart || offset + length > windowStart + window.length) {
        window = undefined;
        windowStart = offset;
        window = readInto(Math.min(READ_AHEAD_BYTES, size - offset), offset);
      }
      return window.slice(offset - windowStart, offset - windowStart + length);
    }
    return readInto(length, offset);
  };
  const readInto = (length: number, offset: number): Uint8Array => {
    const out = uninitialized(length, path, offset);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(open(), out, done, Math.min(READ_STEP_BYTES, length - done), offset + done);
      } catch (e) {
        throw e instanceof CheckpointError ? e : ioError(e, path);
      }
      if (n === 0) throw ended(offset + done);
      done += n;
    }
    return out;
  };
  const readAsync = (offset: number, length: number): Promise<Uint8Array> => {
    checkReadRange(size, offset, length, path);
    const handle = open();
    if (length <= SMALL_READ_BYTES || options.threadPool !== true) return Promise.resolve(readRange(offset, length));
    const out = uninitialized(length, path, offset);
    pending++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const settle = (e: CheckpointError | undefined): void => {
        if (--pending === 0 && closing) release();
        if (e === undefined) resolve(out);
        else reject(e);
      };
      const step = (done: number): void => {
        if (done === length) return settle(undefined);
        read(handle, out, done, Math.min(READ_STEP_BYTES, length - done), offset + done, (e, n) => {
          if (e) settle(ioError(e, path));
          else if (n === 0) settle(ended(offset + done));
          else step(done + n);
        });
      };
      step(0);
    });
  };
  return {
    size,
    name: path,
    readSync: readRange,
    read(offset, length) {
      try {
        return readAsync(offset, length);
      } catch (e) {
        return Promise.reject(e); // a bad range or a closed source rejects, never throws
      }
    },
    close() {
      closing = true;
      window = undefined;
      if (pending === 0) release();
    },
  };
}

/** Reads the open file `fd` whole, closes it, and serves it from memory. */
function wholeFile(fd: number, size: number, path: string): FileSource {
  const { closeSync, readSync } = nodeFs();
  try {
    const bytes = uninitialized(size, path, 0);
    for (let done = 0; done < size; ) {
      let n: number;
      try {
        n = readSync(fd, bytes, done, Math.min(READ_STEP_BYTES, size - done), done);
      } catch (e) {
        throw ioError(e, path);
      }
      if (n === 0) throw new CheckpointError("truncated", `file ended at byte ${done} (it shrank while open?)`, { file: path, offset: done });
      done += n;
    }
    return { ...bytesSource(bytes, path), close: () => undefined };
  } finally {
    closeSync(fd);
  }
}

/** The same over `fs/promises`, for callers who must not block the event loop. */
export async function openFileSourceAsync(path: string): Promise<FileSource & { closeAsync(): Promise<void> }> {
  let handle;
  try {
    handle = await nodeFsPromises().open(path, "r");
  } catch (e) {
    throw ioError(e, path);
  }
  const size = (await handle.stat()).size;
  let closed = false;
  return {
    size,
    name: path,
    async read(offset, length) {
      checkReadRange(size, offset, length, path);
      if (closed) throw new CheckpointError("io", "file source is closed", { file: path });
      const out = uninitialized(length, path, offset);
      let done = 0;
      while (done < length) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(out, done, Math.min(READ_STEP_BYTES, length - done), offset + done));
        } catch (e) {
          throw ioError(e, path);
        }
        if (bytesRead === 0) throw new CheckpointError("truncated", `file ended at byte ${offset + done}`, { file: path, offset: offset + done });
        done += bytesRead;
      }
      return out;
    },
    close() {
      if (!closed) void handle.close();
      closed = true;
    },
    async closeAsync() {
      if (!closed) await handle.close();
      closed = true;
    },
  };
}

/**
 * A plain Uint8Array of `length` bytes with its own ArrayBuffer, not zero-filled: every byte is
 * overwritten by the read that follows. (Not `allocUnsafe`: small ones would be views into Node's
 * shared pool, and a storage's `data.buffer` would then be that pool.)
 */
function uninitialized(length: number, path: string, offset: number): Uint8Array {
  const max = maxArrayBytes();
  if (length > max) {
    throw new CheckpointError(
      "limit-exceeded",
      `cannot read ${length} bytes into one array: this Node holds at most ${max} bytes in a Uint8Array (read it in parts)`,
      { file: path, offset },
    );
  }
  const buf = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

/** A Node file-system failure as CheckpointError `io`, naming the file, with the original as `cause`. */
export function ioError(e: unknown, path: string): CheckpointError {
  const err = e as NodeJS.ErrnoException;
  const what = err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory" : err.code === "EACCES" ? "permission denied" : String(err.message ?? e);
  return new CheckpointError("io", what, { file: path, cause: e });
}
