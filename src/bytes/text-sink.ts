/**
 * Output written straight into byte buffers (issue #16): a writer of many small pieces (a JSON
 * document's storage table: 40,000 lines of a few tokens each) puts text and bytes into a buffer
 * of {@link TEXT_SINK_BYTES}, and each buffer goes out once full. No string per piece, no joined
 * string to encode afterwards: ASCII text is copied a character at a time (short pieces) or by the
 * platform's encoder (long ones), other text as UTF-8.
 *
 * Every buffer handed out is new and never written again (as `coalesce.ts` promises its consumers).
 */

/** Size of each buffer: 1 MiB (one write per MiB). */
export const TEXT_SINK_BYTES = 1 << 20;

/** Pieces longer than this go through `TextEncoder.encodeInto` rather than a loop. */
const LOOP_CHARS = 48;

const utf8 = new TextEncoder();

/** Text and bytes gathered into buffers; see the file comment. */
export class TextSink {
  /** The buffer being filled; write at {@link at} after {@link room}. */
  buf: Uint8Array;
  /** Bytes of {@link buf} in use. */
  at = 0;
  /** Full buffers not yet taken, in order. */
  readonly ready: Uint8Array[] = [];

  /** `size` is at least 4 bytes (one UTF-8 character always fits an empty buffer). */
  constructor(readonly size = TEXT_SINK_BYTES) {
    if (!Number.isSafeInteger(size) || size < 4) throw new RangeError(`a text sink's buffers hold at least 4 bytes, not ${size}`);
    this.buf = new Uint8Array(size);
  }

  /** Makes room for `n` bytes at {@link at} (`n` at most {@link size}), sending the buffer out first if it lacks it. */
  room(n: number): void {
    if (this.at + n > this.buf.length) this.flush();
  }

  /** Sends what the buffer holds (if anything) to {@link ready} and starts a new one. */
  flush(): void {
    if (this.at === 0) return;
    this.ready.push(this.buf.subarray(0, this.at));
    this.buf = new Uint8Array(this.size);
    this.at = 0;
  }

  /** Appends `s` as UTF-8 (pieces must not split a surrogate pair). */
  text(s: string): void {
    const n = s.length;
    if (n <= LOOP_CHARS && n <= this.size) {
      this.room(n);
      const buf = this.buf;
      const at = this.at;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) return this.encode(s);
        buf[at + i] = c;
      }
      this.at = at + n;
      return;
    }
    this.encode(s);
  }

  /** `s` through the platform's encoder, across buffers when it does not fit in this one. */
  private encode(s: string): void {
    let rest = s;
    for (;;) {
      const r = utf8.encodeInto(rest, this.at === 0 ? this.buf : this.buf.subarray(this.at));
      this.at += r.written;
      if (r.read === rest.length) return;
      this.flush();
      rest = rest.substring(r.read);
    }
  }

  /** Appends bytes (copied). */
  bytes(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) {
      if (this.at === this.buf.length) this.flush();
      const n = Math.min(b.length - done, this.buf.length - this.at);
      this.buf.set(n === b.length ? b : b.subarray(done, done + n), this.at);
      this.at += n;
      done += n;
    }
  }

  /** Appends the decimal digits of a safe integer. */
  int(v: number): void {
    if (v < 0 || v > 0xffffffff) return this.text(String(v));
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    if (digits > this.size) return this.text(String(v));
    this.room(digits);
    const buf = this.buf;
    let x = v;
    for (let i = this.at + digits - 1; i >= this.at; i--) {
      buf[i] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    }
    this.at += digits;
  }

  /** The full buffers so far (the caller yields them); the list is emptied. */
  take(): Uint8Array[] {
    const out = this.ready.splice(0);
    return out;
  }
}
