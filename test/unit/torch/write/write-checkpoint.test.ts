import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../../helpers/errors.js";
import { bytesSource, callbackSource } from "../../../../src/bytes/source.js";
import { disassemble } from "../../../../src/pickle/disassemble.js";
import { ORDERED_DICT, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pyTuple } from "../../../../src/pickle/value.js";
import type { PyDict, PyObject, PyValue } from "../../../../src/pickle/value.js";
import { asFloat, asTuple, parameter, stateDict, tensor, tensorView, toTorchValue } from "../../../../src/torch/builder.js";
import { DTYPES } from "../../../../src/torch/dtypes.js";
import type { NdArray, Storage, Tensor, TorchHost, TorchValue } from "../../../../src/torch/model.js";
import { readCheckpoint } from "../../../../src/torch/read/read-checkpoint.js";
import { tensorBytes } from "../../../../src/torch/tensor-data.js";
import { walkTensors } from "../../../../src/torch/walk.js";
import { checkpointChunks, checkpointChunksAsync, writeCheckpoint } from "../../../../src/torch/write/write-checkpoint.js";
import { openZipSync, readEntrySync } from "../../../../src/containers/zip/zip-reader.js";
import { zipRecordsSync } from "../../../../src/containers/zip/zip-writer.js";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function records(file: Uint8Array): Map<string, Uint8Array> {
  const zip = openZipSync(bytesSource(file));
  return new Map(zip.entries.map((e) => [e.name, readEntrySync(zip, e)]));
}


function tensorsOf(root: TorchValue): Map<string, Tensor> {
  return new Map(walkTensors(root).map((e) => [e.path.join("."), e.tensor]));
}

/** Opcode names of a pickle, for checking the weights-only subset. */
const opcodeNames = (pkl: Uint8Array): Set<string> => new Set(disassemble(pkl).map((op) => op.op.name));

// torch 1.13: torch.save(OrderedDict(weight=randn(2, 3), bias=randn(3)), "a.pt") → a/data.pkl
const TORCH_113_STATE_DICT_PKL =
  "800263636f6c6c656374696f6e730a4f726465726564446963740a710029527101285806000000776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d580400000062696173710e6803282868046805580100000031710f68074b03747110514b004b038571114b0185711289680029527113747114527115752e";

// torch 1.13: torch.save({"coo": sparse_coo_tensor(...), "q": quantize_per_tensor(...)}) → records
const TORCH_113_SPARSE_Q = {
  pkl: "80027d7100285803000000636f6f710163746f7263682e5f7574696c730a5f72656275696c645f7370617273655f74656e736f720a710263746f7263682e73657269616c697a6174696f6e0a5f6765745f6c61796f75740a71035810000000746f7263682e7370617273655f636f6f710485710552710663746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71072828580700000073746f72616765710863746f7263680a4c6f6e6753746f726167650a7109580100000030710a5803000000637075710b4b0674710c514b004b024b0386710d4b034b0186710e8963636f6c6c656374696f6e730a4f726465726564446963740a710f2952711074711152711268072828680863746f7263680a466c6f617453746f726167650a71135801000000317114680b4b03747115514b004b038571164b0185711789680f2952711874711952711a63746f7263680a53697a650a711b4b024b0386711c85711d52711e87711f867120527121580100000071712263746f7263682e5f7574696c730a5f72656275696c645f7174656e736f720a71232828680863746f7263680a5155496e743853746f726167650a71245801000000327125680b4b02747126514b004b028571274b0185712863746f7263680a7065725f74656e736f725f616666696e650a7129473fb999999999999a4b0a87712a89680f2952712b74712c52712d752e",
  data0: "000000000000000001000000000000000100000000000000020000000000000000000000000000000200000000000000",
  data1: "00004040000080400000a040",
  data2: "141e",
};

function torch113SparseQFile(): Uint8Array {
  return zipRecordsSync([
    { name: "archive/data.pkl", data: hex(TORCH_113_SPARSE_Q.pkl) },
    { name: "archive/data/0", data: hex(TORCH_113_SPARSE_Q.data0) },
    { name: "archive/data/1", data: hex(TORCH_113_SPARSE_Q.data1) },
    { name: "archive/data/2", data: hex(TORCH_113_SPARSE_Q.data2) },
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ]);
}

