// Plain JSON as Python's json.dump writes optimizer, LR scheduler and GradScaler state_dicts
// (fixtures/issue14/optim-state.json, written by torch 1.13) imports back to what
// load_state_dict needs; fixtures/issue14/optim-state.pt is torch.save of the same dict (the answer).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromPlainJson, toPlainJson } from "../../../src/convert/index.js";
import { dictGet, pyKind } from "../../../src/pickle/value.js";
import type { PyDict, PyObject, PyTuple } from "../../../src/pickle/value.js";
import type { TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint, tensorBytes, tensorToFloat32, walkTensors } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

const dir = join(REPO, "fixtures/issue14");
const json = readFileSync(join(dir, "optim-state.json"), "utf8");
const answer = readCheckpoint(new Uint8Array(readFileSync(join(dir, "optim-state.pt")))).root;
const at = (v: TorchValue, ...keys: (string | number)[]): TorchValue => {
  let x = v;
  for (const k of keys) {
    const kind = pyKind(x);
    x = kind === "dict" ? (dictGet(x as PyDict<TorchHost>, k) as TorchValue) : (x as { items: TorchValue[] }).items[k as number]!;
  }
  return x;
};

const kindOf = (v: TorchValue): string | undefined => (v as { kind?: string } | null)?.kind;

describe("plain JSON state_dicts", () => {
  const notes: string[] = [];
  const root = fromPlainJson(json, { onNote: (l) => notes.push(l) });

  it("every moment tensor equals torch's, at the same int-keyed path", () => {
    const ours = walkTensors(root).map((e) => ({ path: e.path, dtype: e.tensor.dtype, shape: e.tensor.shape, bytes: tensorBytes(e.tensor) }));
    // torch 1.13 keeps Adam's step as a 0-d tensor; json.dump wrote it as a number, which stays a number.
    const theirs = walkTensors(answer)
      .filter((e) => e.path.at(-1) !== "step" && e.path[0] !== "scaler")
      .map((e) => ({ path: e.path, dtype: e.tensor.dtype, shape: e.tensor.shape, bytes: tensorBytes(e.tensor) }));
    expect(ours.length).toBe(6 * 2 + 6 * 3 + 6);
    expect(ours).toEqual(theirs);
  });

  it("state keys are ints, params int lists, betas tuples of floats, steps numbers", () => {
    for (const name of ["adam", "adamw", "sgd"]) {
      const state = at(root, name, "state") as PyDict<TorchHost>;
      expect(state.entries.map(([k]) => k)).toEqual([0, 1, 2, 3, 4, 5]);
      const group = at(root, name, "param_groups", 0);
      expect(at(group, "params")).toEqual({ kind: "list", items: [0, 1, 2, 3, 4, 5] });
      // Every hyperparameter equals torch's (betas as tuples of floats).
      for (const [k, v] of (group as PyDict<TorchHost>).entries) {
        if (k !== "params") expect(v, `${name}.${String(k)}`).toEqual(at(answer, name, "param_groups", 0, k as string));
      }
    }
    const betas = at(root, "adamw", "param_groups", 0, "betas") as PyTuple<TorchHost>;
    expect(betas).toEqual({ kind: "tuple", items: [{ kind: "float", value: 0.85 }, { kind: "float", value: 0.99 }] });
    expect(at(root, "adam", "state", 0, "step")).toEqual({ kind: "float", value: 3 });
  });

  it("schedulers and the GradScaler equal torch's state_dicts exactly", () => {
    for (const name of ["steplr", "scaler"]) expect(at(root, name), name).toEqual(at(answer, name));
    const multi = at(root, "multisteplr") as PyDict<TorchHost>;
    const theirs = at(answer, "multisteplr") as PyDict<TorchHost>;
    expect(multi.entries.map(([k]) => k)).toEqual(theirs.entries.map(([k]) => k));
    for (const [k, v] of multi.entries) if (k !== "milestones") expect(v, String(k)).toEqual(dictGet(theirs, k as string));
    const counter = at(multi, "milestones") as PyObject<TorchHost>;
    const torchCounter = dictGet(theirs, "milestones") as PyObject<TorchHost>;
    expect(counter.callable).toEqual(torchCounter.callable);
    expect((counter.args as PyTuple<TorchHost>).items[0]).toEqual((torchCounter.args as PyTuple<TorchHost>).items[0]);
  });

  it("says on the side what it inferred", () => {
    expect(notes).toEqual([
      expect.stringMatching(/^adam: optimizer state_dict \(Adam\/AdamW\/RAdam-like\), 6 params in 1 group\(s\): state keys → ints, params → int lists, betas → tuples/),
      expect.stringMatching(/^adamw: optimizer state_dict \(Adam\/AdamW \(amsgrad\)-like\)/),
      expect.stringMatching(/^sgd: optimizer state_dict \(SGD-like\)/),
      expect.stringMatching(/^steplr: LR scheduler state_dict: base_lrs, _last_lr kept as lists/),
      expect.stringMatching(/^multisteplr: LR scheduler state_dict: milestones \(collections\.Counter with int keys\)/),
      expect.stringMatching(/^scaler: GradScaler state_dict/),
    ]);
  });

  it("stateDicts: false reads it naively (the old behaviour: string keys, tensor params)", () => {
    const naive = fromPlainJson(json, { stateDicts: false });
    expect((at(naive, "adam", "state") as PyDict<TorchHost>).entries[0]![0]).toBe("0");
    expect(kindOf(at(naive, "adam", "param_groups", 0, "params"))).toBe("tensor");
    expect(kindOf(at(naive, "adam", "param_groups", 0, "betas"))).toBe("tensor");
  });

  it("isTensor still decides for other lists; recognition works anywhere in the document", () => {
    const doc = `{"ckpt": {"optim": {"state": {"0": {"momentum_buffer": [1.5, 2.5]}}, "param_groups": [{"lr": 0.1, "params": [0]}]}}, "hist": [1.0, 2.0]}`;
    const v = fromPlainJson(doc, { isTensor: (p) => p[0] !== "hist" });
    expect(kindOf(at(v, "ckpt", "optim", "state", 0, "momentum_buffer"))).toBe("tensor");
    expect(kindOf(at(v, "hist"))).toBe("list");
    // A dict that only looks a little like one is left alone.
    const other = fromPlainJson(`{"state": {"a": [1, 2]}, "param_groups": "x"}`);
    expect((at(other, "state") as PyDict<TorchHost>).entries[0]![0]).toBe("a");
  });
});

