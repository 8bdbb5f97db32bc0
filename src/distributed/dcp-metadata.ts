/**
 * The `.metadata` file of a torch.distributed.checkpoint (DCP) directory: a plain pickle of
 * `torch.distributed.checkpoint.metadata.Metadata`, decoded inertly (nothing it names is run) and
 * read into plain data:
 * - `state_dict_metadata`: flattened key → `TensorStorageMetadata(properties, size, chunks)` or
 *   `BytesStorageMetadata()`, in save order;
 * - `storage_data`: `MetadataIndex(fqn, offset)` → `_StorageInfo(relative_path, offset, length)`;
 * - `planner_data`: flattened key → the key path of the nested state dict (strings and list indices).
 * `TensorProperties` is pickled as a tuple `(dtype, layout, requires_grad, memory_format,
 * pin_memory)` since torch 2.1 and as a dict of those fields before; both are read.
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import { decodePickle } from "../pickle/index.js";
import type { PyObject, PyValue } from "../pickle/index.js";
import { dtypeByName } from "../torch/index.js";
import type { DTypeName } from "../torch/index.js";

/** One stored piece of a tensor: its box in the full tensor and where its `torch.save` archive is. */
export interface DcpChunk {
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  /** File relative to the checkpoint directory (`__0_0.distcp`). */
  readonly file: string;
  /** Byte range of the chunk's archive in that file. */
  readonly offset: number;
  readonly length: number;
  /**
   * True when the range holds the chunk's raw row-major bytes (a safetensors-based DCP file)
   * rather than a `torch.save` archive.
   */
  readonly raw?: true;
}

export type DcpEntry =
  | {
      readonly kind: "tensor";
      /** The flattened key (`model.fc.weight`, `optim.state.fc.weight.exp_avg`). */
      readonly fqn: string;
      readonly dtype: DTypeName;
      readonly shape: readonly number[];
      readonly requiresGrad: boolean;
      readonly chunks: readonly DcpChunk[];
    }
  | {
      /** Any other value, stored as `torch.save(value)` at a byte range of a file. */
      readonly kind: "bytes";
      readonly fqn: string;
      readonly file: string;
      readonly offset: number;
      readonly length: number;
    };

export interface DcpMetadata {
  /** In `state_dict_metadata` order (the order torch rebuilds the state dict in). */
  readonly entries: readonly DcpEntry[];
  /** Flattened key → nested key path (from `planner_data`); keys without one stay at the top. */
  readonly paths: ReadonlyMap<string, KeyPath>;
  /** Every file the entries refer to, sorted. */
  readonly files: readonly string[];
}

const MODULE = "torch.distributed.checkpoint.metadata";

/**
 * Reads a `.metadata` file.
 * @throws CheckpointError `invalid-data` when it is not a DCP Metadata pickle or a field is
 *   malformed (with the key path of the entry), `missing-record` when a chunk has no storage info,
 *   `unsupported` for transformed (compressed) items; PickleDecodeError for a damaged pickle.
 */
