/**
 * safetensors ↔ the torch value model. Every storage becomes one entry: named and shaped like the
 * tensor when a single tensor covers it exactly (the usual state_dict), or a flat entry of the
 * storage's elements otherwise (views, shared storages). Whatever else the checkpoint holds — its
 * nesting, OrderedDict and `_metadata`, optimizer state, epochs, RNG states, which entry each
 * tensor views — is the `"torchsave"` skeleton in `__metadata__`: a lossless JSON document whose
 * storages name their entry. Reading a file with a skeleton gives the same value back; a foreign
 * file gives a dict of its tensors in file order.
 */
import type { ByteSource } from "../bytes/source.js";
import { blobSource, bytesSource } from "../bytes/source.js";
import { ConvertError, isTorchsaveError, type KeyPath } from "../errors.js";
import { pyDict, pyGlobal } from "../pickle/value.js";
import type { DTypeInfo, Storage, StorageLocation, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, dtypeBySafetensors, isContiguous, numel, readStorageBytesSync, walkTensors } from "../torch/index.js";
import { rootOf, type ConvertInput } from "./input.js";
import { documentChunks, documentFromJsonValue } from "./json.js";
import type { JsonValue } from "./json-value.js";
import { DEFAULT_JSON_MAX_DEPTH } from "./json-value-types.js";
import { headerLength, parseHeader, SAFETENSORS_DTYPE_BITS, writeHeader, type EntryToWrite, type SafetensorsHeader } from "./safetensors-header.js";
import { graphFacts } from "./value-graph.js";
import { concatBytes } from "../bytes/concat.js";

/** The `__metadata__` key holding the skeleton. */
export const SAFETENSORS_SKELETON_KEY = "torchsave";

/** Options of {@link toSafetensors}, {@link safetensorsChunks} and {@link planSafetensors}. */
export interface ToSafetensorsOptions {
  /** More `__metadata__` entries (str → str). `"torchsave"` is reserved; `"format"` defaults to "pt". */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Storages that several tensors share, or that a tensor covers only in part (a view): "keep"
   * (default) writes the storage once and records each view in the skeleton; "refuse" throws
   * `unencodable` naming the tensors, for files that must be plain name → tensor maps.
   */
  readonly shared?: "keep" | "refuse";
  /**
   * Dtypes safetensors has no code for (complex128, complex32, quantized, bits, sub-byte ints) and
   * big-endian storages: "bytes" (default) stores the raw bytes as a U8 entry, the dtype in the
   * skeleton; "refuse" throws `unsupported` naming the tensor.
   */
  readonly rawDtypes?: "bytes" | "refuse";
  /** Write the skeleton (default true). Without it a reader sees only the entries: lossy unless the value is a flat dict of tensors. */
  readonly skeleton?: boolean;
}

/** One entry to write and the storage whose bytes fill it. */
interface Planned extends EntryToWrite {
  readonly storage: Storage;
}

/** What writing will do: the header, the entries in data order, and notes for the user. */
export interface SafetensorsPlan {
  readonly header: Uint8Array;
  readonly entries: readonly Planned[];
  /** Human-readable notes on what was stored specially (raw bytes, shared storages). */
  readonly notes: readonly string[];
}

/**
 * Decides names, dtypes and shapes of the entries and builds the header.
 * @throws ConvertError `unencodable` / `unsupported` per the `shared` / `rawDtypes` policies,
 *   `invalid-argument` for a reserved metadata key.
 */