/**
 * `a` (read from a torch file) and `b` (its plain JSON read back) hold the same state as far as
 * load_state_dict can tell: same keys (ints stay ints), lists stay lists and tuples tuples, tensors
 * the same shape and values, and a 0-d tensor may come back as the number it holds (json.dump of
 * `.tolist()` writes it so; load_state_dict turns `step` back into a tensor). Returns the first
 * difference, or undefined.
 */
function sameState(a: TorchValue, b: TorchValue, path = ""): string | undefined {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === "tensor") {
    const t = a as import("../../../src/torch/index.js").Tensor;
    const values = Array.from(tensorValues(t));
    if (t.shape.length === 0 && (typeof b === "number" || kb === "float")) {
      const x = typeof b === "number" ? b : (b as { value: number }).value;
      return Object.is(x, values[0]) || x === values[0] ? undefined : `${path}: ${x} != ${values[0]}`;
    }
    if (kb !== "tensor") return `${path}: tensor became ${kb ?? typeof b}`;
    const u = b as import("../../../src/torch/index.js").Tensor;
    if (JSON.stringify(u.shape) !== JSON.stringify(t.shape)) return `${path}: shape ${u.shape} != ${t.shape}`;
    const other = Array.from(tensorValues(u));
    return values.every((v, i) => Object.is(v, other[i]) || v === other[i]) ? undefined : `${path}: values differ`;
  }
  if (ka === "dict") {
    if (kb !== "dict") return `${path}: dict became ${kb ?? typeof b}`;
    const ea = (a as PyDict<TorchHost>).entries;
    const eb = (b as PyDict<TorchHost>).entries;
    if (JSON.stringify(ea.map(([k]) => k)) !== JSON.stringify(eb.map(([k]) => k))) return `${path}: keys ${JSON.stringify(eb.map(([k]) => k))} != ${JSON.stringify(ea.map(([k]) => k))}`;
    for (let i = 0; i < ea.length; i++) {
      const d = sameState(ea[i]![1], eb[i]![1], `${path}.${String(ea[i]![0])}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (ka === "list" || ka === "tuple") {
    if (kb !== ka) return `${path}: ${ka} became ${kb ?? typeof b}`;
    const ia = (a as { items: TorchValue[] }).items;
    const ib = (b as { items: TorchValue[] }).items;
    if (ia.length !== ib.length) return `${path}: length ${ib.length} != ${ia.length}`;
    for (let i = 0; i < ia.length; i++) {
      const d = sameState(ia[i]!, ib[i]!, `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (ka === "object") {
    // collections.Counter (MultiStepLR milestones): the same callable and the same dict.
    const oa = a as PyObject<TorchHost>;
    const ob = b as PyObject<TorchHost>;
    if (kb !== "object") return `${path}: ${JSON.stringify(oa.callable)} became ${kb ?? typeof b}`;
    if (JSON.stringify(oa.callable) !== JSON.stringify(ob.callable)) return `${path}: another class`;
    return sameState((oa.args as PyTuple<TorchHost>).items[0]!, (ob.args as PyTuple<TorchHost>).items[0]!, `${path}(args)`);
  }
  return JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? String(v) : v)) === JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? String(v) : v))
    ? undefined
    : `${path}: ${JSON.stringify(b)} != ${JSON.stringify(a)}`;
}

