/**
 * What the zip writer remembers about each record it wrote, for the central directory: typed
 * columns (header offset, size, CRC-32, flags, zip64 bits) and every name's bytes in one pool,
 * not an object and a byte array per record. A checkpoint of 80,000 small storages is 80,000
 * records; as columns they cost a few growing arrays instead of 160,000 small objects for the
 * garbage collector to trace. Records are numbered from 0 in write order.
 */
import { encodeUtf8 } from "../../bytes/text.js";

/** Flag bits kept per record besides the general-purpose flags. */
const ZIP64_SIZE = 1;
const ZIP64_OFFSET = 2;

/** The written records of one archive; see the file comment. */
export class ZipEntryTable {
  /** Records written so far. */
  count = 0;
  private names: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  private namesUsed = 0;
  /** Record i's name is `names[nameStart[i], nameStart[i + 1])`. */
  private nameStart = new Float64Array(65);
  private offsets = new Float64Array(64);
  private sizes = new Float64Array(64);
  private crcs = new Uint32Array(64);
  private flagBits = new Uint16Array(64);
  private wide = new Uint8Array(64);

  /**
   * Adds a record named `prefix + name` (UTF-8) and returns its number. The name's bytes are
   * written straight into the pool (ASCII, the usual case, without an intermediate array).
   */
  add(prefix: string, name: string, headerOffset: number, size: number, flags: number, zip64Size: boolean, zip64Offset: boolean): number {
    const i = this.count;
    if (i === this.offsets.length) this.grow();
    this.appendName(prefix);
    this.appendName(name);
    this.nameStart[i + 1] = this.namesUsed;
    this.offsets[i] = headerOffset;
    this.sizes[i] = size;
    this.crcs[i] = 0;
    this.flagBits[i] = flags;
    this.wide[i] = (zip64Size ? ZIP64_SIZE : 0) | (zip64Offset ? ZIP64_OFFSET : 0);
    this.count = i + 1;
    return i;
  }

  /** Removes the last record (its header could not be written). */
  dropLast(): void {
    this.count--;
    this.namesUsed = this.nameStart[this.count]!;
  }

  nameLength(i: number): number {
    return this.nameStart[i + 1]! - this.nameStart[i]!;
  }

  /** Copies record i's name bytes to `out` at `at`; returns the byte after them. */
  copyName(i: number, out: Uint8Array, at: number): number {
    const from = this.nameStart[i]!;
    const to = this.nameStart[i + 1]!;
    for (let k = from; k < to; k++) out[at++] = this.names[k]!;
    return at;
  }

  /** The pool of name bytes: record i's name is `namePool()[nameFrom(i), nameTo(i))` (valid until the next `add`). */
  namePool(): Uint8Array {
    return this.names;
  }
  nameFrom(i: number): number {
    return this.nameStart[i]!;
  }
  nameTo(i: number): number {
    return this.nameStart[i + 1]!;
  }

  /** Record i's name bytes from byte `skip` on, as a view of the pool (valid until the next `add`). */
  nameBytes(i: number, skip = 0): Uint8Array {
    return this.names.subarray(this.nameStart[i]! + skip, this.nameStart[i + 1]!);
  }

  /** Record i's full name as text. */
  name(i: number): string {
    return new TextDecoder().decode(this.nameBytes(i));
  }

  headerOffset(i: number): number {
    return this.offsets[i]!;
  }
  size(i: number): number {
    return this.sizes[i]!;
  }
  crc(i: number): number {
    return this.crcs[i]!;
  }
  setCrc(i: number, crc: number): void {
    this.crcs[i] = crc >>> 0;
  }
  flags(i: number): number {
    return this.flagBits[i]!;
  }
  zip64Size(i: number): boolean {
    return (this.wide[i]! & ZIP64_SIZE) !== 0;
  }
  zip64Offset(i: number): boolean {
    return (this.wide[i]! & ZIP64_OFFSET) !== 0;
  }

  private appendName(s: string): void {
    const n = s.length;
    if (this.namesUsed + 3 * n > this.names.length) this.names = grown(this.names, this.namesUsed + 3 * n);
    const pool = this.names;
    let at = this.namesUsed;
    for (let k = 0; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0x80) {
        // Not ASCII: the exact UTF-8 of the whole piece (lone surrogates as bytes/text.ts writes them).
        const bytes = encodeUtf8(s);
        if (this.namesUsed + bytes.length > pool.length) this.names = grown(pool, this.namesUsed + bytes.length);
        this.names.set(bytes, this.namesUsed);
        this.namesUsed += bytes.length;
        return;
      }
      pool[at++] = c;
    }
    this.namesUsed = at;
  }

  private grow(): void {
    const n = this.offsets.length * 2;
    this.nameStart = resized(this.nameStart, n + 1);
    this.offsets = resized(this.offsets, n);
    this.sizes = resized(this.sizes, n);
    this.crcs = resized(this.crcs, n);
    this.flagBits = resized(this.flagBits, n);
    this.wide = resized(this.wide, n);
  }
}

function grown(b: Uint8Array, need: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.max(need, b.length * 2));
  out.set(b);
  return out;
}

function resized<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, n: number): T {
  const out = new (a.constructor as new (n: number) => T)(n);
  out.set(a);
  return out;
}