export function planSafetensors(input: ConvertInput, options: ToSafetensorsOptions = {}): SafetensorsPlan {
  const root = rootOf(input);
  if (options.metadata !== undefined && Object.hasOwn(options.metadata, SAFETENSORS_SKELETON_KEY)) {
    throw new ConvertError("invalid-argument", `the __metadata__ key "${SAFETENSORS_SKELETON_KEY}" is reserved for the skeleton`);
  }
  const facts = graphFacts(root);
  const pathOf = new Map<Tensor, KeyPath>();
  for (const e of walkTensors(root, { into: "all" })) if (!pathOf.has(e.tensor)) pathOf.set(e.tensor, e.path);
  const users = new Map<Storage, Tensor[]>();
  for (const t of facts.tensors) {
    const s = t.storage?.view?.root ?? t.storage;
    if (s === undefined) continue;
    const list = users.get(s);
    if (list === undefined) users.set(s, [t]);
    else list.push(t);
  }
  const notes: string[] = [];
  const names = new Set<string>();
  const unique = (base: string): string => {
    const stem = base === "" ? "tensor" : base;
    let name = stem === "__metadata__" ? `${stem}#1` : stem;
    for (let n = 2; names.has(name); n++) name = `${stem}#${n}`;
    names.add(name);
    return name;
  };
  const label = (t: Tensor | undefined): string => (t === undefined ? "(a nested tensor)" : pathText(pathOf.get(t) ?? []) || "(root)");
  const planned: Planned[] = [];
  const entryOf = new Map<Storage, string>();
  const viewed = new Set<Storage>();
  for (const v of facts.storages) if (v.view !== undefined) viewed.add(v.view.root);
  for (const s of facts.storages) {
    if (s.view !== undefined) continue;
    const tensors = users.get(s) ?? [];
    const views = viewed.has(s);
    // The first named tensor that is the whole storage names and shapes the entry (tied weights: the first name).
    const cover = tensors.find((t) => pathOf.has(t) && coversExactly(t, s));
    const exact = cover !== undefined;
    if (options.shared === "refuse" && (tensors.length > 1 || views || (tensors.length === 1 && !exact))) {
      const who = tensors.map(label).join(", ");
      throw new ConvertError("unencodable", tensors.length > 1 || views
        ? `tensors ${who} share one storage; safetensors entries cannot share bytes (use shared: "keep" to store the storage once)`
        : `tensor ${who} is a view of part of its storage (use shared: "keep", or save a contiguous copy)`, { path: pathOf.get(tensors[0]!) ?? [] });
    }
    const info = dtypeByName(s.dtype)!;
    const code = s.byteOrder === "little" ? info.safetensors : undefined;
    const sharing = tensors.length > 1 || views ? ` shared by ${tensors.map(label).join(", ")}` : "";
    if (exact && code !== undefined && packedShape(cover.shape, info) !== undefined) {
      const path = pathOf.get(cover);
      const name = unique(path === undefined ? `__storage__/${s.key}` : pathText(path));
      planned.push({ name, dtype: code, shape: packedShape(cover.shape, info)!, byteLength: s.byteLength, storage: s });
      entryOf.set(s, name);
      if (sharing !== "") notes.push(`${name}: one storage${sharing}, stored once`);
      continue;
    }
    const first = tensors.find((t) => pathOf.has(t));
    const name = unique(`__storage__/${first === undefined ? s.key : pathText(pathOf.get(first)!)}`);
    if (code !== undefined && s.byteLength % info.itemSize === 0) {
      const elements = s.byteLength / info.itemSize;
      planned.push({ name, dtype: code, shape: [info.packing === undefined ? elements : elements * info.packing], byteLength: s.byteLength, storage: s });
    } else {
      const why = s.byteOrder === "big" ? "is big-endian" : `has dtype ${s.dtype}, which safetensors cannot name`;
      if (options.rawDtypes === "refuse") {
        throw new ConvertError("unsupported", `storage of ${tensors.map(label).join(", ") || s.key} ${why} (use rawDtypes: "bytes" to store its bytes as U8)`, { path: tensors[0] === undefined ? [] : pathOf.get(tensors[0]) ?? [] });
      }
      planned.push({ name, dtype: "U8", shape: [s.byteLength], byteLength: s.byteLength, storage: s });
      notes.push(`${name}: storage ${why}; stored as raw U8 bytes (torchsave restores the dtype)`);
    }
    if (sharing !== "") notes.push(`${name}: one storage${sharing}, stored once`);
    entryOf.set(s, name);
  }
  // Largest elements first, so every entry starts aligned to its element size.
  const align = (e: Planned) => Math.max(1, SAFETENSORS_DTYPE_BITS[e.dtype]! / 8);
  const ordered = planned.map((e, i) => [e, i] as const).sort((a, b) => align(b[0]) - align(a[0]) || a[1] - b[1]).map(([e]) => e);
  const metadata: Record<string, string> = { format: "pt", ...(options.metadata ?? {}) };
  if (options.skeleton !== false) {
    const pieces = documentChunks(root, facts, 0, DEFAULT_JSON_MAX_DEPTH, (s) => [`,"entry":${JSON.stringify(entryOf.get(s)!)}`]);
    metadata[SAFETENSORS_SKELETON_KEY] = [...pieces].join("");
  }
  return { header: writeHeader(ordered, metadata), entries: ordered, notes };
}

