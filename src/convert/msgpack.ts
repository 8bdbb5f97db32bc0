/**
 * The lossless msgpack format: the same model as the lossless JSON, in binary. Storages are `bin`
 * items (no base64), Python floats are msgpack floats and ints are msgpack ints, dicts are maps
 * with keys of any type in order, and what msgpack cannot say natively is an ext item
 * (`MSGPACK_EXT`: tuple, set, big int, global, tensor, storage, ...). The document is a map:
 * `{"torchsave": 1, "storages": [...], "root": value}` (docs/formats.md).
 */
import { decodeTwosComplement, encodeTwosComplement } from "../bytes/bigint.js";
import { decodeUtf8, encodeUtf8 } from "../bytes/text.js";
import { ConvertError, isTorchsaveError, type KeyPath } from "../errors.js";
import type { PyBuffer, PyDict, PyFloat, PyGlobal, PyObject, PyObjectVia } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { Storage, TorchHost, TorchValue } from "../torch/index.js";
import { isNdArray, isStorage, isTensor } from "../torch/index.js";
import { guarded, hasLoneSurrogate, rootOf, type ConvertInput } from "./input.js";
import { MSGPACK_EXT } from "./msgpack-ext.js";
import { MsgpackReader, MsgpackWriter, type MsgpackItem } from "./msgpack-wire.js";
import { storageData, storageFromHeader, storageHeader, type StorageHeader } from "./storage-table.js";
import { ndarrayFromRecord, ndarrayRecord, tensorFromRecord, tensorRecord } from "./torch-records.js";
import { graphFacts, type GraphFacts } from "./value-graph.js";
import { concatBytes } from "../bytes/concat.js";

/** Version of the document layout, written as the value of the `"torchsave"` key. */
export const MSGPACK_FORMAT_VERSION = 1;

/** Default nesting bound of {@link toMsgpack}/{@link fromMsgpack} (containers inside containers). */
export const DEFAULT_MSGPACK_MAX_DEPTH = 1000;

/** Options of {@link toMsgpack}, {@link msgpackChunks} and {@link fromMsgpack}. */
export interface MsgpackOptions {
  /** Deepest nesting encoded or decoded before `limit-exceeded`. Default {@link DEFAULT_MSGPACK_MAX_DEPTH}. */
  readonly maxDepth?: number;
}

const CANONICAL_NAN = "7ff8000000000000";
const VIAS: readonly PyObjectVia[] = ["reduce", "newobj", "newobj_ex", "inst", "obj"];

// ---------------------------------------------------------------------------------------------
// Encoding.

/**
 * The msgpack document of a checkpoint or value, in pieces: small items are batched, storage bytes
 * are yielded as they are (views, no copy), one storage at a time, so a large checkpoint streams
 * to a file with memory bounded by its largest storage.
 * @throws ConvertError `unencodable` (with the key path) for a value outside the model,
 *   `limit-exceeded` past `maxDepth`; CheckpointError when a storage's bytes cannot be read.
 */
export function* msgpackChunks(input: ConvertInput, options: MsgpackOptions = {}): Generator<Uint8Array> {
  const root = rootOf(input);
  const facts = graphFacts(root);
  const w = new MsgpackWriter(64 * 1024);
  w.mapHeader(3);
  str(w, "torchsave");
  w.int(MSGPACK_FORMAT_VERSION);
  str(w, "storages");
  w.arrayHeader(facts.storages.length);
  for (const s of facts.storages) {
    const key = facts.keyOf.get(s)!;
    const h = storageHeader(s, key, facts.keyOf);
    const data = h.view === undefined ? storageData(s) : undefined;
    writeHeader(w, h, data !== undefined);
    if (data !== undefined) {
      w.binHeader(data.length);
      if (data.length < 64 * 1024) w.raw(data);
      else {
        yield w.drain();
        yield data;
      }
    }
  }
  str(w, "root");
  guarded("msgpack", () => encodeRoot(w, facts, options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH, root));
  yield w.drain();
}

