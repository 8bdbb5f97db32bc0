// A plain pickle of tensors read from a file without reading its `_load_from_bytes` payloads: the
// checkpoint equals the whole read (real torch 1.13 and 2.6 pickles, our own at every protocol,
// random checkpoints, mutated files), the payloads are read only when a storage is, and a payload
// used as anything else (a plain bytes value, fetched twice from the memo) makes it read whole.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toPickle } from "../../../../src/convert/index.js";
import { encodePickle, pyBytes, pyDict, pyList } from "../../../../src/pickle/index.js";
import { compactLargeBytes } from "../../../../src/pickle/large-bytes.js";
import { SourceWindow } from "../../../../src/bytes/source-window.js";
import type { Tensor, TorchHost, TorchValue } from "../../../../src/torch/index.js";
import { readCheckpoint, readStorageBytesSync, tensorBytes, walkTensors } from "../../../../src/torch/index.js";
import { detectContainer } from "../../../../src/torch/read/detect.js";
import { readPlainPickleInPlace } from "../../../../src/torch/read/read-checkpoint.js";
import { checkpointArb } from "../../convert/arbitraries.js";
import { torchDiff } from "../../convert/torch-equal.js";
import { f32, storage, tensor } from "../../convert/values.js";
import { fileLike } from "../../../helpers/file-like.js";

const FIXTURES = join(__dirname, "../../../../fixtures");

const state = (n: number, size: number): TorchValue =>
  pyDict<TorchHost>(Array.from({ length: n }, (_, i) => [`layer${i}.weight`, tensor(storage("float32", f32(...Array.from({ length: size }, (_, j) => i + j / 8)), { key: String(i) }), [size])] as [string, TorchValue]));

