/** Decoding the lossless msgpack format (msgpack.ts): document bytes back to the value. */
import { decodeTwosComplement } from "../bytes/bigint.js";
import { decodeUtf8 } from "../bytes/text.js";
import { ConvertError, isTorchsaveError } from "../errors.js";
import type { PyDict, PyFloat, PyGlobal, PyObject, PyObjectVia } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { Storage, StorageLocation, TorchHost, TorchValue } from "../torch/index.js";
import { guarded } from "./input.js";
import { MSGPACK_EXT } from "./msgpack-ext.js";
import { memoryCursor, type DocumentCursor, type ValueReader } from "./msgpack-cursor.js";
import { MsgpackReader, type MsgpackItem } from "./msgpack-wire.js";
import { storageFromHeader, type StorageHeader } from "./storage-table.js";
import { ndarrayFromRecord, tensorFromRecord } from "./torch-records.js";
import { MSGPACK_FORMAT_VERSION, DEFAULT_MSGPACK_MAX_DEPTH, type MsgpackOptions, CANONICAL_NAN, VIAS } from "./msgpack-format.js";

/**
 * Reads a torchsave msgpack document back into the value it was made from. Storage bytes and
 * Python bytes are views into `bytes` (no copy): copy them before changing `bytes`.
 * @throws ConvertError `invalid-data` (with the byte offset) for anything that is not a document
 *   of this format, `truncated` when it ends early, `limit-exceeded` past `maxDepth`.
 */
export function fromMsgpack(bytes: Uint8Array, options: MsgpackOptions = {}): TorchValue {
  return guarded("msgpack", () => decodeDocument((value) => memoryCursor(bytes, value), options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH));
}

/** Reads a whole document from the cursor `open` makes. */
export function decodeDocument(open: (value: ValueReader) => DocumentCursor, maxDepth: number): TorchValue {
  const ids = new Map<number, TorchValue>();
  const storages = new Map<string, Storage>();

  function fail(at: number, reason: string, code: "invalid-data" | "limit-exceeded" = "invalid-data"): ConvertError {
    return new ConvertError(code, reason, { offset: at });
  }

  function document(): TorchValue {
    const r = open(value);
    const head = r.container();
    if (head.type !== "map") throw fail(0, "not a torchsave msgpack document (it does not start with a map)");
    const keys: string[] = [];
    let root: TorchValue | undefined;
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const key = r.value(0);
      if (typeof key !== "string") throw fail(at, "document keys must be str");
      keys.push(key);
      if (i === 0) {
        if (key !== "torchsave") throw fail(at, "not a torchsave msgpack document (its first key is not \"torchsave\")");
        const vAt = r.offset;
        const version = r.value(0);
        if (version !== MSGPACK_FORMAT_VERSION) throw new ConvertError("unsupported", `torchsave msgpack version ${String(version)} (this reads ${MSGPACK_FORMAT_VERSION})`, { offset: vAt });
      } else if (key === "storages") {
        if (root !== undefined) throw fail(at, "\"storages\" must come before \"root\"");
        storageTable(r);
      } else if (key === "root") {
        root = r.value(0);
      } else {
        r.value(0); // unknown keys are skipped: later versions may add metadata
      }
    }
    if (root === undefined) throw fail(r.offset, "the document has no \"root\"");
    if (!r.atEnd) throw fail(r.offset, "bytes after the end of the document");
    return root;
  }

  function storageTable(r: DocumentCursor): void {
    const head = r.container();
    if (head.type !== "array") throw fail(r.offset, "\"storages\" must be an array");
    for (let i = 0; i < head.count; i++) {
      const at = r.offset;
      const m = r.container();
      if (m.type !== "map") throw fail(at, "a storage entry must be a map");
      const fields = new Map<string, TorchValue>();
      let data: Uint8Array | StorageLocation | undefined;
      for (let j = 0; j < m.count; j++) {
        const kAt = r.offset;
        const k = r.value(1);
        if (typeof k !== "string" || fields.has(k) || (k === "data" && data !== undefined)) throw fail(kAt, "storage entry keys must be distinct str");
        if (k === "data") {
          data = r.data();
          if (data === undefined) throw fail(kAt, "storage data must be bin");
        } else fields.set(k, r.value(1));
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
