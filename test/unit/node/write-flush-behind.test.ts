// flushBehind: background fdatasync every so many bytes, never two at once, and a failed flush
// fails the write that follows and finish().
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FlushableFile } from "../../../src/node/write-flush-behind.js";
import { flushBehind } from "../../../src/node/write-flush-behind.js";
import { writeChunksPipelined } from "../../../src/node/write-pipelined.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-flush-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fake file recording when flushes start and end, relative to the bytes written. */
function fakeFile(options: { flushMs?: number; failFlush?: number } = {}) {
  const log = { written: 0, flushes: [] as number[], running: 0, maxRunning: 0 };
  const file: FlushableFile = {
    async write(_buffer, _offset, length) {
      await tick(1);
      log.written += length;
      return { bytesWritten: length };
    },
    async datasync() {
      const n = log.flushes.push(log.written);
      log.running++;
      log.maxRunning = Math.max(log.maxRunning, log.running);
      try {
        await tick(options.flushMs ?? 0);
        if (n === options.failFlush) throw new Error("EIO: flush failed");
      } finally {
        log.running--;
      }
    },
  };
  return { file, log };
}

const chunks = (count: number, size: number): Uint8Array[] => Array.from({ length: count }, (_, i) => new Uint8Array(size).fill(i));

describe("flushBehind", () => {
  it("starts a flush each time `every` more bytes are written", async () => {
    const { file, log } = fakeFile();
    const behind = flushBehind(file, 1000);
    await writeChunksPipelined(behind.file, chunks(10, 300), 4);
    await behind.finish();
    // 300-byte writes: the counts cross 1,000 at 1,200, then 2,400 (≥ 1,200 + 1,000) ...
    expect(log.flushes).toEqual([1200, 2400]);
    expect(log.running).toBe(0);
  });

  it("never runs two flushes at once: a slow disk skips thresholds instead of queueing flushes", async () => {
    const { file, log } = fakeFile({ flushMs: 30 });
    const behind = flushBehind(file, 100);
    await writeChunksPipelined(behind.file, chunks(40, 100), 4);
    await behind.finish();
    expect(log.maxRunning).toBe(1);
    expect(log.flushes.length).toBeGreaterThan(0);
    expect(log.flushes.length).toBeLessThan(40);
    expect(log.running).toBe(0);
  });

  it("fails the next write and finish() when a background flush fails", async () => {
    const { file, log } = fakeFile({ failFlush: 1 });
    const behind = flushBehind(file, 100);
    await expect(writeChunksPipelined(behind.file, chunks(20, 100), 1)).rejects.toThrow("EIO: flush failed");
    expect(log.written).toBeLessThan(2000);
    await expect(behind.finish()).rejects.toThrow("EIO: flush failed");
  });

  it("writes the same bytes to a real file while flushing behind", async () => {
    const path = join(dir, "real.bin");
    const handle = await open(path, "w");
    let flushes = 0;
    const counted: FlushableFile = {
      write: (b, o, l, p) => handle.write(b, o, l, p),
      datasync: () => {
        flushes++;
        return handle.datasync();
      },
    };
    const behind = flushBehind(counted, 64 * 1024);
    const data = chunks(32, 10_000);
    await writeChunksPipelined(behind.file, data, 4);
    await behind.finish();
    await handle.close();
    expect(flushes).toBeGreaterThan(0);
    expect(Buffer.compare(readFileSync(path), Buffer.concat(data))).toBe(0);
  });
});
