// safetensors: header validation rule by rule (the reference implementation's checks), the real
// files of the corpus, what the writer lays out (alignment, dtype codes, F4 shapes), the shared and
// raw-dtype policies, and the skeleton that gives a nested checkpoint back.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS } from "../../helpers/corpus.js";
import { describe, expect, it } from "vitest";
import { fromSafetensors, planSafetensors, toSafetensors, SAFETENSORS_SKELETON_KEY } from "../../../src/convert/index.js";
import { encodeUtf8 } from "../../../src/bytes/text.js";
import { ORDERED_DICT, pyDict, pyFloat, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { DTYPES, tensorBytes } from "../../../src/torch/index.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

/** A safetensors file from a header object and the buffer, padded as given. */
function file(header: unknown, buffer: Uint8Array = new Uint8Array(0), pad = 0): Uint8Array {
  const json = encodeUtf8(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function headerOf(st: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> } {
  const n = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + n))) as never;
}

describe("safetensors header validation", () => {
  const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };

  it("reads a minimal file", () => {
    const v = fromSafetensors(file(ok, f32(1, 2)));
    expect(v.header.entries.map((e) => e.name)).toEqual(["a"]);
    const t = (v.root as { entries: [string, Tensor][] }).entries[0]![1];
    expect(t.dtype).toBe("float32");
    expect([...tensorBytes(t)]).toEqual([...f32(1, 2)]);
  });

  it("enforces each rule of the format", () => {
    const rule = (input: Uint8Array) => thrown(() => fromSafetensors(input));
    expect(rule(bytes(1, 2, 3)).code).toBe("truncated");
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 100_000_001n, true);
    expect(rule(huge).code).toBe("limit-exceeded");
    const short = file(ok, f32(1, 2)).subarray(0, 20);
    expect(rule(short).code).toBe("truncated");
    expect(rule(file([1])).message).toMatch(/start with '\{'/);
    const notJson = file(ok, f32(1, 2));
    notJson[9] = 0x7d;
    expect(rule(notJson).message).toMatch(/not JSON/);
    expect(rule(file({ a: { dtype: "F33", shape: [2], data_offsets: [0, 8] } }, f32(1, 2))).message).toMatch(/unknown dtype/);
    expect(rule(file({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, f32(1, 2))).message).toMatch(/shape/);
    expect(rule(file({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(1, 2))).message).toMatch(/does not make 8 bytes/);
    expect(rule(file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 16] } }, f32(1, 2))).message).toMatch(/outside/);
    expect(rule(file({ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, f32(1, 2))).message).toMatch(/outside/);
    expect(rule(file(ok, f32(1, 2, 3))).message).toMatch(/4 bytes after the last tensor/);
    expect(rule(file({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(1, 2))).message).toMatch(/belong to no tensor/);
    expect(rule(file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(1, 2))).message).toMatch(/overlaps/);
    const dup = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const dupFile = new Uint8Array([...new Uint8Array(new BigUint64Array([BigInt(dup.length)]).buffer), ...encodeUtf8(dup), ...f32(1, 2)]);
    expect(rule(dupFile).message).toMatch(/names "a" twice/);
    expect(rule(file({ __metadata__: { k: 1 }, ...ok }, f32(1, 2))).message).toMatch(/__metadata__\.k must be a string/);
    expect(rule(file({ a: { dtype: "F6_E2M3", shape: [4], data_offsets: [0, 3] } }, bytes(1, 2, 3))).code).toBe("unsupported");
  });

  it("accepts space padding, empty and 0-d tensors, and any tensor order in the header", () => {
    const v = fromSafetensors(file({ z: { dtype: "F32", shape: [], data_offsets: [4, 8] }, e: { dtype: "I64", shape: [0, 3], data_offsets: [4, 4] }, a: { dtype: "U8", shape: [4], data_offsets: [0, 4] } }, bytes(1, 2, 3, 4, 0, 0, 0x80, 0x3f), 5));
    expect(v.header.entries.map((e) => e.name)).toEqual(["a", "e", "z"]);
    const [, e, z] = (v.root as { entries: [string, Tensor][] }).entries.map((x) => x[1]);
    expect(e!.shape).toEqual([0, 3]);
    expect(z!.shape).toEqual([]);
  });

  it("reads every safetensors file of the corpus", () => {
    const dirs = ["safetensors", "candle", "djl"].map((d) => join(CORPUS, d));
    let n = 0;
    for (const dir of dirs) {
      for (const name of readdirSync(dir).filter((f) => f.endsWith(".safetensors"))) {
        const v = fromSafetensors(new Uint8Array(readFileSync(`${dir}/${name}`)), { name });
        expect(v.header.entries.length).toBeGreaterThan(0);
        const again = fromSafetensors(toSafetensors(v.root));
        expect(torchDiff(v.root, again.root)).toBeUndefined();
        n++;
      }
    }
    expect(n).toBe(9);
  });
});