/** `a.b.0.c` for a key path; keys that are not str/int (never produced by walks) print as `?`. */
function pathText(path: KeyPath): string {
  return path.map((k) => String(k)).join(".");
}

/** True when `t` is the whole of `s`: contiguous from offset 0, same dtype, every byte. */
function coversExactly(t: Tensor, s: Storage): boolean {
  if (t.storage !== s || t.layout !== "strided" || t.storageOffset !== 0 || t.dtype !== s.dtype) return false;
  const info = dtypeByName(t.dtype);
  return info !== undefined && isContiguous(t.shape, t.stride) && numel(t.shape) * info.itemSize === s.byteLength;
}

/** The safetensors shape of a tensor of `info` (F4 counts values, torch's float4_e2m1fn_x2 bytes of two). */
function packedShape(shape: readonly number[], info: DTypeInfo): number[] | undefined {
  if (info.packing === undefined) return [...shape];
  if (shape.length === 0) return undefined;
  return [...shape.slice(0, -1), shape[shape.length - 1]! * info.packing];
}

/**
 * The file in pieces: the header, then each entry's bytes as they are (views, no copy), one
 * storage at a time, so a large checkpoint streams to a file with bounded memory.
 */
export function* safetensorsChunks(input: ConvertInput, options: ToSafetensorsOptions = {}): Generator<Uint8Array> {
  yield* planChunks(planSafetensors(input, options));
}

/** The chunks of a file already planned (the header first). */
export function* planChunks(plan: SafetensorsPlan): Generator<Uint8Array> {
  yield plan.header;
  for (const e of plan.entries) {
    const data = readStorageBytesSync(e.storage); // not kept: one storage in memory at a time
    if (data.length !== e.byteLength) throw new ConvertError("invalid-data", `storage ${e.storage.key} holds ${data.length} bytes, ${e.byteLength} expected`);
    yield data;
  }
}

/** The whole file as one buffer (see {@link safetensorsChunks}). */
export function toSafetensors(input: ConvertInput, options: ToSafetensorsOptions = {}): Uint8Array {
  // The header is always its own chunk, so this is a new buffer, never a view of tensor bytes.
  return concatBytes([...safetensorsChunks(input, options)]);
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** What reading a safetensors file gives. */
export interface SafetensorsValue {
  /** The skeleton's value, or a dict of every entry (file order) for a foreign file. */
  readonly root: TorchValue;
  /** `__metadata__` without the skeleton. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The parsed header (entries with absolute offsets). */
  readonly header: SafetensorsHeader;
}

/**
 * Reads a safetensors file held in memory; tensors' storages are views into `bytes`.
 * @throws ConvertError `invalid-data` / `truncated` / `limit-exceeded` for files that break the
 *   format's rules, `unsupported` for dtypes torch lacks (F6_E2M3, F6_E3M2).
 */
export function fromSafetensors(bytes: Uint8Array, options: { readonly name?: string } = {}): SafetensorsValue {
  return readSafetensorsSync(bytesSource(bytes, options.name));
}

/** Reads a safetensors file from a synchronous source; storage bytes are read on first access. */
export function readSafetensorsSync(source: ByteSource): SafetensorsValue {
  return located(source, () => {
    const read = (o: number, n: number) => source.bytes?.subarray(o, o + n) ?? source.readSync!(o, n);
    if (source.bytes === undefined && source.readSync === undefined) throw new ConvertError("invalid-argument", "this source reads asynchronously: use openSafetensors");
    if (source.size < 8) throw new ConvertError("truncated", "a safetensors file starts with an 8-byte header length", { offset: 0 });
    const n = headerLength(read(0, 8));
    if (8 + n > source.size) throw new ConvertError("truncated", `the header needs ${n} bytes but the file ends first`, { offset: 8 });
    return build(parseHeader(read(8, n), source.size), source);
  });
}

/** Reads a safetensors file from any source (a Blob, bytes, an async source): the header only, bytes later. */
export async function openSafetensors(
  input: ByteSource | Uint8Array | { size: number; slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } },
): Promise<SafetensorsValue> {
  const source: ByteSource = input instanceof Uint8Array ? bytesSource(input) : "read" in input ? input : blobSource(input);
  if (source.bytes !== undefined || source.readSync !== undefined) return readSafetensorsSync(source);
  if (source.size < 8) throw new ConvertError("truncated", "a safetensors file starts with an 8-byte header length", { offset: 0 });
  const n = headerLength(await source.read(0, 8));
  if (8 + n > source.size) throw new ConvertError("truncated", `the header needs ${n} bytes but the file ends first`, { offset: 8 });
  const header = parseHeader(await source.read(8, n), source.size);
  return located(source, () => build(header, source));
}