export function readDcpMetadata(bytes: Uint8Array, file = ".metadata"): DcpMetadata {
  const root = decodePickle(bytes, { reducers: {} });
  const fail = (reason: string, path: KeyPath = []): never => {
    throw new CheckpointError("invalid-data", reason, { file, path });
  };
  const meta = attrs(root, MODULE, "Metadata") ?? fail("not a torch.distributed.checkpoint Metadata pickle");
  const sdm = dictEntries(meta.get("state_dict_metadata")) ?? fail("state_dict_metadata is not a dict");
  const storage = new Map<string, { file: string; offset: number; length: number }>();
  for (const [k, v] of dictEntries(meta.get("storage_data")) ?? fail("storage_data is not a dict")) {
    const index = attrs(k, MODULE, "MetadataIndex") ?? fail("a storage_data key is not a MetadataIndex");
    const fqn = index.get("fqn");
    if (typeof fqn !== "string") fail("a MetadataIndex has no fqn");
    const where = [fqn as string];
    const offset = index.get("offset");
    const key = storageKey(fqn as string, offset === null || offset === undefined ? undefined : sizeOf(offset) ?? fail("bad MetadataIndex offset", where));
    const info = attrs(v, "torch.distributed.checkpoint.filesystem", "_StorageInfo") ?? fail("a storage_data value is not a _StorageInfo", where);
    const transforms = info.get("transform_descriptors");
    if (transforms !== undefined && transforms !== null && !isEmptySeq(transforms)) {
      throw new CheckpointError("unsupported", "transformed (compressed) DCP items are not read yet", { file, path: where });
    }
    const rel = info.get("relative_path");
    const off = info.get("offset");
    const len = info.get("length");
    if (typeof rel !== "string" || !isSafeFileName(rel)) fail(`bad relative_path ${JSON.stringify(rel)}`, where);
    if (!isCount(off) || !isCount(len)) fail("bad storage offset or length", where);
    storage.set(key, { file: rel as string, offset: off as number, length: len as number });
  }
  const entries: DcpEntry[] = [];
  const seen = new Set<string>();
  for (const [k, v] of sdm) {
    if (typeof k !== "string") fail("a state_dict_metadata key is not a string");
    const fqn = k as string;
    const where = [fqn];
    if (seen.has(fqn)) fail("duplicate key", where);
    seen.add(fqn);
    const located = (offsets?: readonly number[]) =>
      storage.get(storageKey(fqn, offsets)) ??
      (() => {
        throw new CheckpointError("missing-record", `no storage info for ${offsets === undefined ? "the item" : `the chunk at [${offsets.join(", ")}]`}`, { file, path: where });
      })();
    if (attrs(v, MODULE, "BytesStorageMetadata") !== undefined) {
      entries.push({ kind: "bytes", fqn, ...located() });
      continue;
    }
    const tsm = attrs(v, MODULE, "TensorStorageMetadata") ?? fail("neither TensorStorageMetadata nor BytesStorageMetadata", where);
    const props = tensorProperties(tsm.get("properties")) ?? fail("bad TensorProperties", where);
    const shape = sizeOf(tsm.get("size")) ?? fail("bad tensor size", where);
    const chunks: DcpChunk[] = [];
    const list = tsm.get("chunks");
    if (!isList(list)) fail("chunks is not a list", where);
    for (const c of (list as { items: PyValue[] }).items) {
      const ca = attrs(c, MODULE, "ChunkStorageMetadata") ?? fail("a chunk is not a ChunkStorageMetadata", where);
      const offsets = sizeOf(ca.get("offsets")) ?? fail("bad chunk offsets", where);
      const sizes = sizeOf(ca.get("sizes")) ?? fail("bad chunk sizes", where);
      if (offsets.length !== shape.length || sizes.length !== shape.length) fail("a chunk's rank differs from the tensor's", where);
      chunks.push({ offsets, sizes, ...located(offsets) });
    }
    entries.push({ kind: "tensor", fqn, dtype: props.dtype, shape, requiresGrad: props.requiresGrad, chunks });
  }
  const paths = new Map<string, KeyPath>();
  const planner = meta.get("planner_data");
  if (planner !== undefined && planner !== null) {
    for (const [k, v] of dictEntries(planner) ?? fail("planner_data is not a dict")) {
      if (typeof k !== "string") fail("a planner_data key is not a string");
      const items = seqItems(v);
      if (items === undefined || items.length === 0 || !items.every((x) => typeof x === "string" || isCount(x))) fail("bad planner_data path", [k as string]);
      if (typeof items![0] !== "string") fail("a planner_data path must start with a string key", [k as string]);
      paths.set(k as string, items as (string | number)[]);
    }
  }
  const files = new Set<string>();
  for (const e of entries) {
    if (e.kind === "bytes") files.add(e.file);
    else for (const c of e.chunks) files.add(c.file);
  }
  return { entries, paths, files: [...files].sort() };
}

