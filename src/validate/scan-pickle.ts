/**
 * The security scanner's view of one pickle: its opcodes walked through the opcode table with a
 * small stack emulation, so that every global it imports is found however it is spelled — GLOBAL,
 * INST, STACK_GLOBAL from literal, memo'd or computed strings, OBJ — and every call, BUILD and
 * persistent id is seen with what it is applied to. Values are described, never built: a string
 * is kept (it may name a module), bytes stay views (they may hold a nested pickle), everything else
 * is a tag. Unlike the decoder, the walk does not stop at the first semantic error (a stack
 * underflow, a missing memo entry): it records the error where Python would have stopped and
 * carries on leniently, so imports placed after a deliberate crash are still listed.
 */
import { ByteReader } from "../bytes/reader.js";
import { decodeLatin1 } from "../bytes/text.js";
import { isTorchsaveError } from "../errors.js";
import { OPCODES_BY_CODE } from "../pickle/opcodes.js";
import { python3Name } from "./compat-names.js";
import { DEFAULT_MAX_SCAN_OPS } from "./scan-pickle-types.js";
import type { Desc, CallVia, GlobalSpelling, GlobalUse, TargetEvent, StorageRef, NestedBytes, ScanProblem, ScanError, PickleScan, ScanPickleOptions } from "./scan-pickle-types.js";

export { DEFAULT_MAX_SCAN_OPS } from "./scan-pickle-types.js";
export type { Desc, CallVia, GlobalSpelling, GlobalUse, TargetEvent, StorageRef, NestedBytes, ScanProblem, ScanError, PickleScan, ScanPickleOptions } from "./scan-pickle-types.js";

/** Tuples longer than this are described without their items. */
const MAX_TRACKED_ITEMS = 16;

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

const T = {
  float: { t: "float" }, bool: { t: "bool" }, none: { t: "none" }, list: { t: "list" }, dict: { t: "dict" },
  set: { t: "set" }, frozenset: { t: "frozenset" }, bytearray: { t: "bytearray" }, buffer: { t: "buffer" },
  persid: { t: "persid" }, unknown: { t: "unknown" },
} as const satisfies Record<string, Desc>;

/** True when `b` starts like a pickle of protocol 2 or later. */
export function looksLikePickle(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x80 && b[1]! >= 2 && b[1]! <= 5;
}

/**
 * Walks the pickle starting at `start` of `bytes`. Never throws on bad input: parse failures end
 * the walk with `error` set; semantic failures are recorded and the walk continues leniently.
 */
