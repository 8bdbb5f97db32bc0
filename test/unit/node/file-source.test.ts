// openFileSource: synchronous and asynchronous reads over one descriptor. With `threadPool`, large
// asynchronous reads run on libuv's thread pool (fs.read), small ones come from the read-ahead
// window; without it `read` is the blocking read, as before. Any mix of reads returns the file's
// bytes; close() waits for reads under way; errors reject, never throw.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { openFileSource } from "../../../src/node/file-source.js";

// The module object the source takes its functions from (read-builtins: getBuiltinModule/require).
const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
const dir = mkdtempSync(join(tmpdir(), "torchsave-file-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const bytes = Uint8Array.from({ length: 3 * 1024 * 1024 + 77 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
const file = join(dir, "data.bin");
writeFileSync(file, bytes);

describe("openFileSource asynchronous reads", () => {
  it("any mix of sync and concurrent async reads, small and large, returns exactly the file's bytes", async () => {
    const source = openFileSource(file, { threadPool: true });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(bytes.length), fc.oneof(fc.nat(100), fc.nat(70_000), fc.nat(2_000_000)), fc.boolean()), { maxLength: 30 }), async (reads) => {
          const got = await Promise.all(reads.map(([offset, n, sync]) => {
            const length = Math.min(n, bytes.length - offset);
            return sync ? Promise.resolve(source.readSync!(offset, length)) : source.read(offset, length);
          }));
          reads.forEach(([offset, n], i) => {
            const length = Math.min(n, bytes.length - offset);
            expect(got[i]!.length).toBe(length);
            expect(Buffer.compare(got[i]!, bytes.subarray(offset, offset + length))).toBe(0);
          });
          for (const g of got) g.fill(0); // each returned array is the caller's own
        }),
        { numRuns: 40 },
      );
    } finally {
      source.close();
    }
  });

  it("a large read runs on the thread pool (fs.read), not as a blocking read; a small one is served from the window", async () => {
    const read = vi.spyOn(fs, "read");
    const readSync = vi.spyOn(fs, "readSync");
    const source = openFileSource(file, { threadPool: true });
    try {
      const pending = source.read(100_000, 1_000_000);
      expect(readSync).not.toHaveBeenCalled();
      expect(read).toHaveBeenCalledTimes(1);
      expect(Buffer.compare(await pending, bytes.subarray(100_000, 1_100_000))).toBe(0);
      const small = await source.read(5, 1000);
      expect(Buffer.compare(small, bytes.subarray(5, 1005))).toBe(0);
      expect(read).toHaveBeenCalledTimes(1);
      expect(readSync).toHaveBeenCalledTimes(1); // one window read
      await source.read(600, 2000); // within the window: no read at all
      expect(readSync).toHaveBeenCalledTimes(1);
    } finally {
      source.close();
    }
  });

  it("without threadPool, read is the blocking read (readSync), as it always was", async () => {
    const read = vi.spyOn(fs, "read");
    const readSync = vi.spyOn(fs, "readSync");
    const source = openFileSource(file);
    try {
      expect(Buffer.compare(await source.read(100_000, 1_000_000), bytes.subarray(100_000, 1_100_000))).toBe(0);
      expect(read).not.toHaveBeenCalled();
      expect(readSync).toHaveBeenCalledTimes(1);
      await expect(source.read(bytes.length - 1, 2)).rejects.toMatchObject({ file });
    } finally {
      source.close();
    }
    await expect(source.read(0, 10)).rejects.toMatchObject({ code: "io", file });
  });

  it("close() while reads are under way: they finish with the right bytes, then the descriptor is released", async () => {
    const closeSync = vi.spyOn(fs, "closeSync");
    const source = openFileSource(file, { threadPool: true });
    const a = source.read(0, 2_000_000);
    const b = source.read(1_000_000, 1_500_000);
    source.close();
    expect(closeSync).not.toHaveBeenCalled();
    await expect(source.read(0, 10)).rejects.toMatchObject({ code: "io", file });
    expect(() => source.readSync!(0, 10)).toThrow(/closed/);
    const [x, y] = await Promise.all([a, b]);
    expect(Buffer.compare(x, bytes.subarray(0, 2_000_000))).toBe(0);
    expect(Buffer.compare(y, bytes.subarray(1_000_000, 2_500_000))).toBe(0);
    expect(closeSync).toHaveBeenCalledTimes(1);
    source.close();
    expect(closeSync).toHaveBeenCalledTimes(1);
  });

  it("errors reject with the file and offset: a range past the end, a file that shrank while open", async () => {
    const shrinking = join(dir, "shrinking.bin");
    writeFileSync(shrinking, bytes);
    const source = openFileSource(shrinking, { threadPool: true });
    try {
      const past = source.read(bytes.length - 10, 100);
      await expect(past).rejects.toMatchObject({ file: shrinking });
      truncateSync(shrinking, 1_000_000);
      await expect(source.read(500_000, 1_000_000)).rejects.toMatchObject({ code: "truncated", file: shrinking, offset: 1_000_000 });
    } finally {
      source.close();
    }
  });
});
