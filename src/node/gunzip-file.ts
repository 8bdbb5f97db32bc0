/**
 * A gzip file inflated for random access in bounded memory: node:zlib inflates each member (raw
 * deflate, native speed) as the file is read, and what it inflates to stays in memory up to
 * `wholeUpTo` bytes, or goes to a temp file past that, which is then read in place like any file
 * (a zip-.pt needs its central directory at the end; the in-place pickle reader reads at offsets).
 * The rules are the core's (`containers/gzip.ts`): members one after another, each one's CRC-32
 * and size checked against its trailer (unless `verifyCrc: false`), the output capped at
 * `maxBytes` (`limit-exceeded`). Errors name the gzip file, with offsets in it. The temp file is
 * removed on success (as soon as it is open for reading, where the system allows), on error, and
 * on SIGINT/SIGTERM/exit while it is being written (`temp-files.ts`): nothing is left behind.
 */
import { closeSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInflateRaw } from "node:zlib";
import { crc32 as portableCrc32, type Crc32Fn } from "../bytes/crc32.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { type FileSource, ioError, openFileSource } from "./file-source.js";
import { tempPathFor, trackTemp } from "./temp-files.js";
import { nodeCrc32 } from "./write-checkpoint.js";
import { concatBytes } from "../bytes/concat.js";
import { bytesSource } from "../bytes/source.js";

/** Default of {@link GunzipFileOptions.wholeUpTo}: 64 MiB, as `convert` reads small files whole. */
export const GUNZIP_IN_MEMORY_BYTES = 64 * 2 ** 20;
/** Compressed bytes read and handed to the inflater at a time. */
const READ_BYTES = 2 ** 20;
/** The longest member header read (FEXTRA, FNAME, FCOMMENT): longer ones are refused. */
const MAX_HEADER_BYTES = 2 ** 20;

/** Options of {@link openGunzippedFile}. */
export interface GunzipFileOptions {
  /** Largest output allowed before `limit-exceeded`. */
  readonly maxBytes: number;
  /** Check each member's CRC-32 and size against its trailer. Default true. */
  readonly verifyCrc?: boolean;
  /** Output up to this size stays in memory; larger goes to a temp file. Default {@link GUNZIP_IN_MEMORY_BYTES}. */
  readonly wholeUpTo?: number;
  /** The folder of the temp file. Default the system's (`os.tmpdir()`). */
  readonly tempDir?: string;
}

/** The inflated content as a source named after the gzip file; `close()` also removes the temp file. */
export interface GunzippedFile {
  readonly source: FileSource;
  /** Where the content was put: in memory, or a temp file read in place. */
  readonly where: "memory" | "temp-file";
}

/**
 * Inflates the gzip file at `path` (see the module comment).
 * @throws CheckpointError `io`, `truncated` (cut short), `bad-archive` (damaged, not gzip, or bytes
 *   after a member that start no member), `crc-mismatch` (a trailer disagrees), `limit-exceeded`;
 *   each names `path`. No temp file is left.
 */
export async function openGunzippedFile(path: string, options: GunzipFileOptions): Promise<GunzippedFile> {
  const crcFn: Crc32Fn = nodeCrc32 ?? portableCrc32;
  const verify = options.verifyCrc !== false;
  const sink = new Sink(path, options);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw ioError(e, path);
  }
  try {
    const size = fstatSync(fd).size;
    let at = 0;
    do {
      const memberStart = at;
      const dataStart = memberStart + headerLength(fd, size, memberStart, path);
      let crc = 0, memberBytes = 0;
      const dataEnd = await inflateMember(fd, size, dataStart, path, (chunk) => {
        if (verify) crc = crcFn(chunk, crc);
        memberBytes += chunk.length;
        sink.write(chunk);
      });
      if (verify) checkTrailer(fd, size, dataEnd, memberStart, crc >>> 0, memberBytes, path);
      at = dataEnd + 8;
    } while (at < size);
    return sink.finish();
  } catch (e) {
    sink.discard();
    throw isTorchsaveError(e) ? (e.file === undefined ? e.withLocation({ file: path }) : e) : ioError(e, path);
  } finally {
    closeSync(fd);
  }
}

