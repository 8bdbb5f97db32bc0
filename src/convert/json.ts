/**
 * The lossless JSON checkpoint format (docs/json-format.md, "Checkpoints"): the JSON value format
 * plus tensors, storages and numpy arrays. A document is
 * `{"$torchsave": 1, "storages": [...], "root": <value>}`: every storage once, its bytes in
 * base64, and tensors naming their storage by key, so sharing and views survive.
 */
import { ConvertError, isTorchsaveError } from "../errors.js";
import type { PyValue } from "../pickle/value.js";
import type { Storage, StorageLocation, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, isNdArray, isStorage, isTensor } from "../torch/index.js";
import type { ByteSource } from "../bytes/source.js";
import { bytesSource } from "../bytes/source.js";
import { TextSink } from "../bytes/text-sink.js";
import { decodeBase64Bulk, encodeBase64Bulk } from "./base64-bulk.js";
import { guarded, rootOf, type ConvertInput } from "./input.js";
import { directRootJson } from "./json-direct.js";
import { largeData, SMALL_STORAGE, slicedData, sliceReader, StorageLineWriter } from "./json-bytes.js";
import { jsonPieces as prettyPieces } from "./json-pretty.js";
import { directRootBytes, directRootPieces, type DirectTensors } from "./json-direct-print.js";
import { parseJsonSource } from "./json-read.js";
import { base64Location, isLocatedBase64 } from "./json-read-data.js";
import { valueFromJson, valueToJson, type JsonValue } from "./json-value.js";
import { DEFAULT_JSON_MAX_DEPTH } from "./json-value-types.js";
import { headerText, storageData, storageFromHeader, storageHeader, type StorageHeader } from "./storage-table.js";
import { ndarrayFromRecord, ndarrayRecord, tensorFromRecord, tensorRecord } from "./torch-records.js";
import { graphFacts, type GraphFacts } from "./value-graph.js";

/** Version of the document layout, the value of `"$torchsave"`. */
export const JSON_FORMAT_VERSION = 1;

/** Characters of storage-table text gathered before it is yielded. */
const TEXT_GATHER = 64 * 1024;

/** Options of {@link toJson} and {@link jsonChunks}. */
export interface JsonOptions {
  /** Spaces per nesting level of the root value; 0 writes it on one line. Default 1. */
  readonly indent?: number;
  /**
   * Deepest key path written before `limit-exceeded`, as the msgpack and plain-JSON writers bound
   * theirs. Default {@link DEFAULT_JSON_MAX_DEPTH} (1000).
   */
  readonly maxDepth?: number;
}

/**
 * The JSON document of a checkpoint or value, in pieces (storages base64-encoded a few MB at a
 * time, so a checkpoint larger than one JS string can be written to a file).
 * @throws ConvertError (with the key path) for a value outside the model; CheckpointError when a
 *   storage's bytes cannot be read.
 */
export function* jsonChunks(input: ConvertInput, options: JsonOptions = {}): Generator<string> {
  const ascii = new TextDecoder();
  for (const piece of jsonPieces(input, options)) yield typeof piece === "string" ? piece : ascii.decode(piece);
}

/**
 * {@link jsonChunks} as UTF-8 chunks of about a MiB, for files and streams: large storages are
 * base64-encoded straight into bytes (never a string), small ones join the text around them.
 */
export function* jsonBytes(input: ConvertInput, options: JsonOptions = {}): Generator<Uint8Array> {
  const root = rootOf(input);
  const facts = graphFacts(root);
  const indent = options.indent ?? 1;
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  // Everything straight into output buffers (json-bytes.ts); the same bytes as documentChunks.
  const sink = new TextSink();
  // As in rootPieces: the root is checked (or its JSON made) before the first byte.
  const direct = directRootBytes(root, facts, maxDepth, directTensors(facts), indent, 1, sink);
  const general = direct === undefined ? generalRootPieces(root, facts, indent, maxDepth) : undefined;
  const lines = new StorageLineWriter(sink, facts.keyOf);
  sink.text(documentHead(indent));
  let first = true;
  for (const s of facts.storages) {
    sink.text(lineStart(first, indent));
    first = false;
    if (!lines.header(s, facts.storageKey(s))) {
      const slices = sliceReader(s);
      const data = slices === undefined ? storageData(s) : undefined;
      if (data !== undefined && data.length <= SMALL_STORAGE) lines.data(data);
      else {
        for (const piece of slices !== undefined ? slicedData(s, slices) : largeData(data!)) {
          if (typeof piece === "string") sink.text(piece);
          else {
            sink.flush();
            yield* sink.take();
            yield piece;
          }
        }
      }
    }
    sink.text("}");
    if (sink.ready.length > 0) yield* sink.take();
  }
  sink.text(tableEnd(first, indent));
  if (direct !== undefined) yield* direct;
  else {
    for (const piece of general!) {
      sink.text(piece);
      if (sink.ready.length > 0) yield* sink.take();
    }
  }
  sink.text(documentEnd(indent));
  sink.flush();
  yield* sink.take();
}