function located<T>(source: ByteSource, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isTorchsaveError(e)) throw source.name === undefined || e.file !== undefined ? e : e.withLocation({ file: source.name });
    throw new ConvertError("invalid-data", `unexpected failure reading safetensors: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

function build(header: SafetensorsHeader, source: ByteSource): SafetensorsValue {
  const { [SAFETENSORS_SKELETON_KEY]: skeleton, ...metadata } = header.metadata;
  const byName = new Map(header.entries.map((e) => [e.name, e] as const));
  const bytesOf = (name: string): StorageLocation | undefined => {
    const e = byName.get(name);
    return e === undefined ? undefined : { source, offset: e.begin, length: e.end - e.begin, compression: "none", record: name };
  };
  if (skeleton !== undefined) {
    let doc: JsonValue;
    try {
      doc = JSON.parse(skeleton) as JsonValue;
    } catch (e) {
      throw new ConvertError("invalid-data", `__metadata__.${SAFETENSORS_SKELETON_KEY} is not JSON: ${(e as Error).message}`, { cause: e, path: ["__metadata__", SAFETENSORS_SKELETON_KEY] });
    }
    const root = documentFromJsonValue(doc, "entry", bytesOf);
    return { root, metadata, header };
  }
  const entries: [TorchValue, TorchValue][] = header.entries.map((e, i) => [e.name, entryTensor(e, i, source)]);
  return { root: pyDict<TorchHost>(entries), metadata, header };
}

/** A plain tensor over one entry of a foreign file, as `torch.save` would have pickled it. */
function entryTensor(e: SafetensorsHeader["entries"][number], index: number, source: ByteSource): Tensor {
  const info = dtypeBySafetensors(e.dtype);
  if (info === undefined) throw new ConvertError("unsupported", `tensor ${e.name}: torch has no dtype for safetensors ${e.dtype}`, { path: [e.name] });
  let shape = [...e.shape];
  if (info.packing !== undefined) {
    const last = shape[shape.length - 1];
    if (last === undefined || last % info.packing !== 0) {
      throw new ConvertError("unsupported", `tensor ${e.name}: ${e.dtype} with last dimension ${String(last)} does not pack into ${info.name}`, { path: [e.name] });
    }
    shape = [...shape.slice(0, -1), last / info.packing];
  }
  const byteLength = e.end - e.begin;
  const typed = info.storageClass !== undefined;
  const storage: Storage = {
    kind: "storage", key: String(index), storageType: pyGlobal("torch", typed ? info.storageClass! : "UntypedStorage"), dtype: info.name,
    location: "cpu", declaredNumel: typed ? byteLength / info.itemSize : byteLength, byteLength, byteOrder: "little",
    from: { source, offset: e.begin, length: byteLength, compression: "none", record: e.name },
    ...(source.bytes === undefined ? {} : { data: source.bytes.subarray(e.begin, e.end) }),
  };
  const stride: number[] = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = step;
    step *= shape[i]!;
  }
  // No origin: the standard call, as the reader keeps it.
  return {
    kind: "tensor", dtype: info.name, shape, stride, storageOffset: 0, storage, device: "cpu",
    requiresGrad: false, isParameter: false, layout: "strided",
  };
}