describe("safetensors writing", () => {
  it("names a state_dict's tensors by key, aligns the buffer, and uses the format's dtype codes", () => {
    const sd = pyDict<TorchHost>([
      ["b", tensor(storage("uint8", bytes(1, 2, 3), { key: "0" }), [3])],
      ["a", tensor(storage("float64", new Uint8Array(16), { key: "1" }), [2])],
      ["h", tensor(storage("bfloat16", bytes(1, 2), { key: "2" }), [1])],
    ], ORDERED_DICT);
    const st = toSafetensors(sd);
    const h = headerOf(st);
    const n = Number(new DataView(st.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(h.a).toEqual({ dtype: "F64", shape: [2], data_offsets: [0, 16] });
    expect(h.h).toEqual({ dtype: "BF16", shape: [1], data_offsets: [16, 18] });
    expect(h.b).toEqual({ dtype: "U8", shape: [3], data_offsets: [18, 21] });
    expect(h.__metadata__!.format).toBe("pt");
    expect(torchDiff(sd, fromSafetensors(st).root)).toBeUndefined();
  });

  it("has a code for every dtype the table gives one, and packs F4 two to a byte", () => {
    for (const d of DTYPES.filter((x) => x.safetensors !== undefined)) {
      const s = storage(d.name, new Uint8Array(d.itemSize * 2).fill(0x11));
      const st = toSafetensors(pyDict<TorchHost>([["t", tensor(s, [2])]]));
      const h = headerOf(st);
      expect(h.t!.dtype).toBe(d.safetensors);
      expect(h.t!.shape).toEqual([d.packing === undefined ? 2 : 4]);
      const back = fromSafetensors(st, {}).root as { entries: [string, Tensor][] };
      expect(back.entries[0]![1].dtype).toBe(d.name);
      expect(back.entries[0]![1].shape).toEqual([2]);
    }
  });

  it("restores a nested training checkpoint from the skeleton", () => {
    const w = tensor(storage("float32", f32(1, 2, 3, 4)), [2, 2], { parameter: true, requiresGrad: true });
    const step = tensor(storage("float32", f32(3), { key: "1" }), []);
    const ckpt = pyDict<TorchHost>([
      ["model", pyDict<TorchHost>([["w", w]], ORDERED_DICT)],
      ["optimizer", pyDict<TorchHost>([["state", pyDict<TorchHost>([[0, pyDict<TorchHost>([["step", step]])]])], ["param_groups", pyList<TorchHost>([pyDict<TorchHost>([["lr", pyFloat(0.1)], ["betas", pyTuple([pyFloat(0.9), pyFloat(0.999)])]])])]])],
      ["epoch", 7],
    ]);
    const st = toSafetensors(ckpt, { metadata: { note: "hi" } });
    const h = headerOf(st);
    expect(Object.keys(h).filter((k) => k !== "__metadata__").sort()).toEqual(["model.w", "optimizer.state.0.step"]);
    const back = fromSafetensors(st);
    expect(back.metadata).toEqual({ format: "pt", note: "hi" });
    expect(torchDiff(ckpt, back.root)).toBeUndefined();
  });

  it("keeps shared storages once, or refuses them when asked", () => {
    const s = storage("float32", f32(1, 2, 3, 4, 5, 6));
    const sd = pyDict<TorchHost>([["emb.weight", tensor(s, [2, 3])], ["head.weight", tensor(s, [2, 3])], ["row", tensor(s, [3], { offset: 3 })]]);
    const st = toSafetensors(sd);
    const h = headerOf(st);
    expect(Object.keys(h).filter((k) => k !== "__metadata__")).toEqual(["emb.weight"]);
    expect(st.length).toBeLessThan(8 + 2000 + 24 + 1);
    const back = fromSafetensors(st).root as { entries: [string, Tensor][] };
    expect(back.entries[0]![1].storage).toBe(back.entries[1]![1].storage);
    expect(torchDiff(sd, back as TorchValue)).toBeUndefined();
    expect(planSafetensors(sd).notes.join()).toMatch(/shared by emb\.weight, head\.weight, row/);
    const refused = thrown(() => toSafetensors(sd, { shared: "refuse" }));
    expect(refused.code).toBe("unencodable");
    expect(refused.message).toMatch(/emb\.weight, head\.weight, row share one storage/);
    const view = pyDict<TorchHost>([["v", tensor(storage("float32", f32(1, 2, 3)), [2], { offset: 1 })]]);
    expect(thrown(() => toSafetensors(view, { shared: "refuse" })).message).toMatch(/view of part of its storage/);
    expect(Object.keys(headerOf(toSafetensors(view)))).toContain("__storage__/v");
  });

  it("stores dtypes safetensors cannot name as raw bytes, or refuses them when asked", () => {
    const c = pyDict<TorchHost>([["c", tensor(storage("complex128", new Uint8Array(32).fill(3)), [2])]]);
    const h = headerOf(toSafetensors(c));
    expect(h["__storage__/c"]).toEqual({ dtype: "U8", shape: [32], data_offsets: [0, 32] });
    expect(torchDiff(c, fromSafetensors(toSafetensors(c)).root)).toBeUndefined();
    const e = thrown(() => toSafetensors(c, { rawDtypes: "refuse" }));
    expect(e.code).toBe("unsupported");
    expect(e.message).toMatch(/complex128/);
  });

  it("writes a plain file without the skeleton on request, and guards the reserved key", () => {
    const sd = pyDict<TorchHost>([["w", tensor(storage("int32", bytes(1, 0, 0, 0)), [1])]]);
    const plain = toSafetensors(sd, { skeleton: false });
    expect(headerOf(plain).__metadata__).toEqual({ format: "pt" });
    expect(torchDiff(sd, fromSafetensors(plain).root)).toBeUndefined();
    expect(thrown(() => toSafetensors(sd, { metadata: { [SAFETENSORS_SKELETON_KEY]: "x" } })).code).toBe("invalid-argument");
  });

  it("refuses a skeleton that names entries the file lacks", () => {
    const sd = pyDict<TorchHost>([["w", tensor(storage("int32", bytes(1, 0, 0, 0)), [1])]]);
    const h = headerOf(toSafetensors(sd));
    const skeleton = h.__metadata__![SAFETENSORS_SKELETON_KEY]!.replace('"entry":"w"', '"entry":"nope"');
    const broken = file({ ...h, __metadata__: { ...h.__metadata__, [SAFETENSORS_SKELETON_KEY]: skeleton } }, bytes(1, 0, 0, 0));
    expect(thrown(() => fromSafetensors(broken)).message).toMatch(/entry names nothing/);
  });
});