describe("writeCheckpoint: the zip layout", () => {
  const weight = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  const bias = tensor(new Float32Array([0.5, -1, 2]));
  const sd = stateDict({ weight, bias });

  it("writes torch 2.x's records in torch 2.x's order", () => {
    const file = writeCheckpoint(sd);
    const r = records(file);
    expect([...r.keys()]).toEqual([
      "archive/data.pkl", "archive/.format_version", "archive/.storage_alignment", "archive/byteorder",
      "archive/data/0", "archive/data/1", "archive/version", "archive/.data/serialization_id",
    ]);
    expect(text(r.get("archive/.format_version")!)).toBe("1");
    expect(text(r.get("archive/.storage_alignment")!)).toBe("64");
    expect(text(r.get("archive/byteorder")!)).toBe("little");
    expect(text(r.get("archive/version")!)).toBe("3\n");
    expect(text(r.get("archive/.data/serialization_id")!)).toMatch(/^\d{40}$/);
    expect(r.get("archive/data/0")).toEqual(new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
  });

  it("pickles a state_dict byte for byte as torch 1.13 does", () => {
    const pkl = records(writeCheckpoint(sd)).get("archive/data.pkl")!;
    expect(Buffer.from(pkl).toString("hex")).toBe(TORCH_113_STATE_DICT_PKL);
  });

  it("is deterministic, and the serialization id follows the content", () => {
    const a = writeCheckpoint(sd);
    expect(writeCheckpoint(sd)).toEqual(a);
    const other = writeCheckpoint(stateDict({ weight: tensor(new Float32Array([9, 2, 3, 4, 5, 6]), { shape: [2, 3] }), bias }));
    const idOf = (f: Uint8Array) => text(records(f).get("archive/.data/serialization_id")!);
    expect(idOf(other)).not.toBe(idOf(a));
    expect(idOf(writeCheckpoint(sd, { serializationId: "0123" }))).toBe("0123");
  });

  it("honours archiveName and storageAlignment", () => {
    const file = writeCheckpoint(sd, { archiveName: "model", storageAlignment: 4096 });
    const zip = openZipSync(bytesSource(file));
    expect(zip.prefix).toBe("model/");
    expect(text(readEntrySync(zip, zip.get(".storage_alignment")!))).toBe("4096");
    const ck = readCheckpoint(file);
    for (const s of ck.storages) expect(s.from!.offset % 4096).toBe(0);
  });

  it("reads back to the same tensors", () => {
    const ck = readCheckpoint(writeCheckpoint(sd));
    const root = ck.root as PyDict<TorchHost>;
    expect(root.type).toEqual(ORDERED_DICT);
    const t = tensorsOf(root);
    expect(tensorBytes(t.get("weight")!)).toEqual(tensorBytes(weight));
    expect(t.get("weight")!.shape).toEqual([2, 3]);
    expect(tensorBytes(t.get("bias")!)).toEqual(tensorBytes(bias));
  });

  it("stays inside torch's weights-only opcode subset by default", () => {
    const ok = toTorchValue({ model: sd, lr: asFloat(0.1), betas: asTuple(0.9, 0.999), step: BigInt(2) ** 70n, name: "x" });
    const pkl = records(writeCheckpoint(ok)).get("archive/data.pkl")!;
    const allowed = new Set([
      "PROTO", "STOP", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET",
      "APPEND", "APPENDS", "SETITEM", "SETITEMS", "BUILD", "GLOBAL", "NEWOBJ", "REDUCE", "BINPERSID", "BINGET", "LONG_BINGET",
      "BINPUT", "LONG_BINPUT", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT",
      "BINUNICODE", "SHORT_BINSTRING",
    ]);
    for (const name of opcodeNames(pkl)) expect(allowed.has(name), name).toBe(true);
  });
});

describe("writeCheckpoint: every dtype", () => {
  for (const info of DTYPES) {
    it(`${info.name}`, () => {
      const n = 6;
      const raw = new Uint8Array(n * info.itemSize).map((_, i) => (i * 37 + 11) & 0xff);
      const shape = [2, 3 * (info.kind === "quantized" ? info.packing ?? 1 : 1)];
      const t = tensor(raw, { dtype: info.name, shape });
      const file = writeCheckpoint(pyDict<TorchHost>([["t", t]]));
      const ck = readCheckpoint(file);
      const back = tensorsOf(ck.root).get("t")!;
      expect(back.dtype).toBe(info.name);
      expect(back.shape).toEqual(shape);
      expect(tensorBytes(back)).toEqual(raw);
      const storage = ck.storages[0]!;
      if (info.storageClass !== undefined) {
        expect(storage.storageType).toEqual(pyGlobal("torch", info.storageClass));
        expect(storage.declaredNumel).toBe(n);
      } else {
        expect(storage.storageType).toEqual(pyGlobal("torch.storage", "UntypedStorage"));
        expect(storage.declaredNumel).toBe(raw.length);
        expect((back.origin!.callable as { name: string }).name).toBe("_rebuild_tensor_v3");
      }
    });
  }
});

describe("writeCheckpoint: views, sharing, parameters", () => {
  it("writes one record per storage and keeps views on it", () => {
    const base = tensor(new Float32Array(12).map((_, i) => i), { shape: [3, 4] });
    const row = tensorView(base, [4], { offset: 4 });
    const transposed = tensorView(base, [4, 3], { stride: [1, 4] });
    const expanded = tensorView(base, [2, 4], { stride: [0, 1], offset: 8 });
    const root = toTorchValue({ base, row, transposed, expanded, again: base });
    const ck = readCheckpoint(writeCheckpoint(root));
    expect(ck.storages).toHaveLength(1);
    const t = tensorsOf(ck.root);
    for (const k of ["row", "transposed", "expanded"]) expect(t.get(k)!.storage).toBe(t.get("base")!.storage);
    expect(t.get("transposed")!.stride).toEqual([1, 4]);
    expect(t.get("expanded")!.stride).toEqual([0, 1]);
    expect(t.get("row")!.storageOffset).toBe(4);
    expect(tensorBytes(t.get("transposed")!)).toEqual(tensorBytes(transposed));
    expect(tensorBytes(t.get("expanded")!)).toEqual(tensorBytes(expanded));
    // A tensor met twice is one object after reading (the pickle memo).
    expect(t.get("again")).toBe(t.get("base"));
  });

  it("writes a storage viewed with two dtypes once, untyped, with _rebuild_tensor_v3", () => {
    const f = tensor(new Float32Array([1, 2]));
    const i: Tensor = { ...f, dtype: "int32" };
    const ck = readCheckpoint(writeCheckpoint(toTorchValue({ f, i })));
    expect(ck.storages).toHaveLength(1);
    expect(ck.storages[0]!.storageType.name).toBe("UntypedStorage");
    const t = tensorsOf(ck.root);
    expect(t.get("f")!.dtype).toBe("float32");
    expect(t.get("i")!.dtype).toBe("int32");
    expect(tensorBytes(t.get("i")!)).toEqual(tensorBytes(f));
  });

  it("keeps Parameters and requires_grad", () => {
    const p = parameter([1.5, 2.5]);
    const frozen = parameter([1, 2], { requiresGrad: false });
    const grad = tensor(new Float64Array([1]), { requiresGrad: true });
    const ck = readCheckpoint(writeCheckpoint(toTorchValue({ p, frozen, grad })));
    const t = tensorsOf(ck.root);
    expect(t.get("p")).toMatchObject({ isParameter: true, requiresGrad: true, dtype: "float32" });
    expect(t.get("frozen")).toMatchObject({ isParameter: true, requiresGrad: false, dtype: "int64" });
    expect(t.get("grad")).toMatchObject({ isParameter: false, requiresGrad: true, dtype: "float64" });
  });

  it("keeps legacy view storages: as views in the legacy layout, as records of their own in the zip layout", () => {
    const root = tensor(new Float32Array([0, 1, 2, 3, 4, 5]));
    const rootStorage = root.storage!;
    const viewStorage: Storage = {
      ...rootStorage, key: "v", declaredNumel: 3, byteLength: 12, data: rootStorage.data!.subarray(8, 20), view: { root: rootStorage, offset: 2 },
    };
    const onView: Tensor = { ...root, storage: viewStorage, shape: [2], stride: [1], storageOffset: 1 };
    const value = toTorchValue({ root, onView });
    const legacy = readCheckpoint(writeCheckpoint(value, { layout: "legacy" }));
    const lt = tensorsOf(legacy.root);
    expect(lt.get("onView")!.storage!.view!.root).toBe(lt.get("root")!.storage);
    expect(lt.get("onView")!.storage!.view!.offset).toBe(2);
    expect(lt.get("onView")!.storageOffset).toBe(1);
    expect(tensorBytes(lt.get("onView")!)).toEqual(new Uint8Array(new Float32Array([3, 4]).buffer));
    const zip = readCheckpoint(writeCheckpoint(value));
    expect(zip.storages).toHaveLength(2);
    const zt = tensorsOf(zip.root);
    expect(zt.get("onView")!.storageOffset).toBe(1);
    expect(zt.get("onView")!.storage!.byteLength).toBe(12);
    expect(tensorBytes(zt.get("onView")!)).toEqual(new Uint8Array(new Float32Array([3, 4]).buffer));
  });

  it("keeps dicts, OrderedDicts with attributes, tuples, big ints, sets, bytes and inert objects", () => {
    const meta = pyDict<TorchHost>([["", pyDict([["version", 1]])]]);
    const sd: PyDict<TorchHost> = { kind: "dict", entries: [["w", tensor(new Float32Array([1]))]], type: ORDERED_DICT, state: pyDict([["_metadata", meta]]) };
    const inert: PyObject<TorchHost> = { kind: "object", via: "newobj", callable: pyGlobal("argparse", "Namespace"), args: pyTuple([]), state: pyDict([["lr", pyFloat(0.1)]]) };
    const root = toTorchValue({ sd, args: inert, big: -(2n ** 80n), pair: asTuple(1, "a"), s: pyFrozenSet([1, 2]), b: new Uint8Array(0) });
    const ck = readCheckpoint(writeCheckpoint(root, { weightsOnly: false }));
    const back = ck.root as PyDict<TorchHost>;
    const get = (k: string) => back.entries.find(([key]) => key === k)![1];
    expect((get("sd") as PyDict<TorchHost>).state).toMatchObject({ kind: "dict" });
    expect(get("args")).toMatchObject({ kind: "object", via: "newobj", callable: { module: "argparse", name: "Namespace" } });
    expect(get("big")).toBe(-(2n ** 80n));
    expect(get("pair")).toEqual(pyTuple([1, "a"]));
    expect(get("s")).toEqual(pyFrozenSet([1, 2]));
  });
});

describe("writeCheckpoint: what the file had is written back", () => {
  it("re-writes torch 1.13's sparse COO and quantized pickle byte for byte", () => {
    const ck = readCheckpoint(torch113SparseQFile());
    const out = writeCheckpoint(ck.root);
    expect(Buffer.from(records(out).get("archive/data.pkl")!).toString("hex")).toBe(TORCH_113_SPARSE_Q.pkl);
    const back = readCheckpoint(out);
    expect(back.storages.map((s) => Buffer.from(tensorBytesOfStorage(s)).toString("hex"))).toEqual([
      TORCH_113_SPARSE_Q.data0, TORCH_113_SPARSE_Q.data1, TORCH_113_SPARSE_Q.data2,
    ]);
  });

  it("makes the call afresh when the tensor changed", () => {
    const ck = readCheckpoint(torch113SparseQFile());
    const q = tensorsOf(ck.root).get("q")!;
    q.requiresGrad = true;
    const back = tensorsOf(readCheckpoint(writeCheckpoint(ck.root)).root).get("q")!;
    expect(back.requiresGrad).toBe(true);
    expect(back.quantization).toEqual({ scheme: "per_tensor_affine", scale: 0.1, zeroPoint: 10 });
  });

  it("writes numpy arrays back as they were read, and builds new ones numpy's way", () => {
    const array: NdArray = { kind: "ndarray", descr: "<f4", dtype: "float32", shape: [2], fortranOrder: false, data: new Uint8Array(new Float32Array([1, 2]).buffer), scalar: false };
    const scalar: NdArray = { kind: "ndarray", descr: "<i8", dtype: "int64", shape: [], fortranOrder: false, data: new Uint8Array(8).fill(1), scalar: true };
    const ck = readCheckpoint(writeCheckpoint(toTorchValue({ array, scalar }), { weightsOnly: false }));
    const back = ck.root as PyDict<TorchHost>;
    const a = back.entries[0]![1] as NdArray;
    expect(a).toMatchObject({ kind: "ndarray", descr: "<f4", shape: [2], scalar: false });
    expect(a.data).toEqual(array.data);
    const s = back.entries[1]![1] as NdArray;
    expect(s).toMatchObject({ kind: "ndarray", descr: "<i8", scalar: true });
    const again = writeCheckpoint(ck.root, { weightsOnly: false });
    expect(records(again).get("archive/data.pkl")).toEqual(records(writeCheckpoint(toTorchValue({ array, scalar }), { weightsOnly: false })).get("archive/data.pkl"));
  });
});

describe("writeCheckpoint: weights_only", () => {
  it("names the key path of a value torch's weights-only unpickler would refuse", () => {
    const inert: PyObject<TorchHost> = { kind: "object", via: "newobj", callable: pyGlobal("argparse", "Namespace"), args: pyTuple([]) };
    expectCode(() => writeCheckpoint(toTorchValue({ epoch: 1, args: inert })), "unencodable", ["args"]);
    expectCode(() => writeCheckpoint(toTorchValue({ opt: { s: pyFrozenSet([1]) } })), "unencodable", ["opt", "s"]);
    const arr: NdArray = { kind: "ndarray", descr: "<f4", shape: [1], fortranOrder: false, data: new Uint8Array(4), scalar: false };
    expectCode(() => writeCheckpoint(toTorchValue({ rng: [arr] })), "unencodable", ["rng", 0]);
    expect(() => writeCheckpoint(toTorchValue({ args: inert }), { weightsOnly: false })).not.toThrow();
  });

  it("accepts what torch saves in state_dicts and optimizer checkpoints", () => {
    const w = parameter(new Float32Array([1, 2]));
    const optim = toTorchValue({
      state: new Map([[0, { step: tensor(new Float32Array([3])), exp_avg: tensor(new Float32Array([0, 0])) }]]),
      param_groups: [{ lr: asFloat(0.001), betas: asTuple(asFloat(0.9), asFloat(0.999)), params: [0], amsgrad: false, foreach: null }],
    });
    expect(() => writeCheckpoint(toTorchValue({ model: stateDict({ w }), optimizer: optim, epoch: 3, bytes: new Uint8Array(0) }))).not.toThrow();
  });

  it("refuses weightsOnly at another protocol, and allows the protocol without it", () => {
    expectCode(() => writeCheckpoint(pyList([]), { protocol: 4, weightsOnly: true }), "invalid-argument");
    const file = writeCheckpoint(stateDict({ w: tensor(new Float32Array([1])) }), { protocol: 4 });
    expect(readCheckpoint(file).protocol).toBe(4);
  });
});

describe("writeCheckpoint: storage bytes from anywhere", () => {
  it("streams storages from an async source with checkpointChunksAsync", async () => {
    const data = new Uint8Array(new Float32Array(1000).map((_, i) => i).buffer);
    let reads = 0;
    const source = callbackSource(data.length, async (offset, length) => {
      reads++;
      return data.slice(offset, offset + length);
    });
    const t = tensor(new Float32Array(1000));
    const storage: Storage = { ...t.storage!, data: undefined as never, from: { source, offset: 0, length: data.length, compression: "none", record: "cb" } };
    delete (storage as { data?: Uint8Array }).data;
    const remote: Tensor = { ...t, storage };
    const chunks: Uint8Array[] = [];
    for await (const c of checkpointChunksAsync(stateDict({ remote }), { chunkBytes: 1000 })) chunks.push(c);
    expect(reads).toBe(4);
    const file = Buffer.concat(chunks);
    const expected = writeCheckpoint(stateDict({ remote: tensor(new Float32Array(1000).map((_, i) => i)) }));
    expect(new Uint8Array(file)).toEqual(expected);
    expectCode(() => [...checkpointChunks(stateDict({ remote }))], "unsupported");
    const legacy: Uint8Array[] = [];
    for await (const c of checkpointChunksAsync(stateDict({ remote }), { layout: "legacy", chunkBytes: 999 })) legacy.push(c);
    const expectedLegacy = writeCheckpoint(stateDict({ remote: tensor(new Float32Array(1000).map((_, i) => i)) }), { layout: "legacy" });
    expect(Buffer.concat(legacy).equals(expectedLegacy)).toBe(true);
  });

  it("inflates deflated records while writing", () => {
    const pkl = records(writeCheckpoint(stateDict({ w: tensor(new Float32Array([1, 2, 3])) }))).get("archive/data.pkl")!;
    const payload = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const deflated = zipSync({
      "archive/data.pkl": [pkl, { level: 0 }],
      "archive/data/0": [payload, { level: 9 }],
      "archive/version": [new TextEncoder().encode("3\n"), { level: 0 }],
    });
    const ck = readCheckpoint(deflated);
    expect(ck.storages[0]!.from!.compression).toBe("deflate");
    const out = readCheckpoint(writeCheckpoint(ck.root));
    expect(out.storages[0]!.from!.compression).toBe("none");
    expect(tensorBytesOfStorage(out.storages[0]!)).toEqual(payload);
  });

  it("writes big-endian storages little-endian", () => {
    const le = tensor(new Float32Array([1, -2, 3.5]));
    const beBytes = new Uint8Array(12);
    for (let i = 0; i < 12; i += 4) for (let k = 0; k < 4; k++) beBytes[i + k] = le.storage!.data![i + 3 - k]!;
    const be: Tensor = { ...le, storage: { ...le.storage!, byteOrder: "big", data: beBytes } };
    const out = readCheckpoint(writeCheckpoint(stateDict({ be })));
    expect(tensorBytesOfStorage(out.storages[0]!)).toEqual(le.storage!.data);
  });

  it("reports storages without bytes or with too few", () => {
    const t = tensor(new Float32Array([1, 2]));
    const noBytes: Tensor = { ...t, storage: { ...t.storage!, data: undefined as never } };
    delete (noBytes.storage as { data?: Uint8Array }).data;
    expectCode(() => writeCheckpoint(stateDict({ noBytes })), "missing-record");
    const short: Tensor = { ...t, storage: { ...t.storage!, data: new Uint8Array(4) } };
    expectCode(() => writeCheckpoint(stateDict({ short })), "truncated");
  });

  it("checks its options", () => {
    const sd = stateDict({});
    expectCode(() => writeCheckpoint(sd, { layout: "tar" as never }), "invalid-argument");
    expectCode(() => writeCheckpoint(sd, { archiveName: "a/b" }), "invalid-argument");
    expectCode(() => writeCheckpoint(sd, { protocol: 1 as never }), "invalid-argument");
    expectCode(() => writeCheckpoint(sd, { storageAlignment: 0 }), "invalid-argument");
    expectCode(() => writeCheckpoint(sd, { serializationId: "\n" }), "invalid-argument");
  });
});

describe("writeCheckpoint: the legacy layout", () => {
  it("writes what torch 1.13 writes before the object pickle", () => {
    const file = writeCheckpoint(stateDict({}), { layout: "legacy" });
    // torch 1.13 legacy file: magic, 1001, sys_info pickles (137 bytes).
    expect(Buffer.from(file.subarray(0, 137)).toString("hex")).toBe(
      "80028a0a6cfc9c46f9206aa850192e80024de9032e80027d710028581000000070726f746f636f6c5f76657273696f6e71014de903580d0000006c6974746c655f656e6469616e710288580a000000747970655f73697a657371037d710428580500000073686f727471054b025803000000696e7471064b0458040000006c6f6e6771074b0475752e",
    );
  });

  it("reads back, with storage keys sorted as text", () => {
    const entries: [PyValue<TorchHost>, PyValue<TorchHost>][] = [];
    for (let i = 0; i < 12; i++) entries.push([`t${i}`, tensor(new Int32Array([i, i + 1]))]);
    const shared = entries[3]![1] as Tensor;
    entries.push(["view", tensorView(shared, [1], { offset: 1 })]);
    const root: PyDict<TorchHost> = { kind: "dict", entries, type: ORDERED_DICT };
    const ck = readCheckpoint(writeCheckpoint(root, { layout: "legacy" }));
    expect(ck.layout).toBe("legacy");
    expect(ck.storages).toHaveLength(12);
    const t = tensorsOf(ck.root);
    for (let i = 0; i < 12; i++) expect(tensorBytes(t.get(`t${i}`)!)).toEqual(new Uint8Array(new Int32Array([i, i + 1]).buffer));
    expect(t.get("view")!.storage).toBe(t.get("t3")!.storage);
    expect(tensorBytes(t.get("view")!)).toEqual(new Uint8Array(new Int32Array([4]).buffer));
  });

  it("refuses dtypes without a typed storage class", () => {
    expectCode(() => writeCheckpoint(stateDict({ u: tensor(new Uint16Array([1])) }), { layout: "legacy" }), "unencodable");
  });
});

function tensorBytesOfStorage(s: Storage): Uint8Array {
  const t: Tensor = {
    kind: "tensor", dtype: "uint8", shape: [s.byteLength], stride: [1], storageOffset: 0,
    storage: { ...s, dtype: "uint8" }, device: "cpu", requiresGrad: false, isParameter: false, layout: "strided",
  };
  return tensorBytes(t);
}
