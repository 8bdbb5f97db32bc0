/**
 * The encoder's output with protocol-4 framing done the way CPython's C pickler does it
 * (`Modules/_pickle.c`: `_Pickler_Write`, `_Pickler_OpcodeBoundary`, `_Pickler_CommitFrame`,
 * `_Pickler_write_bytes`), so our bytes match `pickle.dumps` exactly:
 *
 * - a frame opens lazily at the first write after the previous one was committed;
 * - at the start of every value the encoder saves, a frame holding at least 64 KiB is committed;
 * - a committed frame shorter than 4 bytes is written without its FRAME header;
 * - a bytes/str payload of 64 KiB or more commits the open frame and is written outside any frame.
 */
import { ByteWriter } from "../bytes/writer.js";

/** CPython's `_FRAME_SIZE_TARGET`: frames are committed once they hold this many bytes. */
export const FRAME_SIZE_TARGET = 64 * 1024;
/** CPython's `_FRAME_SIZE_MIN`: shorter frames are written without a FRAME opcode. */
const FRAME_SIZE_MIN = 4;
const FRAME_OPCODE = 0x95;

/** Where encoded opcodes go: straight to the output, or into the open protocol-4 frame. */
export class FramedWriter {
  private readonly out = new ByteWriter(256);
  /** Bytes of the frame being filled; present only once framing has started. */
  private frame: ByteWriter | undefined;

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

  /** Commits the open frame and returns everything written (a view, not a copy). */
  finish(): Uint8Array {
    this.commit();
    return this.out.finish();
  }
}
