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
 */
import { encodeUtf8 } from "../../bytes/text.js";

const MASK = (1n << 64n) - 1n;

/** `c10::hash_combine(seed, value)` on 64-bit `size_t`. */
export function hashCombine(seed: bigint, value: bigint): bigint {
  return (seed ^ ((value + 0x9e3779b9n + ((seed << 6n) & MASK) + (seed >> 2n)) & MASK)) & MASK;
}

const MUL = (0xc6a4a793n << 32n) + 0x5bd1e995n;
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

/** libstdc++'s 64-bit `std::_Hash_bytes` (what `std::hash<std::string>` calls on Linux). */
export function hashBytes(bytes: Uint8Array, seed = 0xc70f6907n): bigint {
  const n = bytes.length;
  const aligned = n & ~7;
  let hash = (seed ^ ((BigInt(n) * MUL) & MASK)) & MASK;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p < aligned; p += 8) {
    const data = (shiftMix((view.getBigUint64(p, true) * MUL) & MASK) * MUL) & MASK;
    hash = ((hash ^ data) * MUL) & MASK;
  }
  if ((n & 7) !== 0) {
    let data = 0n;
    for (let i = n - 1; i >= aligned; i--) data = (data << 8n) + BigInt(bytes[i]!);
    hash = ((hash ^ data) * MUL) & MASK;
  }
  hash = (shiftMix(hash) * MUL) & MASK;
  return shiftMix(hash);
}

/**
 * The serialization id for records written in this order: `names` without the archive folder
 * (as torch hashes them), `crcs` the CRC-32s of those with a data descriptor (non-empty ones).
 * Returns 40 decimal digits.
 */
export function serializationId(names: readonly string[], crcs: readonly number[]): string {
  let nameHash = 0n;
  for (const name of names) nameHash = hashCombine(nameHash, hashBytes(encodeUtf8(name)));
  let crcHash = 0n;
  for (const crc of crcs) crcHash = hashCombine(crcHash, BigInt(crc >>> 0));
  return nameHash.toString().padStart(20, "0") + crcHash.toString().padStart(20, "0");
}
