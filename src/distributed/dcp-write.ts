/**
 * Writing a checkpoint as a one-process DCP directory, as `torch_save_to_dcp` (`dcp.save` with
 * `no_dist=True` and torch's default planner) lays it out: the state dict is flattened the way
 * torch 2.4+ flattens it (`_traverse.traverse_state_dict`: dicts always, lists only when they hold
 * tensors, dicts or such lists; keys joined with "."), every tensor is a whole `torch.save` archive
 * and every other leaf a `torch.save` of the value, all in `__0_0.distcp`, and `.metadata` is the
 * pickled `Metadata` (one chunk per tensor, `planner_data` with each key's path). The data file
 * streams one item at a time; `.metadata` is ready once it has been written.
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import { encodePickle, pyGlobal } from "../pickle/index.js";
import type { PyGlobal, PyValue } from "../pickle/index.js";
import type { Storage, Tensor, TorchHost, TorchValue, WriteOptions } from "../torch/index.js";
import { dtypeByName, isTensor, readTensorBytesSync, writeCheckpoint } from "../torch/index.js";
import { contiguousStrides } from "../torch/index.js";

/** The data file a one-process save writes. */
export const DCP_DATA_FILE = "__0_0.distcp";

export interface DcpWriteOptions {
  /** `storage_meta.checkpoint_id` (torch records the directory). Default null. */
  readonly checkpointId?: string;
  /** `storage_meta.save_id`. Default a fixed string, so output is deterministic. */
  readonly saveId?: string;
  /** Passed to the writer of each item (CRC function, say). */
  readonly write?: Omit<WriteOptions, "layout" | "archiveName">;
}

/** The two files of the directory: the data file as chunks, then `.metadata`. */
export interface DcpWritePlan {
  /** `__0_0.distcp`, one item archive per chunk. */
  readonly data: Iterable<Uint8Array>;
  /** `.metadata`; call after `data` has been fully iterated. */
  metadata(): Uint8Array;
  /** The flattened keys, in order. */
  readonly keys: readonly string[];
}

interface Leaf {
  readonly fqn: string;
  readonly path: KeyPath;
  readonly value: TorchValue;
}

/**
 * Plans a DCP directory for `root` (a dict).
 * @throws CheckpointError `invalid-argument` when `root` is not a dict or two keys flatten alike;
 *   the writer's errors while `data` is iterated.
 */
export function planDcp(root: TorchValue, options: DcpWriteOptions = {}): DcpWritePlan {
  const leaves = flatten(root);
  const records: { leaf: Leaf; offset: number; length: number }[] = [];
  let done = false;
  function* data(): Generator<Uint8Array> {
    let offset = 0;
    for (const leaf of leaves) {
      const bytes = itemBytes(leaf, options);
      records.push({ leaf, offset, length: bytes.length });
      offset += bytes.length;
      yield bytes;
    }
    done = true;
  }
  return {
    data: data(),
    keys: leaves.map((l) => l.fqn),
    metadata() {
      if (!done) throw new CheckpointError("invalid-argument", "planDcp: write the data file before asking for .metadata");
      return encodePickle(metadataValue(records, options) as PyValue<TorchHost>, { protocol: 4 });
    },
  };
}

/** torch's traverse_state_dict + flatten_state_dict: the leaves and their dotted keys. */
function flatten(root: TorchValue): Leaf[] {
  if (kindOf(root) !== "dict") throw new CheckpointError("invalid-argument", "a DCP checkpoint is a dict at its root");
  const out: Leaf[] = [];
  const seen = new Set<string>();
  const visit = (path: (string | number)[], v: TorchValue): void => {
    if (kindOf(v) === "dict") {
      for (const [k, x] of (v as { entries: [TorchValue, TorchValue][] }).entries) visit([...path, keyText(k, path)], x);
    } else if (isTerminal(v)) {
      const fqn = path.map(String).join(".");
      if (seen.has(fqn)) throw new CheckpointError("invalid-argument", `two values flatten to the key ${JSON.stringify(fqn)}`, { path });
      seen.add(fqn);
      out.push({ fqn, path, value: v });
    } else {
      (v as { items: TorchValue[] }).items.forEach((x, i) => visit([...path, i], x));
    }
  };
  for (const [k, x] of (root as { entries: [TorchValue, TorchValue][] }).entries) visit([keyText(k, [])], x);
  return out;
}

function isTerminal(v: TorchValue): boolean {
  const k = kindOf(v);
  if (k === "dict") return false;
  if (k !== "list") return true;
  for (const e of (v as { items: TorchValue[] }).items) {
    const ek = kindOf(e);
    if ((ek === "dict" || ek === "list") && !isTerminal(e)) return false;
    if (isTensor(e)) return false;
  }
  return true;
}

/** Python's `str(key)` for the keys a state dict has. */
function keyText(k: TorchValue, path: KeyPath): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  if (typeof k === "boolean") return k ? "True" : "False";
  if (k === null) return "None";
  throw new CheckpointError("invalid-argument", "a DCP key must be a str, int, bool or None", { path: [...path] });
}

