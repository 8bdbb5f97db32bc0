/**
 * The security scanner's view of one pickle: its opcodes walked through the opcode table with a
 * small stack emulation, so that every global it imports is found however it is spelled — GLOBAL,
 * INST, STACK_GLOBAL from literal, memo'd or computed strings, OBJ — and every call, BUILD and
 * persistent id is seen with what it is applied to. Values are described, never built: a string
 * is kept (it may name a module), bytes stay views (they may hold a nested pickle), everything else
 * is a tag. Unlike the decoder, the walk does not stop at the first semantic error (a stack
 * underflow, a missing memo entry): it records the error where Python would have stopped and
 * carries on leniently, so imports placed after a deliberate crash are still listed. A BUILD on a
 * module or class plants attributes that later lookups return (`globalMutations`, overrides).
 */
import { ByteReader } from "../bytes/reader.js";
import { decodeLatin1 } from "../bytes/text.js";
import { isTorchsaveError } from "../errors.js";
import { OPCODES_BY_CODE } from "../pickle/opcodes.js";
import { resolveGlobal } from "./resolve-name.js";
import { describeCall, describeDesc, isComputed, isDictLike, MAX_TRACKED_ITEMS, memoKey, storageRefOf, T, type CallRecords } from "./scan-pickle-calls.js";
import { DEFAULT_MAX_SCAN_OPS } from "./scan-pickle-types.js";
import type { Desc, CallVia, GlobalSpelling, GlobalUse, GlobalMutation, TargetEvent, StorageRef, NestedBytes, ScanProblem, ScanError, PickleScan, ScanPickleOptions } from "./scan-pickle-types.js";

export { DEFAULT_MAX_SCAN_OPS } from "./scan-pickle-types.js";
export { describeDesc, looksLikePickle } from "./scan-pickle-calls.js";
export type { Desc, CallVia, GlobalSpelling, GlobalUse, GlobalMutation, TargetEvent, StorageRef, NestedBytes, ScanProblem, ScanError, PickleScan, ScanPickleOptions } from "./scan-pickle-types.js";

/** Most str-keyed items tracked per dict (for the attributes a BUILD plants), and overrides per pickle. */
const MAX_DICT_ENTRIES = 64, MAX_OVERRIDES = 10_000;

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
  const records: CallRecords = { nested, getattrCalls, getattrResultCalls, partialCalls };
  /** Attributes planted on modules and classes by BUILD, keyed by the dotted path a lookup walks. */
  const overrides = new Map<string, Desc>();
  const globalMutations: GlobalMutation[] = [];
  const global = (module: string, name: string, opcode: GlobalUse["opcode"], spelling: GlobalSpelling): Desc => {
    globals.push({ module, name, offset: at(), opcode, spelling });
    const key = resolveGlobal(module, name).key;
    // A lookup through an attribute a BUILD planted returns what was planted (find_class walks attributes).
    if (overrides.size > 0) {
      for (let cut = key.length; cut > 0; cut = key.lastIndexOf(".", cut - 1)) {
        const planted = overrides.get(key.slice(0, cut));
        if (planted === undefined) continue;
        if (cut === key.length) return planted.t === "str" ? { ...planted, planted: true } : planted;
        return planted.t === "global" ? global(planted.key, key.slice(cut + 1), opcode, "override") : T.unknown;
      }
    }
    return { t: "global", module, name, key };
  };
  const call = (callable: Desc, args: Desc, via: CallVia): Desc => describeCall(callable, args, via, at(), records);
  /** BUILD/SETITEM/APPEND on an imported global mutates the module or class itself. */
  const mutation = (op: GlobalMutation["op"], target: Desc, state?: Desc): void => {
    if (target.t !== "global") return;
    const attrs: string[] = [];
    // BUILD's state is a dict (the instance __dict__), or (dict, slotstate dict) set by setattr.
    const dicts = state?.t === "dict" ? [state] : state?.t === "tuple" ? (state.items ?? []).filter((d) => d.t === "dict") : [];
    for (const [k, v] of dicts.flatMap((d) => d.t === "dict" ? d.entries ?? [] : [])) {
      attrs.push(k);
      if (overrides.size < MAX_OVERRIDES) overrides.set(`${target.key}.${k}`, v);
    }
    globalMutations.push({ offset: at(), op, key: target.key, attrs });
  };
  const setItem = (target: Desc, key: Desc, value: Desc): void => {
    if (target.t === "dict" && key.t === "str" && target.entries !== undefined && target.entries.length < MAX_DICT_ENTRIES) target.entries.push([key.v, value]);
  };
  const persistent = (pid: Desc): void => {
    event("BINPERSID", pid);
    const ref = storageRefOf(pid, at());
    if (ref !== undefined) storageRefs.push(ref);
    else otherPersistentIds.push({ offset: at(), tag: pid.t === "tuple" && pid.items?.[0]?.t === "str" ? pid.items[0].v : undefined });
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
        mutation("APPEND", target);
        if (target.t !== "list") event("APPEND", target);
        break;
      }
      case "APPENDS": {
        popMark();
        const target = top();
        mutation("APPENDS", target);
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
      case "EMPTY_DICT": push({ t: "dict", entries: [] }); break;
      case "DICT": {
        const items = popMark();
        if (items.length % 2 !== 0) semantic("invalid-data", "DICT needs an even number of items");
        const dict: Desc = { t: "dict", entries: [] };
        for (let i = 0; i + 1 < items.length; i += 2) setItem(dict, items[i]!, items[i + 1]!);
        push(dict);
        break;
      }
      case "SETITEM": {
        const value = pop();
        const key = pop();
        const target = top();
        setItem(target, key, value);
        mutation("SETITEM", target);
        if (!isDictLike(target)) event("SETITEM", target);
        break;
      }
      case "SETITEMS": {
        const items = popMark();
        if (items.length % 2 !== 0) semantic("invalid-data", "SETITEMS needs an even number of items");
        const target = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(target, items[i]!, items[i + 1]!);
        mutation("SETITEMS", target);
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
          push(global(module.v, name.v, "STACK_GLOBAL", module.planted || name.planted ? "override" : moduleFromMemo || nameFromMemo ? "memo" : "literal"));
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
        const state = pop();
        const target = top();
        event("BUILD", target);
        mutation("BUILD", target, state);
        const resume = options.skipAfterBuild?.get(reader.pos);
        if (resume !== undefined && resume >= reader.pos && resume <= bytes.length) reader.pos = resume;
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
    eventsTruncated, storageRefs, otherPersistentIds, nested, extensions, getattrCalls, getattrResultCalls, partialCalls, globalMutations, typeConfusion, unresolved, gets, puts, dups,
    maxMarkDepth, ops, result, limitReached,
  };
}