function storageKey(fqn: string, offsets?: readonly number[]): string {
  return offsets === undefined ? `${fqn}\u0000` : `${fqn}\u0000${offsets.join(",")}`;
}

/** A file name inside the checkpoint directory: no separators, no `..`, no NUL. */
function isSafeFileName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && !/[/\\\u0000]/.test(s) && s !== "." && s !== "..";
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isList(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "list";
}

function seqItems(v: unknown): PyValue[] | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const k = (v as { kind?: unknown }).kind;
  return k === "tuple" || k === "list" ? (v as { items: PyValue[] }).items : undefined;
}

function isEmptySeq(v: unknown): boolean {
  const items = seqItems(v);
  return items !== undefined && items.length === 0;
}

function dictEntries(v: unknown): [PyValue, PyValue][] | undefined {
  if (typeof v !== "object" || v === null || (v as { kind?: unknown }).kind !== "dict") return undefined;
  return (v as { entries: [PyValue, PyValue][] }).entries;
}

/** The object's class when it is `module.name`. */
function isInstance(v: unknown, module: string, name: string): v is PyObject {
  if (typeof v !== "object" || v === null || (v as { kind?: unknown }).kind !== "object") return false;
  const c = (v as PyObject).callable as { kind?: unknown; module?: unknown; name?: unknown };
  return c?.kind === "global" && c.module === module && c.name === name;
}

/** A dataclass instance's attributes (its BUILD state dict), when `v` is one of `module.name`. */
function attrs(v: unknown, module: string, name: string): Map<string, PyValue> | undefined {
  if (!isInstance(v, module, name)) return undefined;
  const out = new Map<string, PyValue>();
  const state = v.state;
  if (state === undefined || state === null) return out;
  let dict = dictEntries(state);
  // A (dict, slots) pair, as dataclasses with __slots__ pickle.
  if (dict === undefined) {
    const pair = seqItems(state);
    if (pair !== undefined && pair.length === 2) dict = [...(dictEntries(pair[0]) ?? []), ...(dictEntries(pair[1]) ?? [])];
  }
  if (dict === undefined) return undefined;
  for (const [k, x] of dict) if (typeof k === "string") out.set(k, x);
  return out;
}

/** `torch.Size((2, 3))` (or a bare tuple/list) as numbers. */
function sizeOf(v: unknown): number[] | undefined {
  let items = seqItems(v);
  if (items === undefined && isInstance(v, "torch", "Size")) {
    const args = seqItems(v.args);
    items = args !== undefined && args.length === 1 ? seqItems(args[0]) : args?.length === 0 ? [] : undefined;
  }
  if (items === undefined || items.length > 64 || !items.every(isCount)) return undefined;
  return items as number[];
}

/** dtype and requires_grad from either pickled form of TensorProperties. */
function tensorProperties(v: unknown): { dtype: DTypeName; requiresGrad: boolean } | undefined {
  if (!isInstance(v, MODULE, "TensorProperties")) return undefined;
  let dtype: unknown;
  let requiresGrad: unknown = false;
  const tuple = seqItems(v.state);
  if (tuple !== undefined) [dtype, , requiresGrad] = tuple;
  else {
    const a = attrs(v, MODULE, "TensorProperties");
    dtype = a?.get("dtype");
    requiresGrad = a?.get("requires_grad") ?? false;
  }
  const g = dtype as { kind?: unknown; module?: unknown; name?: unknown } | undefined;
  if (g?.kind !== "global" || g.module !== "torch" || typeof g.name !== "string") return undefined;
  const info = dtypeByName(g.name);
  if (info === undefined || typeof requiresGrad !== "boolean") return undefined;
  return { dtype: info.name, requiresGrad };
}