function jsonPieces(input: ConvertInput, options: JsonOptions): Generator<string | Uint8Array> {
  const root = rootOf(input);
  return documentChunks(root, graphFacts(root), options.indent ?? 1, options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH, (s) => {
    const slices = sliceReader(s);
    if (slices !== undefined) return slicedData(s, slices);
    const data = storageData(s);
    // A small storage is one string (no generator per storage).
    if (data.length <= SMALL_STORAGE) return `,"data":"${encodeBase64Bulk(data)}"`;
    return largeData(data);
  });
}

/**
 * A checkpoint document's text. `storageFields(s)` gives the fields (one string, or pieces) after a storage's header
 * (`,"data":"..."` here, `,"entry":"name"` in a safetensors skeleton); views get none.
 */
export function* documentChunks<P extends string | Uint8Array>(
  root: TorchValue, facts: GraphFacts, indent: number, maxDepth: number, storageFields: (s: Storage) => string | Iterable<P>,
): Generator<string | P> {
  const rootText = rootPieces(root, facts, indent, maxDepth);
  yield documentHead(indent);
  let first = true;
  // Text pieces are gathered into strings of about TEXT_GATHER characters (a small storage's line is
  // a few pieces: one write per piece would cost more than making it).
  let text = "";
  for (const s of facts.storages) {
    const h = storageHeader(s, facts.keyOf.get(s)!, facts.keyOf);
    text += `${lineStart(first, indent)}${headerText(h)}`;
    first = false;
    const fields = h.view === undefined ? storageFields(s) : "";
    if (typeof fields === "string") text += fields;
    else {
      for (const piece of fields) {
        if (typeof piece === "string") {
          text += piece;
          continue;
        }
        if (text.length > 0) yield text;
        text = "";
        yield piece;
      }
    }
    text += "}";
    if (text.length >= TEXT_GATHER) {
      yield text;
      text = "";
    }
  }
  yield `${text}${tableEnd(first, indent)}`;
  yield* rootText;
  yield documentEnd(indent);
}

/**
 * The root's text in pieces: printed straight from the value when the direct builder takes it,
 * else its JSON made now. Either way a value the format cannot hold is refused here, before the
 * document's first piece.
 */
function rootPieces(root: TorchValue, facts: GraphFacts, indent: number, maxDepth: number): Iterable<string> {
  return directRootPieces(root, facts, maxDepth, directTensors(facts), indent, 1) ?? generalRootPieces(root, facts, indent, maxDepth);
}

/** The root's JSON made now (refusing what the format cannot hold), printed in pieces. */
function generalRootPieces(root: TorchValue, facts: GraphFacts, indent: number, maxDepth: number): Iterable<string> {
  const rootJson = valueToJson<TorchHost>(root, { host: hostToJson(facts), maxDepth });
  return prettyPieces(rootJson, { indent, separators: "tight" }, 1);
}

const documentHead = (indent: number): string =>
  indent > 0 ? `{"$torchsave": ${JSON_FORMAT_VERSION},\n "storages": [` : `{"$torchsave":${JSON_FORMAT_VERSION},"storages":[`;
const lineStart = (first: boolean, indent: number): string => (indent > 0 ? (first ? "\n  " : ",\n  ") : first ? "" : ",");
const tableEnd = (empty: boolean, indent: number): string => (indent > 0 ? `${empty ? "" : "\n "}],\n "root": ` : `],"root":`);
const documentEnd = (indent: number): string => (indent > 0 ? "\n}\n" : "}");

/**
 * The JSON of a document's root: built directly for the common shapes (json-direct.ts), else by
 * `valueToJson` (`direct` false always takes that general path; tests compare the two).
 */
export function rootValueJson(root: TorchValue, facts: GraphFacts, maxDepth: number, direct = true): JsonValue {
  const plain = (v: TorchValue): JsonValue | undefined => (isTensor(v) && isPlainTensor(v, facts) ? { $tensor: plainTensorJson(v, facts.keyOf.get(v.storage!)!) } : undefined);
  return (direct ? directRootJson(root, facts, maxDepth, plain) : undefined) ?? valueToJson<TorchHost>(root, { host: hostToJson(facts), maxDepth });
}

/**
 * The whole JSON document as one string (see {@link jsonChunks}).
 * @throws ConvertError `limit-exceeded` when the document is too long for one JS string.
 */
export function toJson(input: ConvertInput, options: JsonOptions = {}): string {
  const pieces = [...jsonChunks(input, options)];
  try {
    return pieces.join("");
  } catch (e) {
    throw new ConvertError("limit-exceeded", "the JSON document is too long for one JavaScript string; write it with jsonChunks", { cause: e });
  }
}