describe("plain pickles read in place", () => {
  it("torch 1.13's pickle.dump of large tensors (payloads outside frames): torch's tensors, payloads unread", () => {
    const path = join(FIXTURES, "issue16", "plain-large.p4.pkl");
    const bytes = new Uint8Array(readFileSync(path));
    const answer = JSON.parse(readFileSync(`${path}.json`, "utf8")) as Record<string, { dtype: string; shape: number[]; sha256: string } | number>;
    const { source, stats } = fileLike(bytes);
    const ckpt = readPlainPickleInPlace(source, {}, 64 * 1024, 1024);
    expect(ckpt, "the two 68,000-byte payloads are cut out").toBeDefined();
    // Two walks through 1 KiB windows and the storages' small heads: not the payloads.
    expect(stats.read).toBeLessThan(bytes.length - 2 * 60_000);
    const root = ckpt!.root as { entries: [string, TorchValue][] };
    expect(root.entries.map(([k]) => k)).toEqual(Object.keys(answer));
    for (const [key, v] of root.entries) {
      const want = answer[key]!;
      if (typeof want === "number") {
        expect(v).toBe(want);
        continue;
      }
      const t = v as Tensor;
      expect([t.dtype, t.shape]).toEqual([want.dtype, want.shape]);
      expect(createHash("sha256").update(tensorBytes(t)).digest("hex"), key).toBe(want.sha256);
    }
    expect(torchDiff(readCheckpoint(bytes).root, ckpt!.root, { tensors: "logical" })).toBeUndefined();
  });

  for (const dir of ["torch", "torch2"]) {
    it(`equals the whole read: ${dir}/plain.p3.pkl (no frames: every payload is cut)`, () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, dir, "plain.p3.pkl")));
      const inPlace = readPlainPickleInPlace(fileLike(bytes).source, {}, 64);
      expect(inPlace, "the payloads are cut out").toBeDefined();
      expect(torchDiff(readCheckpoint(bytes).root, inPlace!.root, { tensors: "logical" })).toBeUndefined();
    });
    for (const p of [4, 5]) {
      it(`${dir}/plain.p${p}.pkl: small payloads sit inside frames, so it is read whole`, () => {
        const bytes = new Uint8Array(readFileSync(join(FIXTURES, dir, `plain.p${p}.pkl`)));
        expect(readPlainPickleInPlace(fileLike(bytes).source, {}, 64)).toBeUndefined();
      });
    }
  }

  it("protocol 2 has no bytes opcodes: read whole", () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, "torch", "plain.p2.pkl")));
    expect(readPlainPickleInPlace(fileLike(bytes).source, {}, 64)).toBeUndefined();
  });

  it("reads each payload only when its storage is read", () => {
    const bytes = toPickle(state(8, 100_000)); // 8 storages of 400 kB
    const { source, stats } = fileLike(bytes);
    const ckpt = readPlainPickleInPlace(source, {}, 1024)!;
    expect(ckpt).toBeDefined();
    // Two walks over 64 KiB windows, one after each payload: well under half of the file.
    expect(stats.read).toBeLessThan(bytes.length / 2);
    const tensors = walkTensors(ckpt.root);
    expect(tensors).toHaveLength(8);
    const before = stats.read;
    const first = readStorageBytesSync(tensors[0]!.tensor.storage!);
    expect(first.length).toBe(400_000);
    expect(stats.read - before).toBeLessThan(400_000 + 4096);
    expect(torchDiff(readCheckpoint(bytes).root, ckpt.root, { tensors: "logical" })).toBeUndefined();
  });

  it("our pickles at protocols 3 to 5 and random checkpoints", () => {
    for (const protocol of [3, 4, 5] as const) {
      const bytes = toPickle(state(3, 70_000), { protocol });
      const inPlace = readPlainPickleInPlace(fileLike(bytes).source, {}, 1024);
      expect(inPlace, `protocol ${protocol}`).toBeDefined();
      expect(torchDiff(readCheckpoint(bytes).root, inPlace!.root, { tensors: "logical" })).toBeUndefined();
    }
    fc.assert(fc.property(checkpointArb({ torchFormats: true }), fc.constantFrom(3, 4, 5), (v, protocol) => {
      let bytes: Uint8Array;
      try {
        bytes = toPickle(v, { protocol: protocol as 3 | 4 | 5 });
      } catch {
        return; // what a plain pickle cannot hold (tested elsewhere)
      }
      const inPlace = readPlainPickleInPlace(fileLike(bytes).source, {}, 8);
      if (inPlace !== undefined) expect(torchDiff(readCheckpoint(bytes).root, inPlace.root, { tensors: "logical" })).toBeUndefined();
    }), { numRuns: 150 });
  });

  it("reads whole when a payload is a plain bytes value or is fetched twice from the memo", () => {
    // Protocol 3: no frames, so a 5,000-byte payload is a candidate.
    const blob = pyBytes(new Uint8Array(5000).fill(7));
    const plain = encodePickle(pyDict<TorchHost>([["blob", blob]]), { protocol: 3 });
    expect(compactLargeBytes(new SourceWindow(fileLike(plain).source), 1024)?.holes.size, "cut, then found in the value").toBe(1);
    expect(readPlainPickleInPlace(fileLike(plain).source, {}, 1024)).toBeUndefined();
    // Fetched twice from the memo: never cut.
    const twice = encodePickle(pyList<TorchHost>([blob, blob]), { protocol: 3 });
    expect(compactLargeBytes(new SourceWindow(fileLike(twice).source), 1024)).toBeUndefined();
    expect(readPlainPickleInPlace(fileLike(twice).source, {}, 1024)).toBeUndefined();
  });

  it("a mutated file reads in place only as the whole read reads it", () => {
    // Protocol 3 has no frames: every payload is cut, so mutations land around real holes.
    const good = toPickle(state(2, 300), { protocol: 3 });
    expect(readPlainPickleInPlace(fileLike(good).source, {}, 64)).toBeDefined();
    fc.assert(fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const bytes = Uint8Array.from(good, (b, i) => (i === at ? b ^ flip : b));
      // The in-place read is only tried on what the reader takes for a plain pickle.
      if (detectContainer(bytes.subarray(0, 1024), bytes.length) !== "pickle") return;
      let whole: TorchValue | undefined;
      try {
        whole = readCheckpoint(bytes).root;
        for (const { tensor: t } of walkTensors(whole)) if (t.storage !== undefined) tensorBytes(t);
      } catch {
        whole = undefined;
      }
      let inPlace: TorchValue | undefined;
      try {
        const c = readPlainPickleInPlace(fileLike(bytes).source, {}, 64);
        inPlace = c?.root;
        if (inPlace !== undefined) for (const { tensor: t } of walkTensors(inPlace)) if (t.storage !== undefined) tensorBytes(t);
      } catch {
        inPlace = undefined;
        if (whole !== undefined) throw new Error(`byte ${at} ^ ${flip}: the whole read succeeds, the tensors read in place fail`);
      }
      if (inPlace === undefined) return;
      expect(whole, `byte ${at} ^ ${flip}: read in place, but the whole read fails`).toBeDefined();
      expect(torchDiff(whole!, inPlace, { tensors: "logical" })).toBeUndefined();
    }), { numRuns: 600 });
  });
});
