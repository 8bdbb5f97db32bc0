/** Encoding the lossless msgpack format (msgpack.ts): a checkpoint or value to document bytes. */
import { encodeTwosComplement } from "../bytes/bigint.js";
import { encodeUtf8 } from "../bytes/text.js";
import { ConvertError, type KeyPath } from "../errors.js";
import type { PyBuffer, PyDict, PyFloat, PyGlobal, PyObject } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, isNdArray, isStorage, isTensor } from "../torch/index.js";
import { guarded, hasLoneSurrogate, rootOf, type ConvertInput } from "./input.js";
import { MSGPACK_EXT } from "./msgpack-ext.js";
import { MsgpackWriter } from "./msgpack-wire.js";
import { MsgpackRuns } from "./msgpack-fast.js";
import { storageData, storageHeader, type StorageHeader } from "./storage-table.js";
import { ndarrayRecord, tensorRecord } from "./torch-records.js";
import { graphFacts, type GraphFacts } from "./value-graph.js";
import { concatBytes } from "../bytes/concat.js";
import { MSGPACK_FORMAT_VERSION, DEFAULT_MSGPACK_MAX_DEPTH, type MsgpackOptions, VIAS } from "./msgpack-format.js";

/** Bytes of small storages the writer gathers before handing them out. */
const DRAIN_BYTES = 1 << 20;

/**
 * The msgpack document of a checkpoint or value, in pieces: small items are batched, storage bytes
 * are yielded as they are (views, no copy), one storage at a time, so a large checkpoint streams
 * to a file with memory bounded by its largest storage.
 * @throws ConvertError `unencodable` (with the key path) for a value outside the model,
 *   `limit-exceeded` past `maxDepth`; CheckpointError when a storage's bytes cannot be read.
 */
export function msgpackChunks(input: ConvertInput, options: MsgpackOptions = {}): Generator<Uint8Array> {
  return documentChunks(input, options, new MsgpackRuns());
}

/**
 * {@link msgpackChunks} written item by item, without the whole runs of `msgpack-fast.ts` and with
 * the root in one buffer (not handed on a MiB at a time): tests compare the two.
 */
export function msgpackChunksItemByItem(input: ConvertInput, options: MsgpackOptions = {}): Generator<Uint8Array> {
  return documentChunks(input, options, undefined);
}

function* documentChunks(input: ConvertInput, options: MsgpackOptions, runs: MsgpackRuns | undefined): Generator<Uint8Array> {
  const root = rootOf(input);
  const facts = graphFacts(root);
  const w = new MsgpackWriter(64 * 1024);
  w.mapHeader(3);
  str(w, "torchsave");
  w.int(MSGPACK_FORMAT_VERSION);
  str(w, "storages");
  w.arrayHeader(facts.storages.length);
  for (const s of facts.storages) {
    const key = facts.storageKey(s);
    let data: Uint8Array | undefined;
    if (s.view === undefined && s.byteOrder === "little") {
      data = storageData(s);
      if (runs?.storageHeader(w, s, key) !== true) writeHeader(w, storageHeader(s, key, facts.keyOf), true);
    } else {
      const h = storageHeader(s, key, facts.keyOf);
      data = h.view === undefined ? storageData(s) : undefined;
      writeHeader(w, h, data !== undefined);
    }
    if (data !== undefined) {
      w.binHeader(data.length);
      if (data.length < 64 * 1024) w.raw(data);
      else {
        yield w.drain();
        yield data;
      }
    }
    // Small storages go out about 1 MiB at a time, not all at the end.
    if (w.length >= DRAIN_BYTES) yield w.drain();
  }
  str(w, "root");
  // The root's bytes are handed on a MiB at a time as they are written (no growing buffer, no copy at the end).
  const spilled: Uint8Array[] = [];
  guarded("msgpack", () => encodeRoot(w, facts, options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH, root, runs, runs === undefined ? undefined : spilled));
  yield* spilled;
  yield w.drain();
}

/** The whole msgpack document as one buffer (see {@link msgpackChunks}). */
export function toMsgpack(input: ConvertInput, options: MsgpackOptions = {}): Uint8Array {
  return concatBytes([...msgpackChunks(input, options)]);
}

/** A str item for a string without lone surrogates (keys and names; values go through `value`). */
function str(w: MsgpackWriter, s: string): void {
  if (!w.asciiStr(s)) w.str(encodeUtf8(s));
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
function encodeRoot(w: MsgpackWriter, facts: GraphFacts, maxDepth: number, root: TorchValue, runs?: MsgpackRuns, spilled?: Uint8Array[]): void {
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
        // Short ASCII (most strings) has no surrogates: written in place.
        if (w.asciiStr(v)) return;
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
    items.forEach((x, i) => {
      child(x, i, depth);
      if (spilled !== undefined) w.spill(spilled, DRAIN_BYTES);
    });
  }

  function pairs(entries: readonly [TorchValue, TorchValue][], depth: number): void {
    w.mapHeader(entries.length);
    entries.forEach(([k, x], i) => {
      const key = typeof k === "string" || typeof k === "number" ? k : i;
      child(k, key, depth);
      child(x, key, depth);
      if (spilled !== undefined) w.spill(spilled, DRAIN_BYTES);
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
    if (isTensor(v) && depth + 2 < maxDepth && isPlainTensor(v)) {
      if (runs?.plainTensor(w, v, facts.storageKey(v.storage!)) === true) return;
      return ext(MSGPACK_EXT.tensor, () => plainTensor(v, depth + 2));
    }
    if (isTensor(v)) {
      const keyOf = (s: Storage) => facts.keyOf.get(s)!;
      return ext(MSGPACK_EXT.tensor, () => value(tensorRecord(v, keyOf, facts.omitOrigin.has(v)), depth + 1));
    }
    if (isNdArray(v)) return ext(MSGPACK_EXT.ndarray, () => value(ndarrayRecord(v), depth + 1));
    if (isStorage(v)) return ext(MSGPACK_EXT.storage, () => str(w, facts.keyOf.get(v)!));
    throw fail("unencodable", "not a value of the torch value model");
  }

  /** The record `tensorRecord` makes for a plain tensor (8 fields, no origin), written without making it. */
  function plainTensor(t: Tensor, depth: number): void {
    w.mapHeader(8);
    str(w, "dtype");
    value(t.dtype, depth);
    str(w, "shape");
    w.arrayHeader(t.shape.length);
    for (const x of t.shape) value(x, depth);
    str(w, "stride");
    w.arrayHeader(t.stride.length);
    for (const x of t.stride) value(x, depth);
    str(w, "offset");
    value(t.storageOffset, depth);
    str(w, "storage");
    value(facts.storageKey(t.storage!), depth);
    str(w, "device");
    value(t.device, depth);
    str(w, "requires_grad");
    w.bool(t.requiresGrad);
    str(w, "parameter");
    w.bool(t.isParameter);
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

/**
 * A tensor whose record is the 8 plain fields: strided, none of the optional parts, and no kept
 * origin where the canonical call (torch-records.ts `canonicalOrigin`) stands for it: its conditions, without making the call.
 */
function isPlainTensor(t: Tensor): boolean {
  const s = t.storage;
  return (
    s !== undefined && t.origin === undefined && t.layout === "strided" && t.quantization === undefined && t.sparse === undefined &&
    t.subclass === undefined && t.state === undefined && t.device === s.location && t.dtype === s.dtype && dtypeByName(t.dtype)?.name === t.dtype
  );
}

function hexBytes(hex: string, fail: () => Error): Uint8Array {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw fail();
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