/** What the direct printer needs about tensors (json-direct-print.ts). */
export function directTensors(facts: GraphFacts): DirectTensors {
  const key = (t: Tensor): string => facts.storageKey(t.storage!);
  return { isPlain: (t) => isPlainTensor(t, facts), storageKey: key, recordJson: (t) => plainTensorJson(t, key(t)) };
}

/** A strided tensor on a storage whose record holds only its plain fields (no origin, quantization, sparse parts, state). */
export function isPlainTensor(t: Tensor, facts: GraphFacts): boolean {
  const s = t.storage;
  // No origin kept: the record leaves it out only when the canonical call exists (torch-records.ts `canonicalOrigin`).
  const originLeftOut = t.origin === undefined ? s !== undefined && t.device === s.location && t.dtype === s.dtype && dtypeByName(t.dtype)?.name === t.dtype : facts.omitOrigin.has(t);
  return s !== undefined && t.layout === "strided" && originLeftOut && t.quantization === undefined && t.sparse === undefined &&
    t.subclass === undefined && t.state === undefined && Number.isSafeInteger(t.storageOffset) && t.shape.every(Number.isSafeInteger) && t.stride.every(Number.isSafeInteger);
}

/** What `valueToJson(tensorRecord(t))` gives for a tensor {@link isPlainTensor} accepts, made directly. */
export function plainTensorJson(t: Tensor, storageKey: string): JsonValue {
  return { dtype: t.dtype, shape: [...t.shape], stride: [...t.stride], offset: t.storageOffset, storage: storageKey, device: t.device, requires_grad: t.requiresGrad, parameter: t.isParameter };
}

function hostToJson(facts: GraphFacts) {
  const keyOf = (s: Storage): string => facts.keyOf.get(s)!;
  return (v: TorchHost, recurse: (x: PyValue<TorchHost>) => JsonValue): JsonValue => {
    if (isTensor(v)) {
      // The common case written directly (what the record below converts to, without building it).
      if (isPlainTensor(v, facts)) return { $tensor: plainTensorJson(v, keyOf(v.storage!)) };
      return { $tensor: recurse(tensorRecord(v, keyOf, facts.omitOrigin.has(v))) };
    }
    if (isStorage(v)) return { $storage: keyOf(v) };
    if (isNdArray(v)) return { $ndarray: recurse(ndarrayRecord(v)) };
    throw new ConvertError("unencodable", "not a value of the torch value model");
  };
}

/**
 * Reads a JSON document back: a torchsave checkpoint document (`"$torchsave"`), or a bare value in
 * the JSON value format. Storage bytes are fresh copies.
 * @throws ConvertError `invalid-data` (with the JSON key path) for text that is not such a
 *   document; `unsupported` for a newer document version.
 */
export function fromJson(text: string | Uint8Array): TorchValue {
  if (typeof text !== "string") return fromJsonSource(bytesSource(text));
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConvertError("invalid-data", `not JSON: ${(e as Error).message}`, { cause: e });
  }
  return fromJsonValue(doc as JsonValue);
}

/**
 * Reads a JSON document from a source without ever holding it as one string, so documents of any
 * size read (a JS string stops at about 512 MiB). The source must read synchronously (a file, bytes
 * in memory). Storage bytes are not read now: each storage's base64 text stays in the source and
 * is decoded when the storage's bytes are asked for, so converting the document holds one storage
 * at a time.
 * @throws ConvertError `truncated` or `invalid-data` with the byte offset for a document that is
 *   not complete, valid JSON (or not strict base64 where bytes belong); otherwise as {@link fromJson}.
 */
export function fromJsonSource(source: ByteSource): TorchValue {
  const doc = parseJsonSource(source);
  return fromJsonValue(doc);
}

/** {@link fromJson} for a document already parsed (e.g. by a streaming JSON parser). */
export function fromJsonValue(doc: JsonValue): TorchValue {
  return guarded("JSON", () => documentFromJsonValue(doc, "data", (text) => decodeBase64Bulk(text)));
}

/**
 * Reads a checkpoint document whose storages carry their bytes in `field` (a string that `bytes`
 * turns into the storage's bytes, or undefined when it is not valid). A document without
 * `"$torchsave"` is read as a bare value (no storages).
 */