/** Reads exactly `length` bytes at `offset` (fewer where the file ends). */
function readAt(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/** The length of the member header at `start` (RFC 1952: fixed 10 bytes, then the optional fields). */
function headerLength(fd: number, size: number, start: number, file: string): number {
  const head = readAt(fd, start, Math.min(MAX_HEADER_BYTES, size - start));
  const where = start === 0 ? "the gzip stream" : `the gzip member at byte ${start}`;
  const cut = () => new CheckpointError("truncated", `${where} is cut short inside its header`, { file, offset: start });
  if (head.length >= 1 && head[0] !== 0x1f || head.length >= 2 && head[1] !== 0x8b || head.length >= 3 && head[2] !== 0x08) {
    const what = start === 0 ? "not a gzip stream" : `the ${size - start} bytes after the gzip member ending at byte ${start} are not a gzip member`;
    throw new CheckpointError("bad-archive", what, { file, offset: start });
  }
  if (head.length < 10) throw cut();
  const flags = head[3]!;
  if ((flags & 0xe0) !== 0) throw new CheckpointError("bad-archive", `${where} has reserved header flags set (0x${flags.toString(16)})`, { file, offset: start + 3 });
  let at = 10;
  if (flags & 0x04) {
    if (head.length < at + 2) throw cut();
    at += 2 + (head[at]! | (head[at + 1]! << 8));
  }
  for (const bit of [0x08, 0x10]) {
    if (!(flags & bit)) continue;
    const nul = head.indexOf(0, at);
    if (nul < 0) {
      if (head.length === MAX_HEADER_BYTES) throw new CheckpointError("limit-exceeded", `${where} has a header longer than ${MAX_HEADER_BYTES} bytes`, { file, offset: start });
      throw cut();
    }
    at = nul + 1;
  }
  if (flags & 0x02) at += 2;
  if (at > head.length) throw cut();
  return at;
}

/**
 * Inflates the raw deflate data at `start`, handing out what it inflates to, and resolves to the
 * offset where the deflate data ended (zlib's count of the input it consumed).
 */
function inflateMember(fd: number, size: number, start: number, file: string, onData: (chunk: Uint8Array) => void): Promise<number> {
  const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
  return new Promise<number>((resolve, reject) => {
    let pos = start;
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      inflater.destroy();
      reject(zlibError(e, file, start));
    };
    inflater.on("data", (chunk: Uint8Array) => {
      if (settled) return;
      try {
        onData(chunk);
      } catch (e) {
        fail(e);
      }
    });
    inflater.on("error", fail);
    inflater.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(start + inflater.bytesWritten);
    });
    const pump = (): void => {
      try {
        while (!settled && pos < size) {
          const piece = readAt(fd, pos, Math.min(READ_BYTES, size - pos));
          if (piece.length === 0) break;
          pos += piece.length;
          if (!inflater.write(piece)) {
            inflater.once("drain", pump);
            return;
          }
        }
        if (!settled && !inflater.writableEnded) inflater.end();
      } catch (e) {
        fail(e);
      }
    };
    pump();
  });
}

/** zlib's failure as a typed error at the member's data. */
function zlibError(e: unknown, file: string, start: number): unknown {
  if (isTorchsaveError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === undefined || !err.code.startsWith("Z_")) return e;
  const cut = err.code === "Z_BUF_ERROR";
  return new CheckpointError(cut ? "truncated" : "bad-archive", `gzip stream is ${cut ? "cut short" : "damaged"}: ${err.message}`, { file, offset: start, cause: e });
}