function kindOf(v: unknown): string | undefined {
  return typeof v === "object" && v !== null ? ((v as { kind?: unknown }).kind as string | undefined) : undefined;
}

/** A tensor item is `torch.save` of the tensor with a storage of its own (torch clones views); anything else is `torch.save(value)`. */
function itemBytes(leaf: Leaf, options: DcpWriteOptions): Uint8Array {
  // Items are loaded with weights_only=False by torch (load_bytes), so any value the writer can pickle is kept.
  const write = { ...options.write, archiveName: "archive", weightsOnly: false };
  if (!isTensor(leaf.value)) return writeCheckpoint(leaf.value, write);
  const t = leaf.value;
  if (t.layout !== "strided" || t.storage === undefined) throw new CheckpointError("invalid-argument", "DCP stores strided tensors with storage only", { path: leaf.path });
  const info = dtypeByName(t.dtype)!;
  const bytes = readTensorBytesSync(t); // not kept on the storage: one item in memory at a time
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const storage: Storage = {
    kind: "storage", key: "0", storageType: t.storage.storageType, dtype: t.dtype, location: t.device, declaredNumel: info.storageClass !== undefined ? numel : bytes.length,
    byteLength: bytes.length, byteOrder: "little", data: bytes,
  };
  const own: Tensor = {
    kind: "tensor", dtype: t.dtype, shape: [...t.shape], stride: contiguousStrides(t.shape), storageOffset: 0, storage, device: t.device,
    requiresGrad: t.requiresGrad, isParameter: false, layout: "strided",
  };
  return writeCheckpoint(own, write);
}


// ---------------------------------------------------------------------------------------------
// The Metadata pickle, built from the value model (the classes are named, never run).

const META = "torch.distributed.checkpoint.metadata";
const g = (name: string): PyGlobal => pyGlobal(META, name);
const tuple = (items: PyValue[]): PyValue => ({ kind: "tuple", items });
const dict = (entries: [PyValue, PyValue][]): PyValue => ({ kind: "dict", entries });
const dataclass = (cls: PyGlobal, state: [string, PyValue][] | PyValue): PyValue =>
  ({ kind: "object", via: "newobj", callable: cls, args: tuple([]), state: Array.isArray(state) ? dict(state) : state }) as PyValue;
const size = (dims: readonly number[]): PyValue => ({ kind: "object", via: "reduce", callable: pyGlobal("torch", "Size"), args: tuple([tuple([...dims])]) }) as PyValue;

function metadataValue(records: readonly { leaf: Leaf; offset: number; length: number }[], options: DcpWriteOptions): PyValue {
  const strided = { kind: "object", via: "reduce", callable: pyGlobal("torch.serialization", "_get_layout"), args: tuple(["torch.strided"]) } as PyValue;
  const contiguousFormat = { kind: "object", via: "reduce", callable: g("_MEM_FORMAT_ENCODING"), args: tuple([0]) } as PyValue;
  const sdm: [PyValue, PyValue][] = [];
  const storageData: [PyValue, PyValue][] = [];
  const planner: [PyValue, PyValue][] = [];
  for (const { leaf, offset, length } of records) {
    const info: PyValue = dataclass(pyGlobal("torch.distributed.checkpoint.filesystem", "_StorageInfo"), [["relative_path", DCP_DATA_FILE], ["offset", offset], ["length", length]]);
    if (isTensor(leaf.value)) {
      const t = leaf.value;
      const props = dataclass(g("TensorProperties"), tuple([pyGlobal("torch", t.dtype), strided, t.requiresGrad, contiguousFormat, false]));
      const chunk = dataclass(g("ChunkStorageMetadata"), [["offsets", size(t.shape.map(() => 0))], ["sizes", size(t.shape)]]);
      sdm.push([leaf.fqn, dataclass(g("TensorStorageMetadata"), [["properties", props], ["size", size(t.shape)], ["chunks", { kind: "list", items: [chunk] }]])]);
      storageData.push([dataclass(g("MetadataIndex"), [["fqn", leaf.fqn], ["offset", size(t.shape.map(() => 0))], ["index", 0]]), info]);
    } else {
      sdm.push([leaf.fqn, dataclass(g("BytesStorageMetadata"), [])]);
      storageData.push([dataclass(g("MetadataIndex"), [["fqn", leaf.fqn], ["index", null]]), info]);
    }
    planner.push([leaf.fqn, tuple([...leaf.path])]);
  }
  const storageMeta = dataclass(g("StorageMeta"), [["checkpoint_id", options.checkpointId ?? null], ["save_id", options.saveId ?? "torchsave"], ["load_id", null]]);
  return dataclass(g("Metadata"), [["state_dict_metadata", dict(sdm)], ["planner_data", dict(planner)], ["storage_data", dict(storageData)], ["storage_meta", storageMeta]]);
}
