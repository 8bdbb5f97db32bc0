// writeChunksPipelined: bytes land where they belong however long each write takes, the file sees
// one write at a time (front to back) while up to `inFlight` chunks wait, and a failure stops the
// producer and lets every pending write settle before the call rejects.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../../src/bytes/concat.js";
import { isTorchsaveError } from "../../../src/errors.js";
import type { PositionalFile } from "../../../src/node/write-pipelined.js";
import { MAX_IN_FLIGHT, writeChunksPipelined } from "../../../src/node/write-pipelined.js";

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An in-memory file whose writes finish after `delay(i)` ms and may write fewer bytes than asked. */
function fakeFile(options: { delay?: (call: number) => number; short?: (call: number) => number | undefined; fail?: (call: number) => unknown } = {}) {
  const bytes = new Uint8Array(1 << 16);
  const state = { size: 0, calls: 0, pending: 0, maxPending: 0, finished: 0, positions: [] as number[] };
  const file: PositionalFile = {
    async write(buffer, offset, length, position) {
      const call = state.calls++;
      state.pending++;
      state.maxPending = Math.max(state.maxPending, state.pending);
      state.positions.push(position);
      try {
        await tick(options.delay?.(call) ?? 0);
        const error = options.fail?.(call);
        if (error !== undefined) throw error;
        const n = Math.min(length, options.short?.(call) ?? length);
        bytes.set(buffer.subarray(offset, offset + n), position);
        state.size = Math.max(state.size, position + n);
        if (n === length) state.finished++;
        return { bytesWritten: n };
      } finally {
        state.pending--;
      }
    },
  };
  return { file, state, contents: () => bytes.slice(0, state.size) };
}

/** Always a fresh copy (concatBytes hands back a lone chunk itself). */
const concat = (chunks: readonly Uint8Array[]): Uint8Array => concatBytes([...chunks, new Uint8Array(0)]);

const chunkOf = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);

describe("writeChunksPipelined", () => {
  it("puts every chunk at its offset, front to back, with at most inFlight chunks waiting (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 300 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (sizes, delays, inFlight, asyncSource) => {
          const chunks = sizes.map((n, i) => chunkOf(n, i));
          const { file, state, contents } = fakeFile({ delay: (call) => delays[call % delays.length]!, short: (call) => (call % 3 === 1 ? 17 : undefined) });
          // Chunks handed over whose write has not finished, each time the producer is asked for more.
          const waiting: number[] = [];
          let handed = 0;
          function* now(): Generator<Uint8Array> {
            for (const c of chunks) {
              waiting.push(handed - state.finished);
              if (c.length > 0) handed++;
              yield c;
            }
          }
          async function* slowly(): AsyncGenerator<Uint8Array> {
            for (const c of now()) {
              await tick(0);
              yield c;
            }
          }
          const written = await writeChunksPipelined(file, asyncSource ? slowly() : now(), inFlight);
          expect(written).toBe(concat(chunks).length);
          expect(contents()).toEqual(concat(chunks));
          expect(state.pending).toBe(0);
          expect(state.maxPending).toBeLessThanOrEqual(1);
          expect(Math.max(0, ...waiting)).toBeLessThan(inFlight);
          const sorted = [...state.positions].sort((a, b) => a - b);
          expect(state.positions).toEqual(sorted);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps up to inFlight chunks pending while it takes the next chunk", async () => {
    const { file, state } = fakeFile({ delay: () => 20 });
    const asked: number[] = [];
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 8; i++) {
        asked.push(i - state.finished);
        yield chunkOf(10, i);
      }
    }
    await writeChunksPipelined(file, chunks(), 3);
    // The producer runs while earlier writes are still pending (that overlap is the point) ...
    expect(Math.max(...asked)).toBe(2);
    // ... and the file sees them one at a time.
    expect(state.maxPending).toBe(1);
  });

  it("with inFlight 1 asks for the next chunk only once the previous write finished", async () => {
    const { file, state, contents } = fakeFile({ delay: () => 5, short: () => 3 });
    const shared = new Uint8Array(10);
    const asked: number[] = [];
    function* reusing(): Generator<Uint8Array> {
      for (let i = 0; i < 4; i++) {
        asked.push(state.pending);
        shared.fill(i); // a producer that refills one buffer is safe at inFlight 1
        yield shared;
      }
    }
    await writeChunksPipelined(file, reusing(), 1);
    expect(asked).toEqual([0, 0, 0, 0]);
    expect(state.calls).toBe(16); // short writes of 3 bytes: the loop finishes each chunk
    expect(state.maxPending).toBe(1);
    expect(contents()).toEqual(concat([0, 1, 2, 3].map((i) => new Uint8Array(10).fill(i))));
  });

  it("rejects with a failed write's error once the other writes settled, and closes the producer", async () => {
    const boom = new Error("EIO: disk on fire");
    const { file, state } = fakeFile({ delay: (call) => (call === 2 ? 1 : 15), fail: (call) => (call === 2 ? boom : undefined) });
    let produced = 0;
    let closed = false;
    function* chunks(): Generator<Uint8Array> {
      try {
        for (let i = 0; i < 100; i++) {
          produced++;
          yield chunkOf(8, i);
        }
      } finally {
        closed = true;
      }
    }
    await expect(writeChunksPipelined(file, chunks(), 4)).rejects.toBe(boom);
    expect(state.pending).toBe(0);
    expect(closed).toBe(true);
    expect(produced).toBeLessThan(10);
  });

  it("rejects with the producer's error once the pending writes settled", async () => {
    const boom = new Error("source went away");
    const { file, state } = fakeFile({ delay: () => 20 });
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield chunkOf(8, 0);
      yield chunkOf(8, 1);
      throw boom;
    }
    await expect(writeChunksPipelined(file, chunks(), 4)).rejects.toBe(boom);
    expect(state.calls).toBe(2);
    expect(state.pending).toBe(0);
  });

  it("fails instead of spinning on a write that makes no progress", async () => {
    const { file } = fakeFile({ short: () => 0 });
    await expect(writeChunksPipelined(file, [chunkOf(4, 0)], 2)).rejects.toThrow(/no progress/);
  });

  it("skips empty chunks and accepts an empty iterable", async () => {
    const { file, state } = fakeFile();
    expect(await writeChunksPipelined(file, [], 2)).toBe(0);
    expect(await writeChunksPipelined(file, [new Uint8Array(0), chunkOf(3, 1), new Uint8Array(0)], 2)).toBe(3);
    expect(state.calls).toBe(1);
  });

  it("refuses a bad inFlight with invalid-argument before writing", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, MAX_IN_FLIGHT + 1, "2" as unknown as number]) {
      const { file, state } = fakeFile();
      const error = await writeChunksPipelined(file, [chunkOf(3, 0)], bad).catch((e: unknown) => e);
      expect(isTorchsaveError(error) && error.code === "invalid-argument", String(bad)).toBe(true);
      expect(state.calls).toBe(0);
    }
  });
});