/** The member's 8-byte trailer at `end` against what it inflated to (the core's messages). */
function checkTrailer(fd: number, size: number, end: number, memberStart: number, crc: number, memberBytes: number, file: string): void {
  const member = memberStart === 0 ? "the gzip stream" : `the gzip member at byte ${memberStart}`;
  const t = readAt(fd, end, Math.min(8, size - end));
  if (t.length < 8) throw new CheckpointError("truncated", `${member} is cut short in its 8-byte trailer (CRC-32 and size)`, { file, offset: end });
  const view = new DataView(t.buffer, t.byteOffset, 8);
  const storedCrc = view.getUint32(0, true), storedSize = view.getUint32(4, true);
  if (storedCrc !== crc) {
    throw new CheckpointError("crc-mismatch", `${member} is damaged: its ${memberBytes} inflated bytes have CRC-32 0x${hex(crc)}, its trailer says 0x${hex(storedCrc)} (--ignore-crc, or verifyCrc: "none", reads it anyway)`, { file, offset: end });
  }
  if (storedSize !== memberBytes % 2 ** 32) {
    throw new CheckpointError("crc-mismatch", `${member} is damaged: it inflated to ${memberBytes} bytes, its trailer says ${storedSize} (mod 2^32)`, { file, offset: end + 4 });
  }
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

/** Where the inflated bytes go: memory up to `wholeUpTo`, then a temp file. */
class Sink {
  private readonly chunks: Uint8Array[] = [];
  private total = 0;
  private tmp: string | undefined;
  private fd: number | undefined;
  private untrack: (() => void) | undefined;
  private readonly maxBytes: number;
  private readonly wholeUpTo: number;

  constructor(private readonly file: string, private readonly options: GunzipFileOptions) {
    this.maxBytes = options.maxBytes;
    this.wholeUpTo = options.wholeUpTo ?? GUNZIP_IN_MEMORY_BYTES;
  }

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      throw new CheckpointError("limit-exceeded", `gzip input inflates past ${this.maxBytes} bytes (maxInflatedBytes)`, { file: this.file });
    }
    if (this.fd === undefined && this.total <= this.wholeUpTo) {
      // A plain view of zlib's Buffer: the core never sees Buffer methods.
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      return;
    }
    if (this.fd === undefined) this.open();
    writeAll(this.fd!, chunk);
  }

  private open(): void {
    const dir = this.options.tempDir ?? tmpdir();
    this.tmp = tempPathFor(join(dir, `${basename(this.file)}.inflated`));
    this.untrack = trackTemp(this.tmp);
    try {
      this.fd = openSync(this.tmp, "wx", 0o600);
    } catch (e) {
      const io = ioError(e, dir);
      throw new CheckpointError("io", `cannot make a temp file in this folder to inflate ${basename(this.file)} into: ${io.reason}`, { file: dir, cause: e });
    }
    for (const c of this.chunks.splice(0)) writeAll(this.fd, c);
  }

  finish(): GunzippedFile {
    if (this.fd === undefined) {
      const source = bytesSource(concatBytes(this.chunks.splice(0)), this.file);
      return { source: { ...source, close: () => undefined }, where: "memory" };
    }
    closeSync(this.fd);
    this.fd = undefined;
    const tmp = this.tmp!;
    const source = openFileSource(tmp, { name: this.file });
    // Once open, the name can go (POSIX): then not even SIGKILL leaves the temp file behind.
    let removed = this.remove();
    return {
      source: {
        ...source,
        close: () => {
          source.close();
          if (!removed) removed = this.remove();
        },
      },
      where: "temp-file",
    };
  }

  /** Removes the temp file; false when the system refuses while it is open (Windows). */
  private remove(): boolean {
    try {
      unlinkSync(this.tmp!);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") return false;
    }
    this.untrack?.();
    this.untrack = undefined;
    return true;
  }

  discard(): void {
    this.chunks.length = 0;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.tmp !== undefined) this.remove();
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done);
}

/**
 * True when the file at `path` starts as gzip does (`1f 8b 08`).
 * @throws CheckpointError `io` naming `path` when it cannot be read.
 */
export function isGzipFile(path: string): boolean {
  let head: Uint8Array;
  try {
    const fd = openSync(path, "r");
    try {
      head = readAt(fd, 0, 3);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw ioError(e, path);
  }
  return head.length === 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08;
}

/**
 * Opens `path` for conversion: a gzip file (by content) through {@link openGunzippedFile}, any
 * other as `openFileSource(path, { wholeUpTo })`.
 * @throws as {@link openGunzippedFile} and `openFileSource`.
 */
export async function openFileSourceInflating(path: string, options: GunzipFileOptions): Promise<{ readonly source: FileSource; readonly gzip: boolean }> {
  if (isGzipFile(path)) return { source: (await openGunzippedFile(path, options)).source, gzip: true };
  return { source: openFileSource(path, { wholeUpTo: options.wholeUpTo ?? GUNZIP_IN_MEMORY_BYTES }), gzip: false };
}
