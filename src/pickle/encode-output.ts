/**
 * The encoder's output with protocol-4 framing done the way CPython's C pickler does it
 * (`Modules/_pickle.c`: `_Pickler_Write`, `_Pickler_OpcodeBoundary`, `_Pickler_CommitFrame`,
 * `_Pickler_write_bytes`), so our bytes match `pickle.dumps` exactly:
 *
 * - a frame opens lazily at the first write after the previous one was committed;
 * - at the start of every value the encoder saves, a frame holding at least 64 KiB is committed;
 * - a committed frame shorter than 4 bytes is written without its FRAME header;
 * - a bytes/str payload of 64 KiB or more commits the open frame and is written outside any frame.
 *
 * Streaming (`encodePickleChunks`), the output is handed out in pieces as it is made
 * ({@link FramedWriter.drain}), and a large bytes payload is passed on as it is, not copied.
 */
import { ByteWriter } from "../bytes/writer.js";

/** CPython's `_FRAME_SIZE_TARGET`: frames are committed once they hold this many bytes. */
export const FRAME_SIZE_TARGET = 64 * 1024;
/** CPython's `_FRAME_SIZE_MIN`: shorter frames are written without a FRAME opcode. */
const FRAME_SIZE_MIN = 4;
const FRAME_OPCODE = 0x95;

/** Output of at least this many bytes is handed out as it is when drained; shorter output is copied. */
const HAND_OVER_BYTES = 64 * 1024;

/** Where encoded opcodes go: straight to the output, or into the open protocol-4 frame. */
export class FramedWriter {
  private out = new ByteWriter(256);
  /** Bytes of the frame being filled; present only once framing has started. */
  private frame: ByteWriter | undefined;
  /** Streaming only: pieces ready to go out, in order, before what `out` holds. */
  private readonly ready: Uint8Array[] | undefined;
  /** Bytes held by `ready`. */
  private readyBytes = 0;

  /** `streaming`: output is taken piecewise with {@link drain}, large payloads by reference. */
  constructor(streaming = false) {
    this.ready = streaming ? [] : undefined;
  }

  /** Bytes written and not yet drained (outside the open frame). */
  get pending(): number {
    return this.readyBytes + this.out.length;
  }

  /** Starts framing (protocol >= 4, after PROTO). */
  startFraming(): void {
    this.frame = new ByteWriter(1024);
  }

  /** The writer for the next opcode. */
  sink(): ByteWriter {
    return this.frame ?? this.out;
  }

  /**
   * The writer for an opcode whose payload is `payloadSize` bytes: outside any frame (after
   * committing the open one) when the payload is 64 KiB or more, as CPython does for large data.
   */
  sinkFor(payloadSize: number): ByteWriter {
    if (this.frame === undefined) return this.out;
    if (payloadSize < FRAME_SIZE_TARGET) return this.frame;
    this.commit();
    return this.out;
  }

  /** Called where CPython's `save()` starts: commits a frame that reached the target size. */
  boundary(): void {
    if (this.frame !== undefined && this.frame.length >= FRAME_SIZE_TARGET) this.commit();
  }

  /** Writes the open frame (with its FRAME header unless it is tiny) to the output. */
  commit(): void {
    const frame = this.frame;
    if (frame === undefined || frame.length === 0) return;
    if (frame.length >= FRAME_SIZE_MIN) this.out.u8(FRAME_OPCODE).u64(frame.length);
    this.out.bytes(frame.finish());
    frame.length = 0;
  }

  /**
   * Writes a bytes payload to `w` (the writer its opcode and length went to). Streaming, a payload
   * of 64 KiB or more outside any frame is passed on by reference: the caller must not change it.
   */
  payload(w: ByteWriter, data: Uint8Array): void {
    if (this.ready === undefined || w !== this.out || data.length < HAND_OVER_BYTES) {
      w.bytes(data);
      return;
    }
    this.takeOut();
    this.ready.push(data);
    this.readyBytes += data.length;
  }

  /** Streaming: everything written outside the open frame, in order; the writer keeps nothing of it. */
  drain(): Uint8Array[] {
    const ready = this.ready!;
    this.takeOut();
    const pieces = ready.splice(0);
    this.readyBytes = 0;
    return pieces;
  }

  /** Moves what `out` holds to `ready` (its buffer when large, else a copy). */
  private takeOut(): void {
    const n = this.out.length;
    if (n === 0) return;
    const bytes = this.out.finish();
    if (n >= HAND_OVER_BYTES) {
      this.ready!.push(bytes);
      this.out = new ByteWriter(HAND_OVER_BYTES * 2);
    } else {
      this.ready!.push(bytes.slice());
      this.out.length = 0;
    }
    this.readyBytes += n;
  }

  /** Commits the open frame and returns everything written (a view, not a copy). */
  finish(): Uint8Array {
    this.commit();
    return this.out.finish();
  }
}
