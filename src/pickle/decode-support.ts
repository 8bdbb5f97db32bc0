/**
 * The decoder's helpers: which memo entries to keep, Python 2 strings, locating errors at the
 * failing opcode, and the small stack and byte helpers of its loop.
 */
import { decodeLatin1, decodeUtf8, isAscii, TextDecodeFailure } from "../bytes/text.js";
import { isTorchsaveError, PickleDecodeError } from "../errors.js";
import { mentions, scanMemoFetches, type MemoFetches } from "./decode-fetches.js";
import type { DecodeOptions } from "./decode-options.js";
import type { OpcodeInfo } from "./opcodes.js";
import type { PyBytes } from "./value.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The memo entries to keep, or undefined to keep all: when `afterBuild` may move the read position,
 * a scan of the opcodes cannot see the stream the decoder will follow.
 */
export function pruneMemo<X>(input: Uint8Array, start: number, options: DecodeOptions<X>): MemoFetches | undefined {
  const markers = options.afterBuildMarkers;
  if (options.afterBuild !== undefined && markers === undefined) return undefined;
  const fetches = scanMemoFetches(input, start);
  if (fetches === undefined || markers === undefined) return fetches;
  return markers.some((m) => mentions(input, start, fetches.end, m)) ? undefined : fetches;
}

/** A Python 2 `str` as the `strings` option says. */
export function python2String(data: Uint8Array, mode: "auto" | "bytes" | "latin1" | "utf-8"): string | PyBytes {
  switch (mode) {
    case "auto":
      if (isAscii(data)) return decodeLatin1(data);
      try {
        return strictUtf8.decode(data);
      } catch {
        return { kind: "bytes", data };
      }
    case "bytes":
      return { kind: "bytes", data };
    case "latin1":
      return decodeLatin1(data);
    case "utf-8":
      try {
        return decodeUtf8(data);
      } catch (e) {
        if (e instanceof TextDecodeFailure) throw new PickleDecodeError("invalid-data", `invalid UTF-8 at byte ${e.index} of a Python 2 string`);
        throw e;
      }
  }
}

/**
 * The error to throw for `e`, located at the failing opcode. Hook errors keep their own fields
 * (only missing ones are filled in) and non-torchsave hook errors pass through untouched; any
 * other non-torchsave error is an internal failure and is wrapped so nothing else escapes.
 */
export function locate(
  e: unknown, opStart: number, op: OpcodeInfo | undefined, fromHook: boolean, maxBytes: number | undefined,
  entry: string | undefined, baseOffset: number,
): unknown {
  const where: { offset: number; opcode?: string; entry?: string } = { offset: baseOffset + opStart };
  if (op !== undefined) where.opcode = op.name;
  if (entry !== undefined) where.entry = entry;
  if (isTorchsaveError(e)) {
    if (fromHook) {
      const missing: { offset?: number; opcode?: string; entry?: string } = {};
      if (e.offset === undefined) missing.offset = where.offset;
      if (e.opcode === undefined && where.opcode !== undefined) missing.opcode = where.opcode;
      if (e.entry === undefined && where.entry !== undefined) missing.entry = where.entry;
      return Object.keys(missing).length === 0 ? e : e.withLocation(missing);
    }
    if (e.code === "truncated" && maxBytes !== undefined) {
      return new PickleDecodeError("limit-exceeded", `the pickle is longer than maxBytes (${maxBytes})`, { ...where, cause: e });
    }
    return e.withLocation(where);
  }
  if (fromHook) return e;
  const code = e instanceof RangeError ? "limit-exceeded" : "invalid-data";
  return new PickleDecodeError(code, `internal failure while decoding: ${String(e)}`, { ...where, cause: e });
}

/** `stack.length = length`, by popping: far cheaper than the length setter for the few items a MARK holds. */
export function dropTo(stack: unknown[], length: number): void {
  for (let n = stack.length - length; n > 0; n--) stack.pop();
}


/** A memo index from GET/PUT's text (where Python's `int("01")` is 1) or a binary argument. */
export function memoIndex(arg: number | bigint | boolean): number | bigint {
  return typeof arg === "boolean" ? (arg ? 1 : 0) : arg;
}

/** The little-endian unsigned int of `width` (1, 2 or 4) bytes at `at` (callers have checked they are there). */
export function uintAt(b: Uint8Array, at: number, width: number): number {
  if (width === 1) return b[at]!;
  if (width === 2) return b[at]! | (b[at + 1]! << 8);
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
