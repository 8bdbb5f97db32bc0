/**
 * A growable byte buffer, the base of the byte writers (this file's little-endian one and the
 * big-endian msgpack writer): appending is amortised O(1), and `finish()` returns a view of
 * exactly the bytes written (no final copy).
 */
export class GrowableBuffer {
  protected buf: Uint8Array;
  protected view: DataView;
  length = 0;

  constructor(initialCapacity: number) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes: at least doubles the buffer when it is too small. */
  protected reserve(n: number): void {
    const needed = this.length + n;
    if (needed <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, 16);
    while (cap < needed) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written so far, as a view (no copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** The pickle encoder's little-endian writer: chainable appends over a {@link GrowableBuffer}. */
export class ByteWriter extends GrowableBuffer {
  constructor(initialCapacity = 256) {
    super(initialCapacity);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v;
    return this;
  }
  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }
  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
    return this;
  }
  u64(v: number | bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }
  i64(v: number | bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }
  f64be(v: number): this {
    this.reserve(8);
    this.view.setFloat64(this.length, v, false);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Writes an ASCII string (every char code must be < 128; callers guarantee it). */
  ascii(s: string): this {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
    return this;
  }
  /** Overwrites 8 bytes at `at` (used to back-patch FRAME lengths). */
  patchU64(at: number, v: number): void {
    this.view.setBigUint64(at, BigInt(v), true);
  }
  /** Inserts bytes at `at`, shifting what follows (used to place FRAME headers). */
  insert(at: number, b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.copyWithin(at + b.length, at, this.length);
    this.buf.set(b, at);
    this.length += b.length;
  }
}