export function documentFromJsonValue(doc: JsonValue, field: string, bytes: (text: string, key: string) => Uint8Array | StorageLocation | undefined): TorchValue {
  const isDoc = typeof doc === "object" && doc !== null && !Array.isArray(doc) && Object.hasOwn(doc, "$torchsave");
  if (!isDoc) return valueFromJson<TorchHost>(doc, { host: hostFromJson(new Map()) });
  const d = doc as Record<string, JsonValue>;
  if (d.$torchsave !== JSON_FORMAT_VERSION) {
    throw new ConvertError("unsupported", `torchsave JSON version ${JSON.stringify(d.$torchsave)} (this reads ${JSON_FORMAT_VERSION})`, { path: ["$torchsave"] });
  }
  for (const k of Object.keys(d)) {
    if (k !== "$torchsave" && k !== "storages" && k !== "root") throw new ConvertError("invalid-data", `unexpected key ${JSON.stringify(k)} in a torchsave document`, { path: [k] });
  }
  const storages = readStorages(d.storages, field, bytes);
  if (!Object.hasOwn(d, "root")) throw new ConvertError("invalid-data", "a torchsave document needs \"root\"");
  return valueFromJson<TorchHost>(d.root!, { host: hostFromJson(storages) });
}

function readStorages(list: JsonValue | undefined, field: string, bytes: (text: string, key: string) => Uint8Array | StorageLocation | undefined): Map<string, Storage> {
  const byKey = new Map<string, Storage>();
  if (!Array.isArray(list)) throw new ConvertError("invalid-data", "\"storages\" must be an array", { path: ["storages"] });
  const allowed = new Set(["key", "type", "dtype", "location", "numel", "byte_order", "view", field]);
  list.forEach((entry, i) => {
    const path = ["storages", i];
    const fail = (reason: string, key?: string) => new ConvertError("invalid-data", reason, { path: key === undefined ? path : [...path, key] });
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail("a storage entry must be an object");
    const e = entry as Record<string, JsonValue>;
    for (const k of Object.keys(e)) if (!allowed.has(k)) throw fail(`unexpected key ${JSON.stringify(k)}`, k);
    const str = (k: string): string => {
      const v = e[k];
      if (typeof v !== "string") throw fail(`${k} must be a string`, k);
      return v;
    };
    const count = (v: JsonValue | undefined, k: string): number => {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw fail(`${k} must be an int >= 0`, k);
      return v;
    };
    const type = e.type;
    if (!Array.isArray(type) || type.length !== 2 || typeof type[0] !== "string" || typeof type[1] !== "string") throw fail("type must be [module, name]", "type");
    const order = Object.hasOwn(e, "byte_order") ? str("byte_order") : "little";
    if (order !== "little" && order !== "big") throw fail("byte_order must be \"little\" or \"big\"", "byte_order");
    let header: StorageHeader = {
      key: str("key"), type: [type[0], type[1]], dtype: str("dtype") as StorageHeader["dtype"], location: str("location"),
      numel: count(e.numel, "numel"), byteOrder: order,
    };
    if (Object.hasOwn(e, "view")) {
      const v = e.view;
      if (typeof v !== "object" || v === null || Array.isArray(v) || typeof v.root !== "string") throw fail("view must be {root, offset}", "view");
      header = { ...header, view: { root: v.root, offset: count(v.offset, "view.offset") } };
    }
    let data: Uint8Array | StorageLocation | undefined;
    if (Object.hasOwn(e, field)) {
      const raw = e[field];
      data = isLocatedBase64(raw) ? base64Location(raw, `data of storage ${header.key}`) : bytes(str(field), header.key);
      if (data === undefined) throw fail(field === "data" ? "data is not strict base64" : `${field} names nothing`, field);
    }
    if (byKey.has(header.key)) throw fail(`storage key ${header.key} is listed twice`, "key");
    byKey.set(header.key, storageFromHeader(header, data, byKey, path));
  });
  return byKey;
}

function hostFromJson(storages: ReadonlyMap<string, Storage>) {
  const storage = (key: JsonValue | undefined): Storage => {
    if (typeof key !== "string") throw new ConvertError("invalid-data", "a $storage names its storage by key (a string)");
    const s = storages.get(key);
    if (s === undefined) throw new ConvertError("invalid-data", `storage ${JSON.stringify(key)} is not in the document's storage table`);
    return s;
  };
  return (tag: string, obj: Record<string, JsonValue>, recurse: (j: JsonValue) => PyValue<TorchHost>): PyValue<TorchHost> | undefined => {
    for (const k of Object.keys(obj)) {
      if (k !== tag && k !== "$id") throw new ConvertError("invalid-data", `unexpected key ${JSON.stringify(k)} beside ${tag}`);
    }
    try {
      switch (tag) {
        case "$tensor":
          return tensorFromRecord(recurse(obj.$tensor!), storage);
        case "$storage":
          return storage(obj.$storage);
        case "$ndarray":
          return ndarrayFromRecord(recurse(obj.$ndarray!));
        default:
          return undefined;
      }
    } catch (e) {
      if (isTorchsaveError(e)) throw e;
      throw new ConvertError("invalid-data", `bad ${tag}: ${(e as Error).message}`, { cause: e });
    }
  };
}
