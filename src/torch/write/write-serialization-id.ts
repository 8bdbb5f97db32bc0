/**
 * The `.data/serialization_id` record of torch >= 2.x. Torch builds it in
 * `PyTorchStreamWriter::writeSerializationId` from two 64-bit numbers, each printed as 20
 * zero-padded decimal digits:
 *
 * 1. `c10::hash_combine` over `std::hash<std::string>` of every record name written so far;
 * 2. `c10::hash_combine` over the CRC-32 in every data descriptor, in the order they were written
 *    (torch picks them out of the byte stream; an empty record has no descriptor and is skipped).
 *
 * Part 2 is reproduced exactly (a file we write gets the id torch would give the same records).
 * For part 1, torch walks an `unordered_set`, whose order depends on the C++ standard library, so
 * the number differs between Linux and macOS builds of the same torch. We combine the same
 * libstdc++ name hashes (`_Hash_bytes`, seed 0xc70f6907) in write order instead, which is the
 * same on every platform: the id is deterministic, unique in practice, and has torch's shape.
 *
 * The arithmetic is 64-bit, done on pairs of 32-bit halves (a checkpoint has one name and one
 * CRC per storage, and BigInt arithmetic per storage was a tenth of writing 80,000 small ones).
 */
import { encodeUtf8 } from "../../bytes/text.js";
import type { ZipEntryTable } from "../../containers/zip/zip-entry-table.js";

/** A 64-bit unsigned number as its high and low 32-bit halves; the functions below reuse one. */
interface U64 {
  hi: number;
  lo: number;
}

const TWO32 = 2 ** 32;
const MUL_HI = 0xc6a4a793;
const MUL_LO = 0x5bd1e995;

/** `x = x * (MUL_HI:MUL_LO)` modulo 2^64. */
function mulMix(x: U64): void {
  const a0 = x.lo & 0xffff;
  const a1 = x.lo >>> 16;
  const p00 = a0 * (MUL_LO & 0xffff);
  const p01 = a0 * (MUL_LO >>> 16);
  const p10 = a1 * (MUL_LO & 0xffff);
  const p11 = a1 * (MUL_LO >>> 16);
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = p11 + Math.floor(p01 / 0x10000) + Math.floor(p10 / 0x10000) + Math.floor(mid / 0x10000);
  x.hi = (carry + Math.imul(x.hi, MUL_LO) + Math.imul(x.lo, MUL_HI)) >>> 0;
  x.lo = Math.imul(x.lo, MUL_LO) >>> 0;
}

/** `x ^= x >> 47`. */
function shiftMix(x: U64): void {
  x.lo = (x.lo ^ (x.hi >>> 15)) >>> 0;
}

/** Scratch for {@link hashInto} (one per module: the functions here do not re-enter). */
const scratch: U64 = { hi: 0, lo: 0 };

