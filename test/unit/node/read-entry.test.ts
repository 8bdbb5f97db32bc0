// torchsave/node/read (src/node/read-index.ts): the Node reader on its own. It must export nothing
// torchsave/node lacks, open files lazily with the same results as an in-memory read, close its
// file on every path, and its fflate stand-in (src/node/lazy-fflate.ts) must behave as fflate.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fflate from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import * as nodeEntry from "../../../src/node/index.js";
import * as lazyFflate from "../../../src/node/lazy-fflate.js";
import { nodeFs, nodeFsPromises } from "../../../src/node/read-builtins.js";
import * as readEntry from "../../../src/node/read-index.js";
import { REPO } from "../../helpers/corpus.js";
import type { Storage, TensorEntry } from "../../../src/node/read-index.js";

const { openCheckpointFile, readCheckpoint, readCheckpointFileSync, readCheckpointFile, walkTensors, tensorBytes, isTorchsaveError, CheckpointError } = readEntry;
const TORCH = join(REPO, "fixtures/torch");
const dir = mkdtempSync(join(tmpdir(), "torchsave-read-entry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Open descriptors of this process (Linux), to prove a failed open leaves none behind. */
const openFds = (): number => readdirSync("/proc/self/fd").length;

/** The distinct storages of a checkpoint's tensors. */
const storagesOf = (entries: readonly TensorEntry[]): Storage[] => [...new Set(entries.map((e) => e.tensor.storage).filter((s) => s !== undefined))];

describe("torchsave/node/read exports", () => {
  it("are all exported by torchsave/node too, as the very same values", () => {
    const names = Object.keys(readEntry);
    expect(names).toEqual(expect.arrayContaining(["openCheckpointFile", "walkTensors", "tensorBytes", "isTorchsaveError", "CheckpointError"]));
    for (const name of names) expect((nodeEntry as Record<string, unknown>)[name], name).toBe((readEntry as Record<string, unknown>)[name]);
  });

  it("leave the writing half to torchsave/node", () => {
    for (const name of ["writeCheckpointFile", "writeCheckpointFileSync", "writeFileAtomic", "writeFileAtomicSync", "nodeCrc32", "archiveNameFor"]) {
      expect(readEntry, name).not.toHaveProperty(name);
      expect(nodeEntry, name).toHaveProperty(name);
    }
  });
});

describe("openCheckpointFile", () => {
  const files = ["full-checkpoint.pt", "deflated.pt", "big-endian.pt", "dtypes.pt", "full-checkpoint.legacy.pt", "state-dict.pt.gz", "tar-format.tar"];

  it.each(files)("%s: every tensor's bytes equal an in-memory read", (name) => {
    const path = join(TORCH, name);
    const whole = readCheckpoint(new Uint8Array(readFileSync(path)));
    const expected = walkTensors(whole.root).map(({ path: p, tensor }) => [p, tensorBytes(tensor)]);
    expect(expected.length).toBeGreaterThan(0);
    const { checkpoint, close } = openCheckpointFile(path);
    try {
      expect(checkpoint.layout).toBe(whole.layout);
      expect(walkTensors(checkpoint.root).map(({ path: p, tensor }) => [p, tensorBytes(tensor)])).toEqual(expected);
    } finally {
      close();
    }
  });

  it("reads a zip checkpoint's storages only when asked, each on its own", () => {
    const { checkpoint, close } = openCheckpointFile(join(TORCH, "full-checkpoint.pt"));
    try {
      const entries = walkTensors(checkpoint.root);
      const tensors = entries.map((e) => e.tensor);
      const storages = storagesOf(entries);
      expect(storages.length).toBeGreaterThan(1);
      expect(storages.every((s) => s.data === undefined)).toBe(true);
      tensorBytes(tensors[0]!);
      expect(storages.filter((s) => s.data !== undefined)).toEqual([tensors[0]!.storage]);
    } finally {
      close();
    }
  });

  it("gives each storage read from the file its own buffer (not a view into a shared pool)", () => {
    const { checkpoint, close } = openCheckpointFile(join(TORCH, "full-checkpoint.pt"));
    try {
      const storages = storagesOf(walkTensors(checkpoint.root));
      expect(storages.length).toBeGreaterThan(1);
      for (const s of storages) {
        const data = readEntry.storageBytesSync(s);
        expect(data.buffer.byteLength).toBe(data.byteLength);
        expect(Buffer.isBuffer(data)).toBe(false);
      }
    } finally {
      close();
    }
  });

  it("after close(), storages already read keep their bytes; another read fails with io", () => {
    const { checkpoint, close } = openCheckpointFile(join(TORCH, "full-checkpoint.pt"));
    const tensors = walkTensors(checkpoint.root).map((e) => e.tensor);
    const first = tensorBytes(tensors[0]!);
    const other = tensors.find((t) => t.storage !== tensors[0]!.storage)!;
    close();
    close(); // twice is harmless
    expect(tensorBytes(tensors[0]!)).toEqual(first);
    let caught: unknown;
    try {
      tensorBytes(other);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CheckpointError);
    expect(caught).toMatchObject({ code: "io" });
  });

  it("a missing file is an io error naming it", () => {
    const path = join(dir, "nope.pt");
    expect(() => openCheckpointFile(path)).toThrow(expect.objectContaining({ code: "io", file: path }));
  });

  it("closes the file when the content is not a checkpoint", () => {
    const path = join(dir, "junk.pt");
    writeFileSync(path, new Uint8Array(4096).fill(0x41));
    const before = existsSync("/proc/self/fd") ? openFds() : 0;
    let caught: unknown;
    try {
      openCheckpointFile(path);
    } catch (e) {
      caught = e;
    }
    expect(isTorchsaveError(caught)).toBe(true);
    expect((caught as { file?: string }).file).toBe(path);
    if (existsSync("/proc/self/fd")) expect(openFds()).toBe(before);
  });
});

describe("readCheckpointFileSync / readCheckpointFile", () => {
  it("read the whole file with the same result as readCheckpoint", async () => {
    const path = join(TORCH, "deflated.pt");
    const expected = walkTensors(readCheckpoint(new Uint8Array(readFileSync(path))).root).map((e) => tensorBytes(e.tensor));
    expect(walkTensors(readCheckpointFileSync(path).root).map((e) => tensorBytes(e.tensor))).toEqual(expected);
    expect(walkTensors((await readCheckpointFile(path)).root).map((e) => tensorBytes(e.tensor))).toEqual(expected);
  });

  it("hand the core plain Uint8Arrays, not Buffers", () => {
    const c = readCheckpointFileSync(join(TORCH, "full-checkpoint.pt"));
    const bytes = tensorBytes(walkTensors(c.root)[0]!.tensor);
    expect(Buffer.isBuffer(bytes)).toBe(false);
  });

  it("fail with io for a missing file", async () => {
    const path = join(dir, "missing.pt");
    expect(() => readCheckpointFileSync(path)).toThrow(expect.objectContaining({ code: "io", file: path }));
    await expect(readCheckpointFile(path)).rejects.toMatchObject({ code: "io", file: path });
  });
});

describe("lazy-fflate (fflate loaded on first use)", () => {
  const data = new TextEncoder().encode("torchsave ".repeat(5000));

  it("inflateSync inflates as fflate does, into a given buffer too", () => {
    const raw = fflate.deflateSync(data);
    expect(lazyFflate.inflateSync(raw)).toEqual(data);
    const out = new Uint8Array(data.length);
    expect(lazyFflate.inflateSync(raw, { out })).toEqual(fflate.inflateSync(raw, { out: new Uint8Array(data.length) }));
    expect(out).toEqual(data);
    expect(() => lazyFflate.inflateSync(raw.subarray(0, 10))).toThrow(/unexpected EOF/);
  });

  // The stand-in loads fflate with require(), so its instances are those of fflate's CommonJS build.
  const fflateCjs = createRequire(import.meta.url)("fflate") as typeof fflate;

  it("new Gunzip / new Inflate give fflate's own streams", () => {
    const chunks: Uint8Array[] = [];
    const gunzip = new lazyFflate.Gunzip((chunk) => chunks.push(chunk));
    expect(gunzip).toBeInstanceOf(fflateCjs.Gunzip);
    gunzip.push(fflate.gzipSync(data), true);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(data));

    const parts: Uint8Array[] = [];
    const inflate = new lazyFflate.Inflate((chunk) => parts.push(chunk));
    expect(inflate).toBeInstanceOf(fflateCjs.Inflate);
    inflate.push(fflate.deflateSync(data), true);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
  });
});

describe("read-builtins (fs without an ESM import of it)", () => {
  const require = createRequire(import.meta.url);

  it("gives Node's own fs and fs/promises", () => {
    expect(nodeFs()).toBe(require("node:fs"));
    expect(nodeFsPromises()).toBe(require("node:fs/promises"));
  });

  it("falls back to require() where process.getBuiltinModule is missing (Node < 20.16)", () => {
    const saved = Object.getOwnPropertyDescriptor(process, "getBuiltinModule");
    Object.defineProperty(process, "getBuiltinModule", { value: undefined, configurable: true, writable: true });
    try {
      expect(nodeFs()).toBe(require("node:fs"));
      expect(nodeFsPromises()).toBe(require("node:fs/promises"));
      const { checkpoint, close } = openCheckpointFile(join(TORCH, "full-checkpoint.pt"));
      expect(walkTensors(checkpoint.root).length).toBeGreaterThan(0);
      close();
    } finally {
      if (saved === undefined) delete (process as { getBuiltinModule?: unknown }).getBuiltinModule;
      else Object.defineProperty(process, "getBuiltinModule", saved);
    }
  });
});