/** The whole msgpack document as one buffer (see {@link msgpackChunks}). */
export function toMsgpack(input: ConvertInput, options: MsgpackOptions = {}): Uint8Array {
  return concatBytes([...msgpackChunks(input, options)]);
}

function str(w: MsgpackWriter, s: string): void {
  w.str(encodeUtf8(s));
}

function writeHeader(w: MsgpackWriter, h: StorageHeader, hasData: boolean): void {
  const n = 5 + (h.byteOrder === "big" ? 1 : 0) + (h.view !== undefined ? 1 : 0) + (hasData ? 1 : 0);
  w.mapHeader(n);
  str(w, "key");
  str(w, h.key);
  str(w, "type");
  w.arrayHeader(2);
  str(w, h.type[0]);
  str(w, h.type[1]);
  str(w, "dtype");
  str(w, h.dtype);
  str(w, "location");
  str(w, h.location);
  str(w, "numel");
  w.int(h.numel);
  if (h.byteOrder === "big") {
    str(w, "byte_order");
    str(w, "big");
  }
  if (h.view !== undefined) {
    str(w, "view");
    w.mapHeader(2);
    str(w, "root");
    str(w, h.view.root);
    str(w, "offset");
    w.int(h.view.offset);
  }
  if (hasData) str(w, "data"); // the bin item follows
}

