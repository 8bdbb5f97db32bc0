/**
 * Streaming a zip's records once each: CRC-32 against the central directory, and the NaN scan's
 * targets fed in the same pass. Deflated entries are inflated from small compressed pieces, so
 * one piece can never inflate to more than ~{@link INFLATE_PIECE} × 1032 bytes (deflate's largest
 * ratio), and the output is capped: a zip bomb stops at the cap with a typed `limit-exceeded` error.
 */
import { Inflate } from "fflate";
import type { ByteSource } from "../bytes/source.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { entryDataOffsetSync, type ZipArchive, type ZipEntry } from "../torch/index.js";
import { report, type Ctx } from "./context.js";
import { observeChunk, STREAM_CHUNK, type ValuePlan } from "./value-scan.js";

const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG = 0x0040;
/** Compressed bytes pushed into the inflater at a time: 4 KiB inflate to at most ~4 MiB. */
export const INFLATE_PIECE = 4 * 1024;

/**
 * Streams every entry once: checks its CRC-32 against the central directory's and feeds the NaN
 * scan's targets for that record. Deflated entries are inflated in chunks, never held whole.
 */
export function streamZipRecords(ctx: Ctx, zip: ZipArchive, plan: ValuePlan | undefined): void {
  for (const e of zip.entries) {
    const targets = plan?.byRecord.get(e.name);
    const wantCrc = ctx.options.checkCrc && (e.flags & (FLAG_ENCRYPTED | FLAG_STRONG)) === 0;
    if (!wantCrc && targets === undefined) continue;
    if (e.method !== 0 && e.method !== 8) continue; // reported as a quirk; its bytes cannot be read
    if (e.method === 8 && e.size > ctx.options.maxInflatedBytes) {
      report(ctx, "validation-limit", `the deflated record declares ${e.size} bytes, more than maxInflatedBytes (${ctx.options.maxInflatedBytes}): not inflated, its CRC-32 and values not checked`, { record: e.name });
      continue;
    }
    let dataOffset: number;
    try {
      dataOffset = entryDataOffsetSync(zip, e);
    } catch {
      continue; // reported by the local header scan
    }
    const crcFn = ctx.options.crc32;
    let crc = 0;
    let total = 0;
    const emit = (chunk: Uint8Array): void => {
      if (wantCrc) crc = crcFn(chunk, crc);
      observeChunk(targets, chunk, total);
      total += chunk.length;
    };
    try {
      if (e.method === 0) streamStored(zip.source, dataOffset, e.compressedSize, emit);
      else streamDeflated(zip.source, dataOffset, e, Math.min(ctx.options.maxInflatedBytes, Math.max(e.size, 0)), emit);
    } catch (err) {
      if (!isTorchsaveError(err)) throw err;
      report(ctx, err.code === "limit-exceeded" ? "validation-limit" : "zip-record-unreadable", err.reason, { record: e.name });
      continue;
    }
    if (!wantCrc) continue;
    if (total !== e.size) continue; // a size problem, reported as a quirk or when read
    if (crc !== e.crc32) {
      if (e.crc32 === 0) report(ctx, "crc-mismatch", `the central directory records CRC-32 0 (not computed?) but the bytes give 0x${hex(crc)}`, { record: e.name });
      else report(ctx, "crc-mismatch", `CRC-32 of the ${total} bytes is 0x${hex(crc)}; the central directory says 0x${hex(e.crc32)}`, { record: e.name });
    }
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function streamStored(source: ByteSource, offset: number, length: number, emit: (chunk: Uint8Array) => void): void {
  for (let pos = 0; pos < length; pos += STREAM_CHUNK) {
    const n = Math.min(STREAM_CHUNK, length - pos);
    emit(source.bytes?.subarray(offset + pos, offset + pos + n) ?? source.readSync!(offset + pos, n));
  }
}

/** Inflates in chunks; output is re-cut at multiples of 16 bytes so no value straddles two chunks. */
export function streamDeflated(source: ByteSource, offset: number, e: ZipEntry, max: number, emit: (chunk: Uint8Array) => void): void {
  let produced = 0;
  let carry = new Uint8Array(0);
  let failure: unknown;
  const inflater = new Inflate((chunk) => {
    produced += chunk.length;
    if (produced > max) throw new CheckpointError("limit-exceeded", `the deflated record inflates past ${max} bytes (its declared size, or maxInflatedBytes): stopped there`, { entry: e.name });
    let data = chunk;
    if (carry.length > 0) {
      data = new Uint8Array(carry.length + chunk.length);
      data.set(carry);
      data.set(chunk, carry.length);
    }
    const whole = data.length - (data.length % 16);
    if (whole > 0) emit(data.subarray(0, whole));
    carry = data.slice(whole);
  });
  const compressed = e.compressedSize;
  try {
    for (let pos = 0; pos < compressed; pos += STREAM_CHUNK) {
      const n = Math.min(STREAM_CHUNK, compressed - pos);
      const chunk = source.bytes?.subarray(offset + pos, offset + pos + n) ?? source.readSync!(offset + pos, n);
      for (let at = 0; at < n; at += INFLATE_PIECE) {
        const end = Math.min(n, at + INFLATE_PIECE);
        inflater.push(chunk.subarray(at, end), pos + end >= compressed);
      }
    }
    if (compressed === 0) inflater.push(new Uint8Array(0), true);
  } catch (err) {
    if (isTorchsaveError(err)) throw err;
    failure = err;
  }
  if (carry.length > 0) emit(carry);
  if (failure !== undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new CheckpointError("bad-archive", `deflate stream is damaged or longer than declared: ${reason}`);
  }
}
