// Shared by the CRC-as-read tests of single-file and multi-file outputs: a checkpoint with small
// storages, a 256 KiB one and a 4 MiB one (over lossless JSON's 3 MiB read slice), and a source
// that counts how often each byte was read.
import type { ByteSource } from "../../src/bytes/source.js";
import { stateDict, tensor, writeCheckpoint } from "../../src/torch/index.js";

export function mixedStorageCheckpoint(): Uint8Array {
  const fill = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => (i * k) % 1000);
  return writeCheckpoint(stateDict({
    a: tensor(fill(12, 1)), b: tensor(fill(1000, 3)), big: tensor(fill(64 * 1024, 7)), huge: tensor(fill(1 << 20, 11)), c: tensor(fill(5, 2)),
  }));
}

/** A source over `bytes` that only reads synchronously and counts, per byte, how often it was read. */
export function countingSource(bytes: Uint8Array, name: string): { source: ByteSource; reads: Uint8Array } {
  const reads = new Uint8Array(bytes.length);
  const readSync = (offset: number, length: number): Uint8Array => {
    for (let i = offset; i < offset + length; i++) reads[i]!++;
    return bytes.slice(offset, offset + length);
  };
  return { source: { size: bytes.length, name, readSync, read: async (o: number, n: number) => readSync(o, n) }, reads };
}