/** A tensor's values as numbers (float16/bfloat16 widened), for comparisons. */
function tensorValues(t: import("../../../src/torch/index.js").Tensor): ArrayLike<number | bigint> {
  if (t.dtype === "float32" || t.dtype === "float16" || t.dtype === "bfloat16") return tensorToFloat32(t);
  const bytes = tensorBytes(t);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = t.shape.reduce((x, y) => x * y, 1);
  const size = bytes.length / Math.max(1, n);
  return Array.from({ length: n }, (_, i) =>
    size === 8 ? (t.dtype === "float64" ? view.getFloat64(8 * i, true) : Number(view.getBigInt64(8 * i, true)))
    : size === 4 ? view.getInt32(4 * i, true) : size === 2 ? view.getInt16(2 * i, true) : bytes[i]!);
}

describe("plain JSON export writes dict subclasses as json.dump does", () => {
  it("MultiStepLR's milestones Counter is the dict Python's json.dump wrote", () => {
    const theirs = JSON.parse(json) as { multisteplr: { milestones: unknown } };
    const ours = JSON.parse(toPlainJson(answer)) as { multisteplr: { milestones: unknown } };
    expect(ours.multisteplr.milestones).toEqual(theirs.multisteplr.milestones);
    expect(Object.keys(ours.multisteplr)).toEqual(Object.keys(theirs.multisteplr));
  });
});

describe("every optimizer and LR scheduler torch 1.13 saves survives json.dump → plain JSON import", () => {
  // Not here: OneCycleLR holds a bound method (Python's json.dump cannot write it either).
  // MultiStepLR's Counter is written as the dict json.dump writes, and read back as a Counter.
  const names = readdirSync(join(REPO, "fixtures/torch")).filter((n) => /^(optim|sched)-.*\.pt$/.test(n) && !/onecyclelr/.test(n));
  expect(names.some((n) => /multisteplr/.test(n))).toBe(true);
  expect(names.length).toBeGreaterThanOrEqual(18);
  for (const name of names) {
    it(name, () => {
      const original = readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)))).root;
      const notes: string[] = [];
      const back = fromPlainJson(toPlainJson(original), { onNote: (l) => notes.push(l) });
      for (const part of ["optimizer", "scheduler", "lr_scheduler"]) {
        const a = dictGet(original as PyDict<TorchHost>, part);
        if (a === undefined) continue;
        expect(sameState(a as TorchValue, dictGet(back as PyDict<TorchHost>, part) as TorchValue, part), name).toBeUndefined();
        expect(notes.some((n) => n.startsWith(`${part}: `)), `${name}: a note for ${part} in ${JSON.stringify(notes)}`).toBe(true);
      }
    });
  }
});