/** The value encoder: writes `root` into `w`, giving shared objects ids as it first meets them. */
function encodeRoot(w: MsgpackWriter, facts: GraphFacts, maxDepth: number, root: TorchValue): void {
  const ids = new Map<object, number>();
  const path: (string | number)[] = [];

  function fail(code: "unencodable" | "limit-exceeded" | "invalid-data", reason: string): ConvertError {
    return new ConvertError(code, reason, { path: [...path] as KeyPath });
  }

  function value(v: TorchValue, depth: number): void {
    switch (typeof v) {
      case "boolean":
        return w.bool(v);
      case "string":
        if (hasLoneSurrogate(v)) {
          const m = w.beginExt(MSGPACK_EXT.wtf8);
          w.raw(encodeUtf8(v));
          return w.endExt(m);
        }
        return str(w, v);
      case "number":
        if (!Number.isSafeInteger(v)) throw fail("invalid-data", `${v} is not an int (a Python float is a PyFloat)`);
        return w.int(v);
      case "bigint":
        if (v >= -(2n ** 63n) && v < 2n ** 64n) return w.int(v);
        {
          const m = w.beginExt(MSGPACK_EXT.bigint);
          w.raw(encodeTwosComplement(v));
          return w.endExt(m);
        }
      case "object":
        break;
      default:
        throw fail("unencodable", `a JS ${typeof v} is not a Python value`);
    }
    if (v === null) return w.nil();
    if (depth >= maxDepth) throw fail("limit-exceeded", `values nest deeper than ${maxDepth} (maxDepth)`);
    const id = ids.get(v);
    if (id !== undefined) {
      const m = w.beginExt(MSGPACK_EXT.ref);
      w.int(id);
      return w.endExt(m);
    }
    if (facts.shared.has(v)) {
      const newId = ids.size;
      ids.set(v, newId);
      const m = w.beginExt(MSGPACK_EXT.shared);
      w.int(newId);
      body(v, depth);
      return w.endExt(m);
    }
    body(v, depth);
  }

  function child(v: TorchValue, key: string | number, depth: number): void {
    path.push(key);
    value(v, depth + 1);
    path.pop();
  }

  function items(items: readonly TorchValue[], depth: number): void {
    w.arrayHeader(items.length);
    items.forEach((x, i) => child(x, i, depth));
  }

  function pairs(entries: readonly [TorchValue, TorchValue][], depth: number): void {
    w.mapHeader(entries.length);
    entries.forEach(([k, x], i) => {
      const key = typeof k === "string" || typeof k === "number" ? k : i;
      child(k, key, depth);
      child(x, key, depth);
    });
  }

  function ext(type: number, write: () => void): void {
    const m = w.beginExt(type);
    write();
    w.endExt(m);
  }

  function field(name: string, v: TorchValue, depth: number): void {
    str(w, name);
    child(v, name, depth);
  }

  function body(v: object, depth: number): void {
    switch (pyKind(v)) {
      case "float": {
        const f = v as PyFloat;
        return w.float64(f.value, f.nanBits === undefined ? undefined : hexBytes(f.nanBits, () => fail("invalid-data", "bad nanBits")));
      }
      case "complex": {
        const c = v as { real: number; imag: number };
        return ext(MSGPACK_EXT.complex, () => {
          const b = new Uint8Array(16);
          const dv = new DataView(b.buffer);
          dv.setFloat64(0, c.real, false);
          dv.setFloat64(8, c.imag, false);
          w.raw(b);
        });
      }
      case "bytes":
        return w.bin((v as { data: Uint8Array }).data);
      case "bytearray":
        return ext(MSGPACK_EXT.bytearray, () => w.raw((v as { data: Uint8Array }).data));
      case "list":
        return items((v as { items: TorchValue[] }).items, depth);
      case "tuple":
      case "set":
      case "frozenset": {
        const kind = pyKind(v) as "tuple" | "set" | "frozenset";
        return ext(MSGPACK_EXT[kind], () => items((v as { items: TorchValue[] }).items, depth));
      }
      case "dict": {
        const d = v as PyDict<TorchHost>;
        if (d.type === undefined && d.state === undefined) return pairs(d.entries, depth);
        return ext(MSGPACK_EXT.dict, () => {
          w.arrayHeader(d.state === undefined ? 2 : 3);
          if (d.type === undefined) w.nil();
          else child(d.type, "$type", depth);
          pairs(d.entries, depth);
          if (d.state !== undefined) child(d.state, "$state", depth);
        });
      }
      case "global": {
        const g = v as PyGlobal;
        return ext(MSGPACK_EXT.global, () => {
          w.arrayHeader(2);
          str(w, g.module);
          str(w, g.name);
        });
      }
      case "object":
        return ext(MSGPACK_EXT.object, () => object(v as PyObject<TorchHost>, depth));
      case "persid": {
        const p = v as { pid: TorchValue; binary: boolean };
        return ext(MSGPACK_EXT.persid, () => {
          w.arrayHeader(2);
          child(p.pid, "$persid", depth);
          w.bool(p.binary === true);
        });
      }
      case "buffer": {
        const b = v as PyBuffer;
        return ext(MSGPACK_EXT.buffer, () => {
          w.arrayHeader(2);
          w.bin(b.data);
          w.bool(b.readonly === true);
        });
      }
      case "ext":
        return ext(MSGPACK_EXT.pyext, () => w.int((v as { code: number }).code));
      default:
        break;
    }
    if (isTensor(v)) {
      const keyOf = (s: Storage) => facts.keyOf.get(s)!;
      return ext(MSGPACK_EXT.tensor, () => value(tensorRecord(v, keyOf, facts.omitOrigin.has(v)), depth + 1));
    }
    if (isNdArray(v)) return ext(MSGPACK_EXT.ndarray, () => value(ndarrayRecord(v), depth + 1));
    if (isStorage(v)) return ext(MSGPACK_EXT.storage, () => str(w, facts.keyOf.get(v)!));
    throw fail("unencodable", "not a value of the torch value model");
  }

  function object(o: PyObject<TorchHost>, depth: number): void {
    if (!VIAS.includes(o.via)) throw fail("invalid-data", `unknown object via ${JSON.stringify(o.via)}`);
    const optional = [o.kwargs, o.state, o.listItems, o.dictItems, o.setItems].filter((x) => x !== undefined).length;
    w.mapHeader(3 + optional);
    str(w, "via");
    str(w, o.via);
    field("callable", o.callable, depth);
    field("args", o.args, depth);
    if (o.kwargs !== undefined) field("kwargs", o.kwargs, depth);
    if (o.state !== undefined) field("state", o.state, depth);
    if (o.listItems !== undefined) {
      str(w, "listItems");
      items(o.listItems, depth);
    }
    if (o.dictItems !== undefined) {
      str(w, "dictItems");
      w.arrayHeader(o.dictItems.length);
      for (const [k, x] of o.dictItems) {
        w.arrayHeader(2);
        child(k, "$key", depth);
        child(x, typeof k === "string" ? k : "$value", depth);
      }
    }
    if (o.setItems !== undefined) {
      str(w, "setItems");
      items(o.setItems, depth);
    }
  }

  value(root, 0);
}

