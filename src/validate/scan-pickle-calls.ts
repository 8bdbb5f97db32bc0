/**
 * The scanner's value descriptions and what a call means (see scan-pickle.ts): which callables
 * take nested pickles, how protocol 2 spells bytes, how Python pickles bound methods and
 * constructors through getattr and functools.partial, and short descriptions for messages.
 */
import type { CallVia, Desc, NestedBytes, PickleScan, StorageRef } from "./scan-pickle-types.js";

/** Tuples longer than this are described without their items. */
export const MAX_TRACKED_ITEMS = 16;

/** Callables whose bytes argument is a nested pickle or torch file. */
const LOADERS: ReadonlyMap<string, NestedBytes["format"]> = new Map([
  ["torch.storage._load_from_bytes", "torch-file"],
  ["pickle.loads", "pickle"], ["_pickle.loads", "pickle"], ["pickle.load", "pickle"], ["_pickle.load", "pickle"],
  ["dill.loads", "pickle"], ["dill._dill.loads", "pickle"], ["cloudpickle.loads", "pickle"], ["numpy.loads", "pickle"],
  ["torch.load", "torch-file"], ["torch.serialization.load", "torch-file"], ["joblib.load", "pickle"],
  ["pandas.read_pickle", "pickle"], ["torch.utils._config_module.ConfigModule.load_config", "pickle"],
  ["torch.utils.data.datapipes.utils.decoder.basichandlers", "pickle"],
]);

const BYTES_IO = new Set(["io.BytesIO", "_io.BytesIO"]);

/** Shared descriptions of values the emulation does not track further. */
export const T = {
  float: { t: "float" }, bool: { t: "bool" }, none: { t: "none" }, list: { t: "list" },
  set: { t: "set" }, frozenset: { t: "frozenset" }, bytearray: { t: "bytearray" }, buffer: { t: "buffer" },
  persid: { t: "persid" }, unknown: { t: "unknown" },
} as const satisfies Record<string, Desc>;

/** What a call records beyond its result. */
export interface CallRecords {
  readonly nested: NestedBytes[];
  readonly getattrCalls: PickleScan["getattrCalls"];
  readonly getattrResultCalls: number[];
  readonly partialCalls: PickleScan["partialCalls"];
}

/** True when `b` starts like a pickle of protocol 2 or later. */
export function looksLikePickle(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x80 && b[1]! >= 2 && b[1]! <= 5;
}

/** The result of calling `callable` with `args` at offset `at`, recording what the call reveals. */
export function describeCall(callable: Desc, args: Desc, via: CallVia, at: number, rec: CallRecords): Desc {
  const by = callable.t === "global" ? callable.key : undefined;
  if (callable.t === "obj" && callable.by === "builtins.getattr" && callable.newOf === undefined) rec.getattrResultCalls.push(at);
  if (by === "builtins.getattr") {
    const items = args.t === "tuple" ? args.items : undefined;
    const owner = items?.[0];
    const attr = items?.[1];
    const boundMethod = via === "REDUCE" && items?.length === 2 && owner?.t === "obj" && owner.by !== undefined && attr?.t === "str" && !/^__.*__$/.test(attr.v);
    // getattr(C, "__new__") on a class global is how protocols 2-3 spell object creation.
    const newOf = via === "REDUCE" && items?.length === 2 && owner?.t === "global" && attr?.t === "str" && attr.v === "__new__" ? owner.key : undefined;
    rec.getattrCalls.push({ offset: at, boundMethod: boundMethod || newOf !== undefined, ownerClass: owner?.t === "obj" ? owner.by : newOf });
    if (newOf !== undefined) return { t: "obj", by, via, newOf };
  }
  if (by === "functools.partial") {
    const items = args.t === "tuple" ? args.items : undefined;
    const fn = items?.[0];
    // The class to create comes next, as an argument or (protocol 2) in the partial's BUILD state.
    rec.partialCalls.push({ offset: at, newOf: fn?.t === "obj" ? fn.newOf : undefined });
  }
  if (by !== undefined && args.t === "tuple" && args.items !== undefined) {
    const [first, second] = args.items;
    // Protocol 2 spells bytes as _codecs.encode(str, "latin1").
    if (by === "_codecs.encode" && first?.t === "str" && (second === undefined || (second.t === "str" && /^latin-?1$/i.test(second.v)))) {
      return { t: "bytes", data: latin1Bytes(first.v), at: -1 };
    }
    const data = bytesOf(first);
    if (BYTES_IO.has(by) && data !== undefined) return { t: "bytes", data: data.data, at: data.at, io: true };
    const format = LOADERS.get(by);
    if (data !== undefined && (format !== undefined || looksLikePickle(data.data))) {
      rec.nested.push({ offset: at, loader: by, data: data.data, dataAt: data.at < 0 ? undefined : data.at, format: format ?? "pickle" });
    }
  }
  return { t: "obj", by, via };
}

function bytesOf(d: Desc | undefined): { data: Uint8Array; at: number } | undefined {
  if (d === undefined) return undefined;
  if (d.t === "bytes") return { data: d.data, at: d.at };
  if (d.t === "str" && d.raw !== undefined) return { data: d.raw, at: d.at ?? -1 };
  return undefined;
}

/** The torch storage a persistent id names (`('storage', StorageClass, key, location, numel[, view])`), or undefined. */
export function storageRefOf(pid: Desc, offset: number): StorageRef | undefined {
  const items = pid.t === "tuple" ? pid.items : undefined;
  if (items === undefined || items[0]?.t !== "str" || items[0].v !== "storage") return undefined;
  const [, type, key, location, numel, view] = items;
  if (type?.t !== "global" || key?.t !== "str") return undefined;
  const [vk, vo, vs] = view?.t === "tuple" ? view.items ?? [] : [];
  return {
    offset, storageClass: type.key, key: key.v,
    location: location?.t === "str" ? location.v : undefined,
    numel: numel?.t === "int" && typeof numel.v === "number" ? numel.v : undefined,
    ...(vk?.t === "str" && vo?.t === "int" && vs?.t === "int" && typeof vo.v === "number" && typeof vs.v === "number"
      ? { view: { key: vk.v, offset: vo.v, size: vs.v } } : {}),
  };
}

export function memoKey(arg: unknown): string {
  if (typeof arg === "boolean") return arg ? "1" : "0";
  return String(arg as number | bigint);
}

export function isDictLike(d: Desc): boolean {
  return d.t === "dict" || (d.t === "obj" && (d.by === "collections.OrderedDict" || d.by === "collections.Counter"));
}

/** A value only known at load time: the result of a call, an extension, or an unknown. */
export function isComputed(d: Desc): boolean {
  return d.t === "obj" || d.t === "ext" || d.t === "unknown" || d.t === "persid";
}

/** A short description of a described value, for messages. */
export function describeDesc(d: Desc): string {
  switch (d.t) {
    case "str": return `str ${JSON.stringify(d.v.length > 40 ? `${d.v.slice(0, 40)}…` : d.v)}`;
    case "int": return `int ${String(d.v)}`;
    case "bytes": return `bytes (${d.data.length})`;
    case "global": return `global ${d.module}.${d.name}`;
    case "obj": return d.by === undefined ? "the result of a computed call" : `the result of calling ${d.by}`;
    case "ext": return `extension ${d.code}`;
    case "tuple": return "a tuple";
    default: return d.t === "unknown" ? "an unknown value" : `a ${d.t}`;
  }
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