export function scanPickle(bytes: Uint8Array, start: number, options: ScanPickleOptions = {}): PickleScan {
  const base = options.baseOffset ?? 0;
  const maxOps = options.maxOps ?? DEFAULT_MAX_SCAN_OPS;
  const maxEvents = options.maxEvents ?? 100_000;
  const reader = new ByteReader(bytes);
  reader.pos = Math.max(0, Math.min(start, bytes.length));

  const stack: Desc[] = [];
  const memoFlags: boolean[] = [];
  const marks: number[] = [];
  const memo = new Map<string, Desc>();

  const globals: GlobalUse[] = [];
  const opcodes = new Map<string, { count: number; first: number }>();
  const events: TargetEvent[] = [];
  let eventsTruncated = false;
  const storageRefs: StorageRef[] = [];
  const otherPersistentIds: { offset: number; tag: string | undefined }[] = [];
  const nested: NestedBytes[] = [];
  const extensions: { offset: number; code: number }[] = [];
  const typeConfusion: ScanProblem[] = [];
  const unresolved: ScanProblem[] = [];
  const getattrCalls: PickleScan["getattrCalls"] = [];
  const getattrResultCalls: number[] = [];
  const partialCalls: PickleScan["partialCalls"] = [];
  let gets = 0, puts = 0, dups = 0, maxMarkDepth = 0, ops = 0, protocol = -1;
  let error: ScanError | undefined;
  let opStart = reader.pos;
  let opName: string | undefined;
  let result: Desc | undefined;
  let complete = false;
  let limitReached = false;

  const at = (): number => base + opStart;
  const semantic = (code: string, message: string): void => {
    if (error === undefined) error = { kind: "invalid", code, message, offset: at(), opcode: opName };
  };
  const fence = (): number => marks.length === 0 ? 0 : marks[marks.length - 1]!;
  const push = (d: Desc, fromMemo = false): void => {
    stack.push(d);
    memoFlags.push(fromMemo);
  };
  const pop = (): Desc => {
    if (stack.length <= fence()) {
      semantic("stack-underflow", `${opName ?? "opcode"} needs more items than the stack holds above the last MARK`);
      return T.unknown;
    }
    memoFlags.pop();
    return stack.pop()!;
  };
  /** Like pop, also saying whether the value came from the memo. */
  const popWithOrigin = (): [Desc, boolean] => {
    if (stack.length <= fence()) {
      semantic("stack-underflow", `${opName ?? "opcode"} needs more items than the stack holds above the last MARK`);
      return [T.unknown, false];
    }
    return [stack.pop()!, memoFlags.pop()!];
  };
  const top = (): Desc => {
    if (stack.length <= fence()) {
      semantic("stack-underflow", `${opName ?? "opcode"} needs an item on the stack`);
      return T.unknown;
    }
    return stack[stack.length - 1]!;
  };
  const replaceTop = (d: Desc): void => {
    if (stack.length <= fence()) push(d);
    else {
      stack[stack.length - 1] = d;
      memoFlags[memoFlags.length - 1] = false;
    }
  };
  /** Closes the innermost MARK; returns the items above it (removed from the stack). */
  const popMark = (): Desc[] => {
    if (marks.length === 0) {
      semantic("mark-missing", `${opName ?? "opcode"} needs a MARK, but none is open`);
      return [];
    }
    const from = marks.pop()!;
    memoFlags.length = from;
    return stack.splice(from);
  };
  const event = (op: TargetEvent["op"], target: Desc, args?: Desc): void => {
    if (events.length < maxEvents) events.push(args === undefined ? { op, offset: at(), target } : { op, offset: at(), target, args });
    else eventsTruncated = true;
  };
  const tuple = (items: Desc[]): Desc => ({ t: "tuple", items: items.length <= MAX_TRACKED_ITEMS ? items : undefined });
  const global = (module: string, name: string, opcode: GlobalUse["opcode"], spelling: GlobalSpelling): Desc => {
    globals.push({ module, name, offset: at(), opcode, spelling });
    const py3 = python3Name(module, name);
    return { t: "global", module, name, key: `${py3.module}.${py3.name}` };
  };
  const call = (callable: Desc, args: Desc, via: CallVia): Desc => {
    const by = callable.t === "global" ? callable.key : undefined;
    if (callable.t === "obj" && callable.by === "builtins.getattr" && callable.newOf === undefined) getattrResultCalls.push(at());
    if (by === "builtins.getattr") {
      const items = args.t === "tuple" ? args.items : undefined;
      const owner = items?.[0];
      const attr = items?.[1];
      const boundMethod = via === "REDUCE" && items?.length === 2 && owner?.t === "obj" && owner.by !== undefined && attr?.t === "str" && !/^__.*__$/.test(attr.v);
      // getattr(C, "__new__") on a class global is how protocols 2-3 spell object creation.
      const newOf = via === "REDUCE" && items?.length === 2 && owner?.t === "global" && attr?.t === "str" && attr.v === "__new__" ? owner.key : undefined;
      getattrCalls.push({ offset: at(), boundMethod: boundMethod || newOf !== undefined, ownerClass: owner?.t === "obj" ? owner.by : newOf });
      if (newOf !== undefined) return { t: "obj", by, via, newOf };
    }
    if (by === "functools.partial") {
      const items = args.t === "tuple" ? args.items : undefined;
      const fn = items?.[0];
      // The class to create comes next, as an argument or (protocol 2) in the partial's BUILD state.
      partialCalls.push({ offset: at(), newOf: fn?.t === "obj" ? fn.newOf : undefined });
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
        nested.push({ offset: at(), loader: by, data: data.data, dataAt: data.at < 0 ? undefined : data.at, format: format ?? "pickle" });
      }
    }
    return { t: "obj", by, via };
  };
  const bytesOf = (d: Desc | undefined): { data: Uint8Array; at: number } | undefined => {
    if (d === undefined) return undefined;
    if (d.t === "bytes") return { data: d.data, at: d.at };
    if (d.t === "str" && d.raw !== undefined) return { data: d.raw, at: d.at ?? -1 };
    return undefined;
  };
  const persistent = (pid: Desc): void => {
    event("BINPERSID", pid);
    const items = pid.t === "tuple" ? pid.items : undefined;
    const tag = items?.[0]?.t === "str" ? items[0].v : undefined;
    if (items !== undefined && tag === "storage") {
      const [, type, key, location, numel, view] = items;
      if (type?.t === "global" && key?.t === "str") {
        const viewItems = view?.t === "tuple" ? view.items : undefined;
        const [vk, vo, vs] = viewItems ?? [];
        storageRefs.push({
          offset: at(), storageClass: type.key, key: key.v,
          location: location?.t === "str" ? location.v : undefined,
          numel: numel?.t === "int" && typeof numel.v === "number" ? numel.v : undefined,
          ...(vk?.t === "str" && vo?.t === "int" && vs?.t === "int" && typeof vo.v === "number" && typeof vs.v === "number"
            ? { view: { key: vk.v, offset: vo.v, size: vs.v } } : {}),
        });
        return;
      }
    }
    otherPersistentIds.push({ offset: at(), tag });
  };

  for (;;) {
    opStart = reader.pos;
    if (ops >= maxOps) {
      limitReached = true;
      break;
    }
    if (opStart >= bytes.length) {
      opName = undefined;
      error ??= { kind: "truncated", code: "truncated", message: "input ended before STOP", offset: base + opStart, opcode: undefined };
      break;
    }
    const code = bytes[opStart]!;
    const info = OPCODES_BY_CODE[code];
    if (info === undefined) {
      opName = undefined;
      error ??= { kind: "invalid", code: "unknown-opcode", message: `byte 0x${code.toString(16).padStart(2, "0")} is not a pickle opcode`, offset: base + opStart, opcode: undefined };
      break;
    }
    opName = info.name;
    reader.pos = opStart + 1;
    let arg: unknown;
    try {
      arg = info.arg.read(reader);
    } catch (e) {
      const truncated = isTorchsaveError(e) && e.code === "truncated";
      const reason = isTorchsaveError(e) ? e.reason : String(e);
      error ??= { kind: truncated ? "truncated" : "invalid", code: isTorchsaveError(e) ? e.code : "invalid-data", message: reason, offset: base + opStart, opcode: info.name };
      break;
    }
    ops++;
    const seen = opcodes.get(info.name);
    if (seen === undefined) opcodes.set(info.name, { count: 1, first: base + opStart });
    else seen.count++;

    switch (info.name) {
      case "INT": case "BININT": case "BININT1": case "BININT2": case "LONG": case "LONG1": case "LONG4":
        push(typeof arg === "boolean" ? T.bool : { t: "int", v: arg as number | bigint });
        break;
      case "STRING": case "BINSTRING": case "SHORT_BINSTRING": {
        const raw = arg as Uint8Array;
        push({ t: "str", v: decodeLatin1(raw), raw, at: base + reader.pos - raw.length });
        break;
      }
      case "BINBYTES": case "SHORT_BINBYTES": case "BINBYTES8": {
        const data = arg as Uint8Array;
        push({ t: "bytes", data, at: base + reader.pos - data.length });
        break;
      }
      case "BYTEARRAY8": push(T.bytearray); break;
      case "NEXT_BUFFER": push(T.buffer); break;
      case "READONLY_BUFFER": top(); break;
      case "NONE": push(T.none); break;
      case "NEWTRUE": case "NEWFALSE": push(T.bool); break;
      case "UNICODE": case "SHORT_BINUNICODE": case "BINUNICODE": case "BINUNICODE8": push({ t: "str", v: arg as string }); break;
      case "FLOAT": case "BINFLOAT": push(T.float); break;
      case "EMPTY_LIST": push(T.list); break;
      case "APPEND": {
        pop();
        const target = top();
        if (target.t !== "list") event("APPEND", target);
        break;
      }
      case "APPENDS": {
        popMark();
        const target = top();
        if (target.t !== "list") event("APPENDS", target);
        break;
      }
      case "LIST": popMark(); push(T.list); break;
      case "EMPTY_TUPLE": push({ t: "tuple", items: [] }); break;
      case "TUPLE": push(tuple(popMark())); break;
      case "TUPLE1": case "TUPLE2": case "TUPLE3": {
        const n = code - 0x84;
        const items: Desc[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        push(tuple(items));
        break;
      }
      case "EMPTY_DICT": push(T.dict); break;
      case "DICT": {
        const items = popMark();
        if (items.length % 2 !== 0) semantic("invalid-data", "DICT needs an even number of items");
        push(T.dict);
        break;
      }
      case "SETITEM": {
        pop();
        pop();
        const target = top();
        if (!isDictLike(target)) event("SETITEM", target);
        break;
      }
      case "SETITEMS": {
        const items = popMark();
        if (items.length % 2 !== 0) semantic("invalid-data", "SETITEMS needs an even number of items");
        const target = top();
        if (!isDictLike(target)) event("SETITEMS", target);
        break;
      }
      case "EMPTY_SET": push(T.set); break;
      case "ADDITEMS": popMark(); top(); break;
      case "FROZENSET": popMark(); push(T.frozenset); break;
      case "POP":
        if (stack.length > fence()) pop();
        else if (marks.length > 0) {
          memoFlags.length = marks[marks.length - 1]!;
          marks.pop();
        } else semantic("stack-underflow", "POP on an empty stack");
        break;
      case "DUP": dups++; push(top()); break;
      case "MARK":
        marks.push(stack.length);
        if (marks.length > maxMarkDepth) maxMarkDepth = marks.length;
        break;
      case "POP_MARK": popMark(); break;
      case "GET": case "BINGET": case "LONG_BINGET": {
        gets++;
        const value = memo.get(memoKey(arg));
        if (value === undefined) {
          semantic("memo-missing", `memo has no entry ${String(memoKey(arg))}`);
          push(T.unknown, true);
        } else push(value, true);
        break;
      }
      case "PUT": case "BINPUT": case "LONG_BINPUT": {
        puts++;
        const k = memoKey(arg);
        if (k.startsWith("-")) semantic("invalid-data", `negative PUT argument ${k}`);
        memo.set(k, top());
        break;
      }
      case "MEMOIZE": puts++; memo.set(String(memo.size), top()); break;
      case "EXT1": case "EXT2": case "EXT4": {
        const extCode = arg as number;
        if (extCode <= 0) semantic("invalid-data", `EXT code ${extCode} is not positive`);
        extensions.push({ offset: at(), code: extCode });
        push({ t: "ext", code: extCode });
        break;
      }
      case "GLOBAL": {
        const [module, name] = arg as readonly [string, string];
        push(global(module, name, "GLOBAL", "literal"));
        break;
      }
      case "STACK_GLOBAL": {
        const [name, nameFromMemo] = popWithOrigin();
        const [module, moduleFromMemo] = popWithOrigin();
        if (module.t === "str" && name.t === "str") {
          push(global(module.v, name.v, "STACK_GLOBAL", moduleFromMemo || nameFromMemo ? "memo" : "literal"));
        } else if (isComputed(module) || isComputed(name)) {
          unresolved.push({ offset: at(), message: `STACK_GLOBAL takes its ${isComputed(module) ? "module" : "name"} from a value computed at load time (${describeDesc(isComputed(module) ? module : name)})` });
          push(T.unknown);
        } else {
          typeConfusion.push({ offset: at(), message: `STACK_GLOBAL is given ${describeDesc(module)} and ${describeDesc(name)} instead of two str` });
          semantic("type-mismatch", "STACK_GLOBAL requires str");
          push(T.unknown);
        }
        break;
      }
      case "REDUCE": {
        const args = pop();
        const callable = top();
        event("REDUCE", callable, args);
        replaceTop(call(callable, args, "REDUCE"));
        break;
      }
      case "BUILD": {
        pop();
        event("BUILD", top());
        break;
      }
      case "INST": {
        const [module, name] = arg as readonly [string, string];
        const cls = global(module, name, "INST", "literal");
        const args = popMark();
        push(call(cls, tuple(args), "INST"));
        break;
      }
      case "OBJ": {
        const items = popMark();
        const cls = items[0];
        if (cls === undefined) semantic("stack-underflow", "OBJ needs a class above the MARK");
        push(call(cls ?? T.unknown, tuple(items.slice(1)), "OBJ"));
        break;
      }
      case "NEWOBJ": {
        const args = pop();
        const cls = pop();
        event("NEWOBJ", cls);
        push(call(cls, args, "NEWOBJ"));
        break;
      }
      case "NEWOBJ_EX": {
        pop();
        const args = pop();
        const cls = pop();
        event("NEWOBJ", cls);
        push(call(cls, args, "NEWOBJ_EX"));
        break;
      }
      case "PROTO":
        if ((arg as number) > 5) semantic("unsupported", `pickle protocol ${arg as number} is newer than 5`);
        if (protocol < 0) protocol = arg as number;
        break;
      case "STOP":
        result = pop();
        complete = true;
        break;
      case "FRAME":
        if ((arg as number) > bytes.length - reader.pos) {
          error ??= { kind: "truncated", code: "truncated", message: `FRAME declares ${arg as number} bytes, ${bytes.length - reader.pos} remain`, offset: at(), opcode: "FRAME" };
        }
        break;
      case "PERSID": persistent({ t: "str", v: arg as string }); push(T.persid); break;
      case "BINPERSID": persistent(pop()); push(T.persid); break;
      default:
        semantic("unsupported", `opcode ${info.name} is not understood`);
    }
    if (complete) break;
  }

  return {
    start: base + start, end: base + (complete ? reader.pos : opStart), complete, protocol, error, globals, opcodes, events,
    eventsTruncated, storageRefs, otherPersistentIds, nested, extensions, getattrCalls, getattrResultCalls, partialCalls, typeConfusion, unresolved, gets, puts, dups,
    maxMarkDepth, ops, result, limitReached,
  };
}

function memoKey(arg: unknown): string {
  if (typeof arg === "boolean") return arg ? "1" : "0";
  return String(arg as number | bigint);
}

function isDictLike(d: Desc): boolean {
  return d.t === "dict" || (d.t === "obj" && (d.by === "collections.OrderedDict" || d.by === "collections.Counter"));
}

/** A value only known at load time: the result of a call, an extension, or an unknown. */
function isComputed(d: Desc): boolean {
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