function hexBytes(hex: string, fail: () => Error): Uint8Array {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw fail();
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/**
 * Reads a torchsave msgpack document back into the value it was made from. Storage bytes and
 * Python bytes are views into `bytes` (no copy): copy them before changing `bytes`.
 * @throws ConvertError `invalid-data` (with the byte offset) for anything that is not a document
 *   of this format, `truncated` when it ends early, `limit-exceeded` past `maxDepth`.
 */
export function fromMsgpack(bytes: Uint8Array, options: MsgpackOptions = {}): TorchValue {
  return guarded("msgpack", () => decodeDocument(bytes, options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH));
}

/** Reads a whole document from `bytes`. */
function decodeDocument(bytes: Uint8Array, maxDepth: number): TorchValue {
  const ids = new Map<number, TorchValue>();
  const storages = new Map<string, Storage>();

  function fail(at: number, reason: string, code: "invalid-data" | "limit-exceeded" = "invalid-data"): ConvertError {
    return new ConvertError(code, reason, { offset: at });
  }

  function document(): TorchValue {
    const r = new MsgpackReader(bytes);
    const head = r.next();
    if (head.type !== "map") throw fail(0, "not a torchsave msgpack document (it does not start with a map)");
    const keys: string[] = [];
    let root: TorchValue | undefined;
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const key = value(r, 0);
      if (typeof key !== "string") throw fail(at, "document keys must be str");
      keys.push(key);
      if (i === 0) {
        if (key !== "torchsave") throw fail(at, "not a torchsave msgpack document (its first key is not \"torchsave\")");
        const vAt = r.offset;
        const version = value(r, 0);
        if (version !== MSGPACK_FORMAT_VERSION) throw new ConvertError("unsupported", `torchsave msgpack version ${String(version)} (this reads ${MSGPACK_FORMAT_VERSION})`, { offset: vAt });
      } else if (key === "storages") {
        if (root !== undefined) throw fail(at, "\"storages\" must come before \"root\"");
        storageTable(r);
      } else if (key === "root") {
        root = value(r, 0);
      } else {
        value(r, 0); // unknown keys are skipped: later versions may add metadata
      }
    }
    if (root === undefined) throw fail(r.offset, "the document has no \"root\"");
    if (!r.atEnd) throw fail(r.offset, "bytes after the end of the document");
    return root;
  }

  function storageTable(r: MsgpackReader): void {
    const head = r.next();
    if (head.type !== "array") throw fail(r.offset, "\"storages\" must be an array");
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const m = r.next();
      if (m.type !== "map") throw fail(at, "a storage entry must be a map");
      const fields = new Map<string, TorchValue>();
      let data: Uint8Array | undefined;
      for (let j = 0; j < m.count; j++) {
        const kAt = r.offset;
        const k = value(r, 1);
        if (typeof k !== "string" || fields.has(k) || (k === "data" && data !== undefined)) throw fail(kAt, "storage entry keys must be distinct str");
        if (k === "data") {
          const item = r.next();
          if (item.type !== "bin") throw fail(kAt, "storage data must be bin");
          data = item.data;
        } else fields.set(k, value(r, 1));
      }
      const s = storageFromHeader(header(fields, at), data, storages, ["storages", i]);
      if (storages.has(s.key)) throw fail(at, `storage key ${s.key} is listed twice`);
      storages.set(s.key, s);
    }
  }

  function header(f: Map<string, TorchValue>, at: number): StorageHeader {
    const strField = (k: string): string => {
      const v = f.get(k);
      if (typeof v !== "string") throw fail(at, `storage entry field ${k} must be a str`);
      return v;
    };
    const intField = (v: TorchValue | undefined, k: string): number => {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw fail(at, `storage entry field ${k} must be an int >= 0`);
      return v;
    };
    const type = f.get("type");
    const parts = pyKind(type) === "list" ? (type as { items: TorchValue[] }).items : [];
    if (parts.length !== 2 || typeof parts[0] !== "string" || typeof parts[1] !== "string") throw fail(at, "storage entry type must be [module, name]");
    const order = f.has("byte_order") ? strField("byte_order") : "little";
    if (order !== "little" && order !== "big") throw fail(at, "storage byte_order must be little or big");
    const base = {
      key: strField("key"), type: [parts[0], parts[1]] as const, dtype: strField("dtype") as StorageHeader["dtype"],
      location: strField("location"), numel: intField(f.get("numel"), "numel"), byteOrder: order as "little" | "big",
    };
    const view = f.get("view");
    if (view === undefined) return base;
    if (pyKind(view) !== "dict") throw fail(at, "storage view must be a map");
    const vf = new Map((view as PyDict<TorchHost>).entries as [TorchValue, TorchValue][]);
    const root = vf.get("root");
    if (typeof root !== "string") throw fail(at, "storage view root must be a str");
    return { ...base, view: { root, offset: intField(vf.get("offset"), "view.offset") } };
  }

  /** Decodes one value; `pendingId` registers a container before its children (cycles). */
  function value(r: MsgpackReader, depth: number, pendingId?: number): TorchValue {
    if (depth > maxDepth) throw fail(r.offset, `values nest deeper than ${maxDepth} (maxDepth)`, "limit-exceeded");
    const at = r.offset;
    const item = r.next();
    const done = <T extends TorchValue>(v: T): T => {
      if (pendingId !== undefined && typeof v === "object" && v !== null) ids.set(pendingId, v);
      return v;
    };
    switch (item.type) {
      case "nil":
        return null;
      case "bool":
        return item.value;
      case "int":
        return item.value;
      case "float":
        return done(floatValue(item));
      case "str":
        return text(item.data, at);
      case "bin":
        return done({ kind: "bytes", data: item.data });
      case "array": {
        checkCount(r, item.count, 1, at);
        const items: TorchValue[] = [];
        const list = done({ kind: "list" as const, items });
        for (let i = 0; i < item.count; i++) items.push(value(r, depth + 1));
        return list;
      }
      case "map": {
        checkCount(r, item.count, 2, at);
        const d = done({ kind: "dict" as const, entries: [] as [TorchValue, TorchValue][] });
        entries(r, item.count, d.entries, depth);
        return d;
      }
      case "ext":
        return ext(item, depth, done);
    }
  }

  function entries(r: MsgpackReader, count: number, out: [TorchValue, TorchValue][], depth: number): void {
    for (let i = 0; i < count; i++) {
      const k = value(r, depth + 1);
      out.push([k, value(r, depth + 1)]);
    }
  }

  function checkCount(r: MsgpackReader, count: number, minBytes: number, at: number): void {
    if (count * minBytes > r.r.remaining) throw new ConvertError("truncated", `a container declares ${count} items but only ${r.r.remaining} bytes remain`, { offset: at });
  }

  function text(data: Uint8Array, at: number): string {
    try {
      return decodeUtf8(data);
    } catch {
      throw fail(at, "a str is not valid UTF-8");
    }
  }

  /** Runs `read` over an ext payload, which it must consume exactly. */
  function payload<T>(item: Extract<MsgpackItem, { type: "ext" }>, read: (r: MsgpackReader) => T): T {
    const r = new MsgpackReader(item.data, item.offset);
    const out = read(r);
    if (!r.atEnd) throw fail(r.offset, `ext ${item.extType} payload has bytes after its value`);
    return out;
  }

  function ext(
    item: Extract<MsgpackItem, { type: "ext" }>, depth: number,
    done: <T extends TorchValue>(v: T) => T,
  ): TorchValue {
    const at = item.offset;
    switch (item.extType) {
      case MSGPACK_EXT.bigint:
        return decodeTwosComplement(item.data);
      case MSGPACK_EXT.wtf8:
        return text(item.data, at);
      case MSGPACK_EXT.bytearray:
        return done({ kind: "bytearray", data: item.data });
      case MSGPACK_EXT.tuple:
      case MSGPACK_EXT.set:
      case MSGPACK_EXT.frozenset: {
        const kind = item.extType === MSGPACK_EXT.tuple ? "tuple" : item.extType === MSGPACK_EXT.set ? "set" : "frozenset";
        const items: TorchValue[] = [];
        const out = done({ kind, items } as TorchValue);
        payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array") throw fail(at, `a ${kind} holds an array`);
          checkCount(r, h.count, 1, at);
          for (let i = 0; i < h.count; i++) items.push(value(r, depth + 1));
        });
        return out;
      }
      case MSGPACK_EXT.dict: {
        const d = done({ kind: "dict" as const, entries: [] as [TorchValue, TorchValue][] } as PyDict<TorchHost>);
        payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || (h.count !== 2 && h.count !== 3)) throw fail(at, "a dict ext holds [type, map] or [type, map, state]");
          const tAt = r.offset;
          const type = value(r, depth + 1);
          if (type !== null && pyKind(type) !== "global") throw fail(tAt, "a dict's type must be a global or nil");
          if (type !== null) (d as { type?: PyGlobal }).type = type as PyGlobal;
          const m = r.next();
          if (m.type !== "map") throw fail(tAt, "a dict ext holds a map");
          checkCount(r, m.count, 2, at);
          entries(r, m.count, d.entries, depth);
          if (h.count === 3) d.state = value(r, depth + 1);
        });
        return d;
      }
      case MSGPACK_EXT.global:
        return done(payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || h.count !== 2) throw fail(at, "a global holds [module, name]");
          const module = value(r, depth + 1);
          const name = value(r, depth + 1);
          if (typeof module !== "string" || typeof name !== "string") throw fail(at, "a global holds two str");
          return { kind: "global" as const, module, name };
        }));
      case MSGPACK_EXT.complex: {
        if (item.data.length !== 16) throw fail(at, "a complex holds 16 bytes");
        const dv = new DataView(item.data.buffer, item.data.byteOffset, 16);
        return done({ kind: "complex", real: dv.getFloat64(0, false), imag: dv.getFloat64(8, false) });
      }
      case MSGPACK_EXT.object:
        return payload(item, (r) => object(r, depth, done, at));
      case MSGPACK_EXT.persid:
        return payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || h.count !== 2) throw fail(at, "a persistent id holds [pid, binary]");
          const out = done({ kind: "persid" as const, pid: null as TorchValue, binary: false as boolean });
          out.pid = value(r, depth + 1);
          const binary = value(r, depth + 1);
          if (typeof binary !== "boolean") throw fail(at, "a persistent id's binary flag must be a bool");
          out.binary = binary;
          return out;
        });
      case MSGPACK_EXT.buffer:
        return done(payload(item, (r) => {
          const h = r.next();
          const data = r.next();
          const ro = r.next();
          if (h.type !== "array" || h.count !== 2 || data.type !== "bin" || ro.type !== "bool") throw fail(at, "a buffer holds [bin, readonly]");
          return { kind: "buffer" as const, data: data.data, readonly: ro.value };
        }));
      case MSGPACK_EXT.pyext:
        return done(payload(item, (r) => {
          const code = r.next();
          if (code.type !== "int" || typeof code.value !== "number") throw fail(at, "an extension code must be an int");
          return { kind: "ext" as const, code: code.value };
        }));
      case MSGPACK_EXT.shared:
        return payload(item, (r) => {
          const h = r.next();
          if (h.type !== "int" || typeof h.value !== "number" || h.value < 0) throw fail(at, "a shared value starts with its id");
          if (ids.has(h.value)) throw fail(at, `id ${h.value} is defined twice`);
          const v = value(r, depth + 1, h.value);
          if (typeof v !== "object" || v === null) throw fail(at, "only objects can be shared");
          ids.set(h.value, v);
          return v;
        });
      case MSGPACK_EXT.ref: {
        const id = payload(item, (r) => r.next());
        if (id.type !== "int" || typeof id.value !== "number") throw fail(at, "a reference holds an int id");
        const v = ids.get(id.value);
        if (v === undefined) throw fail(at, `reference to id ${id.value}, which is not defined before it`);
        return v;
      }
      case MSGPACK_EXT.tensor: {
        const rec = payload(item, (r) => value(r, depth + 1));
        return done(located(at, () => tensorFromRecord(rec, (key) => storage(key, at))));
      }
      case MSGPACK_EXT.ndarray: {
        const rec = payload(item, (r) => value(r, depth + 1));
        return done(located(at, () => ndarrayFromRecord(rec)));
      }
      case MSGPACK_EXT.storage: {
        const key = payload(item, (r) => value(r, depth + 1));
        if (typeof key !== "string") throw fail(at, "a storage value holds its key");
        return storage(key, at);
      }
      default:
        throw fail(at, `unknown ext type ${item.extType}`);
    }
  }

  function located<T>(at: number, build: () => T): T {
    try {
      return build();
    } catch (e) {
      throw isTorchsaveError(e) && e.offset === undefined ? e.withLocation({ offset: at }) : e;
    }
  }

  function storage(key: string, at: number): Storage {
    const s = storages.get(key);
    if (s === undefined) throw fail(at, `storage ${JSON.stringify(key)} is not in the storage table`);
    return s;
  }

  function object(r: MsgpackReader, depth: number, done: <T extends TorchValue>(v: T) => T, at: number): PyObject<TorchHost> {
    const h = r.next();
    if (h.type !== "map") throw fail(at, "an object holds a map");
    const o = done({ kind: "object" as const, via: "reduce" as PyObjectVia, callable: null as TorchValue, args: null as TorchValue }) as {
      -readonly [K in keyof PyObject<TorchHost>]: PyObject<TorchHost>[K];
    };
    const seen = new Set<string>();
    for (let i = 0; i < h.count; i++) {
      const kAt = r.offset;
      const k = value(r, depth + 1);
      if (typeof k !== "string" || seen.has(k)) throw fail(kAt, "object fields must be distinct str");
      seen.add(k);
      switch (k) {
        case "via": {
          const via = value(r, depth + 1);
          const found = VIAS.find((x) => x === via);
          if (found === undefined) throw fail(kAt, `unknown object via ${JSON.stringify(via)}`);
          o.via = found;
          break;
        }
        case "callable":
        case "args":
        case "kwargs":
        case "state":
          o[k] = value(r, depth + 1);
          break;
        case "listItems":
        case "setItems": {
          const v = value(r, depth + 1);
          if (pyKind(v) !== "list") throw fail(kAt, `object ${k} must be an array`);
          o[k] = (v as { items: TorchValue[] }).items;
          break;
        }
        case "dictItems": {
          const a = r.next();
          if (a.type !== "array") throw fail(kAt, "object dictItems must be an array of pairs");
          checkCount(r, a.count, 3, kAt);
          const pairs: [TorchValue, TorchValue][] = [];
          for (let j = 0; j < a.count; j++) {
            const p = r.next();
            if (p.type !== "array" || p.count !== 2) throw fail(kAt, "object dictItems must be an array of pairs");
            const key = value(r, depth + 2);
            pairs.push([key, value(r, depth + 2)]);
          }
          o.dictItems = pairs;
          break;
        }
        default:
          throw fail(kAt, `unknown object field ${JSON.stringify(k)}`);
      }
    }
    if (!seen.has("via") || !seen.has("callable") || !seen.has("args")) throw fail(at, "an object needs via, callable and args");
    return o;
  }

  return document();
}

function floatValue(item: Extract<MsgpackItem, { type: "float" }>): PyFloat {
  if (!Number.isNaN(item.value)) return { kind: "float", value: item.value };
  let hex = "";
  for (const b of item.bits) hex += b.toString(16).padStart(2, "0");
  return hex === CANONICAL_NAN ? { kind: "float", value: NaN } : { kind: "float", value: NaN, nanBits: hex };
}
