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

/** Version of the document layout, written as the value of the `"torchsave"` key. */
export const MSGPACK_FORMAT_VERSION = 1;

/** Default nesting bound of {@link toMsgpack}/{@link fromMsgpack} (containers inside containers). */
export const DEFAULT_MSGPACK_MAX_DEPTH = 1000;

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
  const enc = new Encoder(w, facts, options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH);
  guarded("msgpack", () => enc.value(root, 0));
  yield w.drain();
}

/** The whole msgpack document as one buffer (see {@link msgpackChunks}). */
export function toMsgpack(input: ConvertInput, options: MsgpackOptions = {}): Uint8Array {
  const chunks = [...msgpackChunks(input, options)];
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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

class Encoder {
  private readonly ids = new Map<object, number>();
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly w: MsgpackWriter,
    private readonly facts: GraphFacts,
    private readonly maxDepth: number,
  ) {}

  private fail(code: "unencodable" | "limit-exceeded" | "invalid-data", reason: string): ConvertError {
    return new ConvertError(code, reason, { path: [...this.path] as KeyPath });
  }

  value(v: TorchValue, depth: number): void {
    const w = this.w;
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
        if (!Number.isSafeInteger(v)) throw this.fail("invalid-data", `${v} is not an int (a Python float is a PyFloat)`);
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
        throw this.fail("unencodable", `a JS ${typeof v} is not a Python value`);
    }
    if (v === null) return w.nil();
    if (depth >= this.maxDepth) throw this.fail("limit-exceeded", `values nest deeper than ${this.maxDepth} (maxDepth)`);
    const id = this.ids.get(v);
    if (id !== undefined) {
      const m = w.beginExt(MSGPACK_EXT.ref);
      w.int(id);
      return w.endExt(m);
    }
    if (this.facts.shared.has(v)) {
      const newId = this.ids.size;
      this.ids.set(v, newId);
      const m = w.beginExt(MSGPACK_EXT.shared);
      w.int(newId);
      this.body(v, depth);
      return w.endExt(m);
    }
    this.body(v, depth);
  }

  private child(v: TorchValue, key: string | number, depth: number): void {
    this.path.push(key);
    this.value(v, depth + 1);
    this.path.pop();
  }

  private items(items: readonly TorchValue[], depth: number): void {
    this.w.arrayHeader(items.length);
    items.forEach((x, i) => this.child(x, i, depth));
  }

  private pairs(entries: readonly [TorchValue, TorchValue][], depth: number): void {
    this.w.mapHeader(entries.length);
    entries.forEach(([k, x], i) => {
      const key = typeof k === "string" || typeof k === "number" ? k : i;
      this.child(k, key, depth);
      this.child(x, key, depth);
    });
  }

  private ext(type: number, write: () => void): void {
    const m = this.w.beginExt(type);
    write();
    this.w.endExt(m);
  }

  private field(name: string, v: TorchValue, depth: number): void {
    str(this.w, name);
    this.child(v, name, depth);
  }

  private body(v: object, depth: number): void {
    const w = this.w;
    switch (pyKind(v)) {
      case "float": {
        const f = v as PyFloat;
        return w.float64(f.value, f.nanBits === undefined ? undefined : hexBytes(f.nanBits, () => this.fail("invalid-data", "bad nanBits")));
      }
      case "complex": {
        const c = v as { real: number; imag: number };
        return this.ext(MSGPACK_EXT.complex, () => {
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
        return this.ext(MSGPACK_EXT.bytearray, () => w.raw((v as { data: Uint8Array }).data));
      case "list":
        return this.items((v as { items: TorchValue[] }).items, depth);
      case "tuple":
      case "set":
      case "frozenset": {
        const kind = pyKind(v) as "tuple" | "set" | "frozenset";
        return this.ext(MSGPACK_EXT[kind], () => this.items((v as { items: TorchValue[] }).items, depth));
      }
      case "dict": {
        const d = v as PyDict<TorchHost>;
        if (d.type === undefined && d.state === undefined) return this.pairs(d.entries, depth);
        return this.ext(MSGPACK_EXT.dict, () => {
          w.arrayHeader(d.state === undefined ? 2 : 3);
          if (d.type === undefined) w.nil();
          else this.child(d.type, "$type", depth);
          this.pairs(d.entries, depth);
          if (d.state !== undefined) this.child(d.state, "$state", depth);
        });
      }
      case "global": {
        const g = v as PyGlobal;
        return this.ext(MSGPACK_EXT.global, () => {
          w.arrayHeader(2);
          str(w, g.module);
          str(w, g.name);
        });
      }
      case "object":
        return this.ext(MSGPACK_EXT.object, () => this.object(v as PyObject<TorchHost>, depth));
      case "persid": {
        const p = v as { pid: TorchValue; binary: boolean };
        return this.ext(MSGPACK_EXT.persid, () => {
          w.arrayHeader(2);
          this.child(p.pid, "$persid", depth);
          w.bool(p.binary === true);
        });
      }
      case "buffer": {
        const b = v as PyBuffer;
        return this.ext(MSGPACK_EXT.buffer, () => {
          w.arrayHeader(2);
          w.bin(b.data);
          w.bool(b.readonly === true);
        });
      }
      case "ext":
        return this.ext(MSGPACK_EXT.pyext, () => w.int((v as { code: number }).code));
      default:
        break;
    }
    if (isTensor(v)) {
      const keyOf = (s: Storage) => this.facts.keyOf.get(s)!;
      return this.ext(MSGPACK_EXT.tensor, () => this.value(tensorRecord(v, keyOf, this.facts.omitOrigin.has(v)), depth + 1));
    }
    if (isNdArray(v)) return this.ext(MSGPACK_EXT.ndarray, () => this.value(ndarrayRecord(v), depth + 1));
    if (isStorage(v)) return this.ext(MSGPACK_EXT.storage, () => str(w, this.facts.keyOf.get(v)!));
    throw this.fail("unencodable", "not a value of the torch value model");
  }

  private object(o: PyObject<TorchHost>, depth: number): void {
    const w = this.w;
    if (!VIAS.includes(o.via)) throw this.fail("invalid-data", `unknown object via ${JSON.stringify(o.via)}`);
    const optional = [o.kwargs, o.state, o.listItems, o.dictItems, o.setItems].filter((x) => x !== undefined).length;
    w.mapHeader(3 + optional);
    str(w, "via");
    str(w, o.via);
    this.field("callable", o.callable, depth);
    this.field("args", o.args, depth);
    if (o.kwargs !== undefined) this.field("kwargs", o.kwargs, depth);
    if (o.state !== undefined) this.field("state", o.state, depth);
    if (o.listItems !== undefined) {
      str(w, "listItems");
      this.items(o.listItems, depth);
    }
    if (o.dictItems !== undefined) {
      str(w, "dictItems");
      w.arrayHeader(o.dictItems.length);
      for (const [k, x] of o.dictItems) {
        w.arrayHeader(2);
        this.child(k, "$key", depth);
        this.child(x, typeof k === "string" ? k : "$value", depth);
      }
    }
    if (o.setItems !== undefined) {
      str(w, "setItems");
      this.items(o.setItems, depth);
    }
  }
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
  return guarded("msgpack", () => new Decoder(bytes, options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH).document());
}

class Decoder {
  private readonly ids = new Map<number, TorchValue>();
  private readonly storages = new Map<string, Storage>();

  constructor(private readonly bytes: Uint8Array, private readonly maxDepth: number) {}

  private fail(at: number, reason: string, code: "invalid-data" | "limit-exceeded" = "invalid-data"): ConvertError {
    return new ConvertError(code, reason, { offset: at });
  }

  document(): TorchValue {
    const r = new MsgpackReader(this.bytes);
    const head = r.next();
    if (head.type !== "map") throw this.fail(0, "not a torchsave msgpack document (it does not start with a map)");
    const keys: string[] = [];
    let root: TorchValue | undefined;
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const key = this.value(r, 0);
      if (typeof key !== "string") throw this.fail(at, "document keys must be str");
      keys.push(key);
      if (i === 0) {
        if (key !== "torchsave") throw this.fail(at, "not a torchsave msgpack document (its first key is not \"torchsave\")");
        const vAt = r.offset;
        const version = this.value(r, 0);
        if (version !== MSGPACK_FORMAT_VERSION) throw new ConvertError("unsupported", `torchsave msgpack version ${String(version)} (this reads ${MSGPACK_FORMAT_VERSION})`, { offset: vAt });
      } else if (key === "storages") {
        if (root !== undefined) throw this.fail(at, "\"storages\" must come before \"root\"");
        this.storageTable(r);
      } else if (key === "root") {
        root = this.value(r, 0);
      } else {
        this.value(r, 0); // unknown keys are skipped: later versions may add metadata
      }
    }
    if (root === undefined) throw this.fail(r.offset, "the document has no \"root\"");
    if (!r.atEnd) throw this.fail(r.offset, "bytes after the end of the document");
    return root;
  }

  private storageTable(r: MsgpackReader): void {
    const head = r.next();
    if (head.type !== "array") throw this.fail(r.offset, "\"storages\" must be an array");
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const m = r.next();
      if (m.type !== "map") throw this.fail(at, "a storage entry must be a map");
      const fields = new Map<string, TorchValue>();
      let data: Uint8Array | undefined;
      for (let j = 0; j < m.count; j++) {
        const kAt = r.offset;
        const k = this.value(r, 1);
        if (typeof k !== "string" || fields.has(k) || (k === "data" && data !== undefined)) throw this.fail(kAt, "storage entry keys must be distinct str");
        if (k === "data") {
          const item = r.next();
          if (item.type !== "bin") throw this.fail(kAt, "storage data must be bin");
          data = item.data;
        } else fields.set(k, this.value(r, 1));
      }
      const s = storageFromHeader(this.header(fields, at), data, this.storages, ["storages", i]);
      if (this.storages.has(s.key)) throw this.fail(at, `storage key ${s.key} is listed twice`);
      this.storages.set(s.key, s);
    }
  }

  private header(f: Map<string, TorchValue>, at: number): StorageHeader {
    const strField = (k: string): string => {
      const v = f.get(k);
      if (typeof v !== "string") throw this.fail(at, `storage entry field ${k} must be a str`);
      return v;
    };
    const intField = (v: TorchValue | undefined, k: string): number => {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw this.fail(at, `storage entry field ${k} must be an int >= 0`);
      return v;
    };
    const type = f.get("type");
    const parts = pyKind(type) === "list" ? (type as { items: TorchValue[] }).items : [];
    if (parts.length !== 2 || typeof parts[0] !== "string" || typeof parts[1] !== "string") throw this.fail(at, "storage entry type must be [module, name]");
    const order = f.has("byte_order") ? strField("byte_order") : "little";
    if (order !== "little" && order !== "big") throw this.fail(at, "storage byte_order must be little or big");
    const base = {
      key: strField("key"), type: [parts[0], parts[1]] as const, dtype: strField("dtype") as StorageHeader["dtype"],
      location: strField("location"), numel: intField(f.get("numel"), "numel"), byteOrder: order as "little" | "big",
    };
    const view = f.get("view");
    if (view === undefined) return base;
    if (pyKind(view) !== "dict") throw this.fail(at, "storage view must be a map");
    const vf = new Map((view as PyDict<TorchHost>).entries as [TorchValue, TorchValue][]);
    const root = vf.get("root");
    if (typeof root !== "string") throw this.fail(at, "storage view root must be a str");
    return { ...base, view: { root, offset: intField(vf.get("offset"), "view.offset") } };
  }

  /** Decodes one value; `pendingId` registers a container before its children (cycles). */
  private value(r: MsgpackReader, depth: number, pendingId?: number): TorchValue {
    if (depth > this.maxDepth) throw this.fail(r.offset, `values nest deeper than ${this.maxDepth} (maxDepth)`, "limit-exceeded");
    const at = r.offset;
    const item = r.next();
    const done = <T extends TorchValue>(v: T): T => {
      if (pendingId !== undefined && typeof v === "object" && v !== null) this.ids.set(pendingId, v);
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
        return this.text(item.data, at);
      case "bin":
        return done({ kind: "bytes", data: item.data });
      case "array": {
        this.checkCount(r, item.count, 1, at);
        const items: TorchValue[] = [];
        const list = done({ kind: "list" as const, items });
        for (let i = 0; i < item.count; i++) items.push(this.value(r, depth + 1));
        return list;
      }
      case "map": {
        this.checkCount(r, item.count, 2, at);
        const d = done({ kind: "dict" as const, entries: [] as [TorchValue, TorchValue][] });
        this.entries(r, item.count, d.entries, depth);
        return d;
      }
      case "ext":
        return this.ext(item, depth, done);
    }
  }

  private entries(r: MsgpackReader, count: number, out: [TorchValue, TorchValue][], depth: number): void {
    for (let i = 0; i < count; i++) {
      const k = this.value(r, depth + 1);
      out.push([k, this.value(r, depth + 1)]);
    }
  }

  private checkCount(r: MsgpackReader, count: number, minBytes: number, at: number): void {
    if (count * minBytes > r.r.remaining) throw new ConvertError("truncated", `a container declares ${count} items but only ${r.r.remaining} bytes remain`, { offset: at });
  }

  private text(data: Uint8Array, at: number): string {
    try {
      return decodeUtf8(data);
    } catch {
      throw this.fail(at, "a str is not valid UTF-8");
    }
  }

  /** Runs `read` over an ext payload, which it must consume exactly. */
  private payload<T>(item: Extract<MsgpackItem, { type: "ext" }>, read: (r: MsgpackReader) => T): T {
    const r = new MsgpackReader(item.data, item.offset);
    const out = read(r);
    if (!r.atEnd) throw this.fail(r.offset, `ext ${item.extType} payload has bytes after its value`);
    return out;
  }

  private ext(
    item: Extract<MsgpackItem, { type: "ext" }>, depth: number,
    done: <T extends TorchValue>(v: T) => T,
  ): TorchValue {
    const at = item.offset;
    switch (item.extType) {
      case MSGPACK_EXT.bigint:
        return decodeTwosComplement(item.data);
      case MSGPACK_EXT.wtf8:
        return this.text(item.data, at);
      case MSGPACK_EXT.bytearray:
        return done({ kind: "bytearray", data: item.data });
      case MSGPACK_EXT.tuple:
      case MSGPACK_EXT.set:
      case MSGPACK_EXT.frozenset: {
        const kind = item.extType === MSGPACK_EXT.tuple ? "tuple" : item.extType === MSGPACK_EXT.set ? "set" : "frozenset";
        const items: TorchValue[] = [];
        const out = done({ kind, items } as TorchValue);
        this.payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array") throw this.fail(at, `a ${kind} holds an array`);
          this.checkCount(r, h.count, 1, at);
          for (let i = 0; i < h.count; i++) items.push(this.value(r, depth + 1));
        });
        return out;
      }
      case MSGPACK_EXT.dict: {
        const d = done({ kind: "dict" as const, entries: [] as [TorchValue, TorchValue][] } as PyDict<TorchHost>);
        this.payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || (h.count !== 2 && h.count !== 3)) throw this.fail(at, "a dict ext holds [type, map] or [type, map, state]");
          const tAt = r.offset;
          const type = this.value(r, depth + 1);
          if (type !== null && pyKind(type) !== "global") throw this.fail(tAt, "a dict's type must be a global or nil");
          if (type !== null) (d as { type?: PyGlobal }).type = type as PyGlobal;
          const m = r.next();
          if (m.type !== "map") throw this.fail(tAt, "a dict ext holds a map");
          this.checkCount(r, m.count, 2, at);
          this.entries(r, m.count, d.entries, depth);
          if (h.count === 3) d.state = this.value(r, depth + 1);
        });
        return d;
      }
      case MSGPACK_EXT.global:
        return done(this.payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || h.count !== 2) throw this.fail(at, "a global holds [module, name]");
          const module = this.value(r, depth + 1);
          const name = this.value(r, depth + 1);
          if (typeof module !== "string" || typeof name !== "string") throw this.fail(at, "a global holds two str");
          return { kind: "global" as const, module, name };
        }));
      case MSGPACK_EXT.complex: {
        if (item.data.length !== 16) throw this.fail(at, "a complex holds 16 bytes");
        const dv = new DataView(item.data.buffer, item.data.byteOffset, 16);
        return done({ kind: "complex", real: dv.getFloat64(0, false), imag: dv.getFloat64(8, false) });
      }
      case MSGPACK_EXT.object:
        return this.payload(item, (r) => this.object(r, depth, done, at));
      case MSGPACK_EXT.persid:
        return this.payload(item, (r) => {
          const h = r.next();
          if (h.type !== "array" || h.count !== 2) throw this.fail(at, "a persistent id holds [pid, binary]");
          const out = done({ kind: "persid" as const, pid: null as TorchValue, binary: false as boolean });
          out.pid = this.value(r, depth + 1);
          const binary = this.value(r, depth + 1);
          if (typeof binary !== "boolean") throw this.fail(at, "a persistent id's binary flag must be a bool");
          out.binary = binary;
          return out;
        });
      case MSGPACK_EXT.buffer:
        return done(this.payload(item, (r) => {
          const h = r.next();
          const data = r.next();
          const ro = r.next();
          if (h.type !== "array" || h.count !== 2 || data.type !== "bin" || ro.type !== "bool") throw this.fail(at, "a buffer holds [bin, readonly]");
          return { kind: "buffer" as const, data: data.data, readonly: ro.value };
        }));
      case MSGPACK_EXT.pyext:
        return done(this.payload(item, (r) => {
          const code = r.next();
          if (code.type !== "int" || typeof code.value !== "number") throw this.fail(at, "an extension code must be an int");
          return { kind: "ext" as const, code: code.value };
        }));
      case MSGPACK_EXT.shared:
        return this.payload(item, (r) => {
          const h = r.next();
          if (h.type !== "int" || typeof h.value !== "number" || h.value < 0) throw this.fail(at, "a shared value starts with its id");
          if (this.ids.has(h.value)) throw this.fail(at, `id ${h.value} is defined twice`);
          const v = this.value(r, depth + 1, h.value);
          if (typeof v !== "object" || v === null) throw this.fail(at, "only objects can be shared");
          this.ids.set(h.value, v);
          return v;
        });
      case MSGPACK_EXT.ref: {
        const id = this.payload(item, (r) => r.next());
        if (id.type !== "int" || typeof id.value !== "number") throw this.fail(at, "a reference holds an int id");
        const v = this.ids.get(id.value);
        if (v === undefined) throw this.fail(at, `reference to id ${id.value}, which is not defined before it`);
        return v;
      }
      case MSGPACK_EXT.tensor: {
        const rec = this.payload(item, (r) => this.value(r, depth + 1));
        return done(this.located(at, () => tensorFromRecord(rec, (key) => this.storage(key, at))));
      }
      case MSGPACK_EXT.ndarray: {
        const rec = this.payload(item, (r) => this.value(r, depth + 1));
        return done(this.located(at, () => ndarrayFromRecord(rec)));
      }
      case MSGPACK_EXT.storage: {
        const key = this.payload(item, (r) => this.value(r, depth + 1));
        if (typeof key !== "string") throw this.fail(at, "a storage value holds its key");
        return this.storage(key, at);
      }
      default:
        throw this.fail(at, `unknown ext type ${item.extType}`);
    }
  }

  private located<T>(at: number, build: () => T): T {
    try {
      return build();
    } catch (e) {
      throw isTorchsaveError(e) && e.offset === undefined ? e.withLocation({ offset: at }) : e;
    }
  }

  private storage(key: string, at: number): Storage {
    const s = this.storages.get(key);
    if (s === undefined) throw this.fail(at, `storage ${JSON.stringify(key)} is not in the storage table`);
    return s;
  }

  private object(r: MsgpackReader, depth: number, done: <T extends TorchValue>(v: T) => T, at: number): PyObject<TorchHost> {
    const h = r.next();
    if (h.type !== "map") throw this.fail(at, "an object holds a map");
    const o = done({ kind: "object" as const, via: "reduce" as PyObjectVia, callable: null as TorchValue, args: null as TorchValue }) as {
      -readonly [K in keyof PyObject<TorchHost>]: PyObject<TorchHost>[K];
    };
    const seen = new Set<string>();
    for (let i = 0; i < h.count; i++) {
      const kAt = r.offset;
      const k = this.value(r, depth + 1);
      if (typeof k !== "string" || seen.has(k)) throw this.fail(kAt, "object fields must be distinct str");
      seen.add(k);
      switch (k) {
        case "via": {
          const via = this.value(r, depth + 1);
          const found = VIAS.find((x) => x === via);
          if (found === undefined) throw this.fail(kAt, `unknown object via ${JSON.stringify(via)}`);
          o.via = found;
          break;
        }
        case "callable":
        case "args":
        case "kwargs":
        case "state":
          o[k] = this.value(r, depth + 1);
          break;
        case "listItems":
        case "setItems": {
          const v = this.value(r, depth + 1);
          if (pyKind(v) !== "list") throw this.fail(kAt, `object ${k} must be an array`);
          o[k] = (v as { items: TorchValue[] }).items;
          break;
        }
        case "dictItems": {
          const a = r.next();
          if (a.type !== "array") throw this.fail(kAt, "object dictItems must be an array of pairs");
          this.checkCount(r, a.count, 3, kAt);
          const pairs: [TorchValue, TorchValue][] = [];
          for (let j = 0; j < a.count; j++) {
            const p = r.next();
            if (p.type !== "array" || p.count !== 2) throw this.fail(kAt, "object dictItems must be an array of pairs");
            const key = this.value(r, depth + 2);
            pairs.push([key, this.value(r, depth + 2)]);
          }
          o.dictItems = pairs;
          break;
        }
        default:
          throw this.fail(kAt, `unknown object field ${JSON.stringify(k)}`);
      }
    }
    if (!seen.has("via") || !seen.has("callable") || !seen.has("args")) throw this.fail(at, "an object needs via, callable and args");
    return o;
  }
}

function floatValue(item: Extract<MsgpackItem, { type: "float" }>): PyFloat {
  if (!Number.isNaN(item.value)) return { kind: "float", value: item.value };
  let hex = "";
  for (const b of item.bits) hex += b.toString(16).padStart(2, "0");
  return hex === CANONICAL_NAN ? { kind: "float", value: NaN } : { kind: "float", value: NaN, nanBits: hex };
}
