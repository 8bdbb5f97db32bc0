// gzip input inflated by node:zlib as it is read: in memory when small, else into a temp file read
// in place. The core's rules (members one after another, every trailer checked, the output capped)
// and its messages; the temp file never stays: not on success, not on error, not on SIGTERM/SIGINT.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gunzip } from "../../../src/convert/gzip.js";
import { CheckpointError } from "../../../src/errors.js";
import { openFileSourceInflating, openGunzippedFile, type GunzipFileOptions } from "../../../src/node/gunzip-file.js";
import { bundleChildScript } from "../../helpers/child-script.js";

const root = mkdtempSync(join(tmpdir(), "torchsave-gunzip-file-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh folder holding `bytes` as `in.gz`, and an empty folder for the temp file. */
function place(bytes: Uint8Array): { path: string; temps: string } {
  const dir = join(root, `case-${n++}`);
  const temps = join(dir, "temps");
  mkdirSync(temps, { recursive: true });
  const path = join(dir, "in.gz");
  writeFileSync(path, bytes);
  return { path, temps };
}

/** Some bytes that compress, but not to nothing. */
function sample(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 24) & 0x0f;
  }
  return out;
}

/** Inflates through the file path, returns the bytes and where they were held; checks no temp file stays. */
async function inflate(bytes: Uint8Array, options: Partial<GunzipFileOptions> = {}): Promise<{ data: Uint8Array; where: string }> {
  const { path, temps } = place(bytes);
  const opened = await openGunzippedFile(path, { maxBytes: 2 ** 30, tempDir: temps, ...options }).finally(() => expect(readdirSync(temps)).toEqual([]));
  try {
    const { source } = opened;
    expect(source.name).toBe(path);
    return { data: source.size === 0 ? new Uint8Array(0) : source.readSync!(0, source.size), where: opened.where };
  } finally {
    opened.source.close();
    expect(readdirSync(temps)).toEqual([]);
  }
}

