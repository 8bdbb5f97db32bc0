/**
 * The safetensors container (https://github.com/huggingface/safetensors, README "Format"): a u64
 * little-endian header length N, N bytes of JSON, then the byte buffer. The header is validated as
 * the reference implementation does (`safetensors/src/tensor.rs`): size cap, JSON object starting
 * with `{`, no duplicate names, offsets in bounds and covering the buffer exactly without overlap,
 * dtype × shape = byte length, and a str → str `__metadata__`.
 */
import { decodeUtf8, encodeUtf8 } from "../bytes/text.js";
import { ConvertError } from "../errors.js";
import { dtypeBySafetensors } from "../torch/index.js";

/** The reference implementation's cap on the JSON header (`MAX_HEADER_SIZE`). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bits per element of each dtype the format defines (sub-byte types pack within a tensor). */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
});

/** One tensor entry of the header. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute offsets in the file (header included). */
  readonly begin: number;
  readonly end: number;
}

/** A validated header: the entries in data order, `__metadata__`, and where the buffer starts. */
export interface SafetensorsHeader {
  /** Entries in data order (by offset). */
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Where the byte buffer starts (8 + N). */
  readonly dataStart: number;
}

/** The u64 header length at the start of a file (first 8 bytes). */
export function headerLength(head: Uint8Array): number {
  if (head.length < 8) throw new ConvertError("truncated", "a safetensors file starts with an 8-byte header length", { offset: 0 });
  const view = new DataView(head.buffer, head.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw new ConvertError("limit-exceeded", `safetensors header of ${n} bytes is over the ${SAFETENSORS_MAX_HEADER}-byte limit`, { offset: 0 });
  }
  return Number(n);
}

/**
 * Parses and validates the JSON header (`json`: the N header bytes) of a file of `fileSize` bytes.
 * @throws ConvertError `invalid-data` naming the rule and the tensor; `unsupported` for a dtype
 *   torch has no type for (F6_E2M3, F6_E3M2).
 */
export function parseHeader(json: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + json.length;
  const fail = (reason: string, name?: string) => new ConvertError("invalid-data", reason, name === undefined ? { offset: 8 } : { offset: 8, path: [name] });
  if (dataStart > fileSize) throw new ConvertError("truncated", `the header needs ${json.length} bytes but the file ends first`, { offset: 8 });
  if (json[0] !== 0x7b) throw fail("the safetensors header must start with '{'");
  let text: string;
  try {
    text = decodeUtf8(json);
  } catch {
    throw fail("the safetensors header is not UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw fail(`the safetensors header is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw fail("the safetensors header must be a JSON object");
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw fail(`the safetensors header names ${JSON.stringify(duplicate)} twice`, duplicate);
  const bufferSize = fileSize - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(parsed)) {
    const info = (parsed as Record<string, unknown>)[name];
    if (name === "__metadata__") {
      metadata = readMetadata(info, fail);
      continue;
    }
    if (typeof info !== "object" || info === null || Array.isArray(info)) throw fail(`tensor ${name} must be described by an object`, name);
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== "string" || SAFETENSORS_DTYPE_BITS[dtype] === undefined) throw fail(`tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail(`tensor ${name} needs a shape of ints >= 0`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw fail(`tensor ${name} needs data_offsets [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > bufferSize) throw fail(`tensor ${name} data_offsets [${begin}, ${end}] fall outside the ${bufferSize}-byte buffer`, name);
    const bits = (shape as number[]).reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_BITS[dtype]!;
    if (!Number.isSafeInteger(bits) || bits % 8 !== 0 || bits / 8 !== end - begin) {
      throw fail(`tensor ${name}: ${dtype} × [${(shape as number[]).join(", ")}] does not make ${end - begin} bytes`, name);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = dataStart;
  for (const e of entries) {
    if (e.begin !== covered) {
      throw fail(e.begin < covered ? `tensor ${e.name} overlaps the tensor before it` : `bytes ${covered - dataStart}..${e.begin - dataStart} of the buffer belong to no tensor`, e.name);
    }
    covered = e.end;
  }
  if (covered !== fileSize) throw fail(`the buffer has ${fileSize - covered} bytes after the last tensor (they must all belong to tensors)`);
  return { entries, metadata, dataStart };
}

function readMetadata(info: unknown, fail: (reason: string, name?: string) => ConvertError): Record<string, string> {
  if (typeof info !== "object" || info === null || Array.isArray(info)) throw fail("__metadata__ must be an object of strings", "__metadata__");
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(info)) {
    if (typeof v !== "string") throw fail(`__metadata__.${k} must be a string`, "__metadata__");
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The first key of the top-level object that appears twice (`JSON.parse` silently keeps the last
 * one). Scans the text: tracks depth and strings, compares decoded top-level keys.
 */
function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}

/** A header entry to write: name, dtype code, shape and byte length, in data order. */
export interface EntryToWrite {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/**
 * The 8-byte length and the JSON header for `entries` (placed back to back in the given order),
 * padded with spaces to a multiple of 8 so the buffer starts aligned, as the reference writer does.
 */
export function writeHeader(entries: readonly EntryToWrite[], metadata: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of entries) {
    Object.defineProperty(header, e.name, {
      value: { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.byteLength] }, enumerable: true, writable: true, configurable: true,
    });
    offset += e.byteLength;
  }
  const json = encodeUtf8(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > SAFETENSORS_MAX_HEADER) throw new ConvertError("limit-exceeded", `the safetensors header would be ${padded} bytes, over the ${SAFETENSORS_MAX_HEADER}-byte limit`);
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** True when torch has a dtype for a safetensors code. */
export const torchHasSafetensorsDtype = (code: string): boolean => dtypeBySafetensors(code) !== undefined;