/** Little-endian u32 at `p`. */
const u32 = (bytes: Uint8Array, p: number): number => (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;

/** libstdc++'s 64-bit `_Hash_bytes` of `bytes[from, to)` into `h`. */
function hashInto(bytes: Uint8Array, from: number, to: number, seedHi: number, seedLo: number, h: U64): void {
  const n = to - from;
  const aligned = from + (n & ~7);
  const d = scratch;
  d.lo = n >>> 0;
  d.hi = Math.floor(n / TWO32);
  mulMix(d);
  h.hi = (seedHi ^ d.hi) >>> 0;
  h.lo = (seedLo ^ d.lo) >>> 0;
  for (let p = from; p < aligned; p += 8) {
    d.lo = u32(bytes, p);
    d.hi = u32(bytes, p + 4);
    mulMix(d);
    shiftMix(d);
    mulMix(d);
    h.hi = (h.hi ^ d.hi) >>> 0;
    h.lo = (h.lo ^ d.lo) >>> 0;
    mulMix(h);
  }
  if ((n & 7) !== 0) {
    let lo = 0;
    let hi = 0;
    for (let k = 0; aligned + k < to; k++) {
      if (k < 4) lo += bytes[aligned + k]! * 2 ** (8 * k);
      else hi += bytes[aligned + k]! * 2 ** (8 * (k - 4));
    }
    h.hi = (h.hi ^ hi) >>> 0;
    h.lo = (h.lo ^ lo) >>> 0;
    mulMix(h);
  }
  shiftMix(h);
  mulMix(h);
  shiftMix(h);
}

/** `seed = c10::hash_combine(seed, value)` on 64-bit `size_t`. */
function combineInto(seed: U64, vHi: number, vLo: number): void {
  const shl6Hi = ((seed.hi << 6) | (seed.lo >>> 26)) >>> 0;
  const shl6Lo = (seed.lo << 6) >>> 0;
  const shr2Hi = seed.hi >>> 2;
  const shr2Lo = ((seed.lo >>> 2) | (seed.hi << 30)) >>> 0;
  const lo = vLo + 0x9e3779b9 + shl6Lo + shr2Lo;
  const hi = vHi + shl6Hi + shr2Hi + Math.floor(lo / TWO32);
  seed.hi = (seed.hi ^ hi) >>> 0;
  seed.lo = (seed.lo ^ lo) >>> 0;
}

const toBig = (x: U64): bigint => (BigInt(x.hi) << 32n) | BigInt(x.lo);
const halves = (v: bigint): U64 => ({ hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn) });

/** `c10::hash_combine(seed, value)` on 64-bit `size_t`. */
export function hashCombine(seed: bigint, value: bigint): bigint {
  const s = halves(seed);
  const v = halves(value);
  combineInto(s, v.hi, v.lo);
  return toBig(s);
}

/** libstdc++'s 64-bit `std::_Hash_bytes` (what `std::hash<std::string>` calls on Linux). */
export function hashBytes(bytes: Uint8Array, seed = 0xc70f6907n): bigint {
  const s = halves(seed);
  const h: U64 = { hi: 0, lo: 0 };
  hashInto(bytes, 0, bytes.length, s.hi, s.lo, h);
  return toBig(h);
}

/**
 * The serialization id for records written in this order: `names` without the archive folder
 * (as torch hashes them), `crcs` the CRC-32s of those with a data descriptor (non-empty ones).
 * Returns 40 decimal digits.
 */
export function serializationId(names: readonly string[], crcs: readonly number[]): string {
  const nameHash: U64 = { hi: 0, lo: 0 };
  const h: U64 = { hi: 0, lo: 0 };
  for (const name of names) {
    const bytes = encodeUtf8(name);
    hashInto(bytes, 0, bytes.length, 0, 0xc70f6907, h);
    combineInto(nameHash, h.hi, h.lo);
  }
  const crcHash: U64 = { hi: 0, lo: 0 };
  for (const crc of crcs) combineInto(crcHash, 0, crc >>> 0);
  return toBig(nameHash).toString().padStart(20, "0") + toBig(crcHash).toString().padStart(20, "0");
}

/**
 * {@link serializationId} of the records a zip writer wrote so far, straight from its table: each
 * name's bytes past the first `skip` (the archive folder and its slash), and the CRC-32 of every
 * non-empty record. No string or array per record.
 */
export function serializationIdOfTable(table: ZipEntryTable, skip: number): string {
  const nameHash: U64 = { hi: 0, lo: 0 };
  const crcHash: U64 = { hi: 0, lo: 0 };
  const h: U64 = { hi: 0, lo: 0 };
  const pool = table.namePool();
  for (let i = 0; i < table.count; i++) {
    hashInto(pool, table.nameFrom(i) + skip, table.nameTo(i), 0, 0xc70f6907, h);
    combineInto(nameHash, h.hi, h.lo);
    if (table.size(i) > 0) combineInto(crcHash, 0, table.crc(i));
  }
  return toBig(nameHash).toString().padStart(20, "0") + toBig(crcHash).toString().padStart(20, "0");
}