async function failure(bytes: Uint8Array, options: Partial<GunzipFileOptions> = {}): Promise<CheckpointError> {
  const { path, temps } = place(bytes);
  const e = await openGunzippedFile(path, { maxBytes: 2 ** 30, tempDir: temps, ...options }).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(CheckpointError);
  expect((e as CheckpointError).file).toBe(path);
  expect(readdirSync(temps)).toEqual([]);
  return e as CheckpointError;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

describe("openGunzippedFile", () => {
  const data = sample(3 * 2 ** 20 + 17);
  const gz = new Uint8Array(gzipSync(data));

  it("holds a small output in memory and a larger one in a temp file read in place, removed once open", async () => {
    const small = await inflate(gz);
    expect(small.where).toBe("memory");
    expect(same(small.data, data)).toBe(true);
    // One zlib chunk in memory: a plain Uint8Array (the core never sees a Buffer).
    const { path, temps } = place(new Uint8Array(gzipSync(data.subarray(0, 1000))));
    const one = await openGunzippedFile(path, { maxBytes: 2 ** 30, tempDir: temps });
    expect(one.source.bytes?.length).toBe(1000);
    expect(Buffer.isBuffer(one.source.bytes)).toBe(false);
    one.source.close();
    const large = await inflate(gz, { wholeUpTo: 2 ** 20 });
    expect(large.where).toBe("temp-file");
    expect(same(large.data, data)).toBe(true);
  });

  it("stops at maxBytes with limit-exceeded, in memory and past the spill", async () => {
    for (const wholeUpTo of [2 ** 30, 4096]) {
      const e = await failure(gz, { maxBytes: 2 ** 20, wholeUpTo });
      expect(e.code).toBe("limit-exceeded");
      expect(e.message).toMatch(/inflates past 1048576 bytes/);
    }
  });

  it("refuses a trailer whose CRC-32 or size disagrees (the core's message and offset) unless verifyCrc is false", async () => {
    const badCrc = gz.slice();
    badCrc[gz.length - 8]! ^= 1;
    const e = await failure(badCrc, { wholeUpTo: 4096 });
    expect(e.code).toBe("crc-mismatch");
    expect(e.offset).toBe(gz.length - 8);
    expect(e.message).toMatch(/the gzip stream is damaged: its 3145745 inflated bytes have CRC-32 0x[0-9a-f]{8}, its trailer says 0x[0-9a-f]{8}/);
    expect(same((await inflate(badCrc, { verifyCrc: false, wholeUpTo: 4096 })).data, data)).toBe(true);
    const badSize = gz.slice();
    badSize[gz.length - 1]! ^= 1;
    const s = await failure(badSize);
    expect([s.code, s.offset]).toEqual(["crc-mismatch", gz.length - 4]);
    expect(s.message).toMatch(/inflated to 3145745 bytes, its trailer says/);
  });

  it("says truncated for a stream cut in its data or its trailer, and in its header", async () => {
    for (const wholeUpTo of [2 ** 30, 4096]) {
      const e = await failure(gz.subarray(0, gz.length >> 1), { wholeUpTo });
      expect(e.code).toBe("truncated");
      expect(e.message).toMatch(/cut short/);
    }
    const t = await failure(gz.subarray(0, gz.length - 3));
    expect([t.code, t.offset]).toEqual(["truncated", gz.length - 8]);
    // Without the check a cut trailer costs nothing: the data is whole (as the core reads it).
    expect(same((await inflate(gz.subarray(0, gz.length - 3), { verifyCrc: false })).data, data)).toBe(true);
    expect((await failure(gz.subarray(0, 6))).code).toBe("truncated");
  });

  it("reads members one after another, across the spill, and names the damaged member", async () => {
    const a = sample(70_000, 2), b = sample(90_000, 3);
    const two = Buffer.concat([gzipSync(a), gzipSync(b)]);
    for (const wholeUpTo of [2 ** 30, 50_000, 100_000]) {
      expect(same((await inflate(two, { wholeUpTo })).data, Buffer.concat([a, b]))).toBe(true);
    }
    const bad = new Uint8Array(two);
    bad[two.length - 8]! ^= 1;
    const e = await failure(bad);
    expect(e.code).toBe("crc-mismatch");
    expect(e.message).toContain(`the gzip member at byte ${gzipSync(a).length} is damaged`);
  });

  it("refuses bytes after a member that start no member, zeros included (as the core does)", async () => {
    for (const tail of [Buffer.from("xyzzy"), Buffer.alloc(10)]) {
      const bytes = Buffer.concat([gz, tail]);
      const e = await failure(bytes, { wholeUpTo: 4096 });
      expect([e.code, e.offset]).toEqual(["bad-archive", gz.length]);
      expect(() => gunzip(bytes)).toThrow(CheckpointError);
    }
  });

  it("skips the optional header fields (extra, name as Python writes it, comment, header CRC)", async () => {
    const plain = new Uint8Array(gzipSync(data));
    const extra = [0x04, 0x00, 1, 2, 3, 4];
    const header = [0x1f, 0x8b, 0x08, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 0xff, ...extra, ...Buffer.from("model.pt\0"), ...Buffer.from("a comment\0"), 0xab, 0xcd];
    const bytes = Buffer.concat([Buffer.from(header), plain.subarray(10)]);
    expect(same((await inflate(bytes, { wholeUpTo: 4096 })).data, data)).toBe(true);
    expect(same(gunzip(bytes), data)).toBe(true);
  });

  it("inflates to what the core's gunzip inflates to, or fails where it fails (random members, cuts, flips)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.integer({ min: 1, max: 5000 }),
        async (members, flip, wholeUpTo) => {
          const bytes = new Uint8Array(Buffer.concat(members.map((m) => gzipSync(m))));
          // A flip in a member's deflate data or trailer (never its header: those rules differ in detail).
          if (flip !== undefined) bytes[10 + (flip % (bytes.length - 10))]! ^= 0x10;
          let want: Uint8Array | undefined;
          try {
            want = gunzip(bytes);
          } catch {
            want = undefined;
          }
          const { path, temps } = place(bytes);
          const got = await openGunzippedFile(path, { maxBytes: 2 ** 30, tempDir: temps, wholeUpTo }).then(
            (o) => {
              const d = o.source.size === 0 ? new Uint8Array(0) : o.source.readSync!(0, o.source.size);
              o.source.close();
              return d;
            },
            (e: unknown) => {
              expect(e).toBeInstanceOf(CheckpointError);
              return undefined;
            },
          );
          expect(readdirSync(temps)).toEqual([]);
          if (flip === undefined) expect(got !== undefined && same(got, Buffer.concat(members))).toBe(true);
          // Both accept the same streams (a flip that leaves a valid stream with a matching CRC is both's success).
          if (want !== undefined && got !== undefined) expect(same(got, want)).toBe(true);
          else if (flip !== undefined && want !== undefined) expect(got).toBeDefined();
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it("names the temp folder when the temp file cannot be made there", async () => {
    const { path, temps } = place(gz);
    const missing = join(temps, "no-such-folder");
    const e = await openGunzippedFile(path, { maxBytes: 2 ** 30, tempDir: missing, wholeUpTo: 4096 }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).code).toBe("io");
    expect((e as CheckpointError).file).toBe(missing);
    expect((e as CheckpointError).message).toMatch(/cannot make a temp file in this folder to inflate in\.gz into: no such file/);
  });

  it("openFileSourceInflating: inflates gzip (by content) and opens anything else as it is", async () => {
    const { path, temps } = place(gz);
    const g = await openFileSourceInflating(path, { maxBytes: 2 ** 30, tempDir: temps, wholeUpTo: 4096 });
    expect(g.gzip).toBe(true);
    expect(same(g.source.readSync!(0, g.source.size), data)).toBe(true);
    g.source.close();
    const plainPath = join(root, "plain.bin");
    writeFileSync(plainPath, data);
    const p = await openFileSourceInflating(plainPath, { maxBytes: 2 ** 30 });
    expect([p.gzip, p.source.size]).toEqual([false, data.length]);
    p.source.close();
    expect(readdirSync(temps)).toEqual([]);
  });
});

describe("the temp file on signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} while inflating removes it and ends the process by that signal`, async () => {
      const dir = join(root, `signal-${signal}`);
      const temps = join(dir, "temps");
      mkdirSync(temps, { recursive: true });
      const input = join(dir, "in.gz");
      writeFileSync(input, gzipSync(sample(8 * 2 ** 20)));
      const script = join(dir, "child.mjs");
      // Each write to the temp file is slowed (5 ms) so the signal lands mid-inflate.
      bundleChildScript(`
        import fs from "node:fs";
        import { syncBuiltinESMExports } from "node:module";
        import { openGunzippedFile } from "./src/node/gunzip-file.ts";
        const write = fs.writeSync;
        let writes = 0;
        fs.writeSync = (...args) => {
          if (++writes === 2) console.log("started");
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          return write(...args);
        };
        syncBuiltinESMExports();
        await openGunzippedFile(process.argv[2], { maxBytes: 2 ** 30, wholeUpTo: 0, tempDir: process.argv[3] });
        console.log("finished");
      `, script);
      const proc = spawn(process.execPath, [script, input, temps], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      proc.stdout.on("data", (d: Buffer) => (output += String(d)));
      proc.stderr.on("data", (d: Buffer) => (output += String(d)));
      const exit = new Promise<NodeJS.Signals | null>((r) => proc.on("exit", (_code, sig) => r(sig)));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !output.includes("started")) await new Promise((r) => setTimeout(r, 10));
      expect(readdirSync(temps), output).toHaveLength(1);
      proc.kill(signal);
      expect(await exit).toBe(signal);
      expect(output).not.toContain("finished");
      expect(readdirSync(temps)).toEqual([]);
    }, 60_000);
  }
});
