/**
 * The pickle decoder: CPython's `_Unpickler` stack machine for protocols 0–5, over the lossless
 * value model. It never imports or calls anything: globals stay {@link PyGlobal} data and calls
 * stay inert {@link PyObject}s unless a caller-supplied hook (reducers, `findGlobal`,
 * `persistentLoad`, `build`) says otherwise. It is iterative (no recursion, so a million nested
 * lists decode) and bounded by {@link DecodeLimits}.
 */
import { ByteReader } from "../bytes/reader.js";
import { decodeAsciiRange } from "../bytes/text.js";
import { PickleDecodeError, type ErrorCode, type ErrorLocation } from "../errors.js";
import { dictSetItem, setAddItem, tagOf, type KeyIndexes } from "./decode-keys.js";
import { dropTo, locate, memoIndex, pruneMemo, python2String, uintAt } from "./decode-support.js";
import { argumentError, isStringMode, resolveLimits } from "./decode-options.js";
import type { DecodeLimits, DecodeOptions, DecodeResult } from "./decode-options.js";
import { decodeCalls } from "./decode-calls.js";
import { memoKeeper } from "./decode-memo-keeper.js";
import { addItems, appendItems, buildState, setItems } from "./decode-mutate.js";
import { pyTypeName } from "./decode-type-name.js";
import { none as NO_ARGUMENT } from "./args.js";
import { HIGHEST_PROTOCOL, OPCODES_BY_CODE, type OpcodeInfo } from "./opcodes.js";
import type {
  PyBuffer, PyBytes, PyDict, PyExtension, PyFloat, PyGlobal, PyObject, PyTuple, PyValue,
} from "./value.js";

export { DEFAULT_DECODE_LIMITS } from "./decode-options.js";
export type { DecodeLimits, DecodeOptions, DecodeResult, PersistentLoad, ReduceContext, Reducer, ReducerRegistry } from "./decode-options.js";

/** An error without a location; `locate` adds the failing opcode's. */
const fail = (code: ErrorCode, reason: string): PickleDecodeError => new PickleDecodeError(code, reason);

/**
 * Decodes one pickle from the start of `bytes`. Trailing bytes after STOP are ignored (the
 * validator reports them). Bytes, bytearray and buffer values are views into `bytes`, not copies.
 *
 * Dict keys and set members follow Python: an equal key (`1`, `1.0` and `True` are equal) keeps
 * its first position and takes the latest value. An unhashable key (a list, dict, set, bytearray,
 * or a tuple holding one) is `type-mismatch`, as Python's `TypeError`. BUILD stores its state on
 * the object or dict; a second BUILD merges two plain-dict states into a new dict (as
 * `__dict__.update`) and otherwise replaces the state. Errors thrown by hooks propagate
 * unchanged, except that torchsave errors get missing location fields filled in.
 *
 * @throws PickleDecodeError with `offset` (the failing opcode's, plus `baseOffset`), `opcode` and
 *   `entry`: `truncated` (input ends before STOP), `unknown-opcode`, `stack-underflow`,
 *   `mark-missing`, `memo-missing`, `limit-exceeded`, `invalid-data` (malformed argument, odd
 *   DICT/SETITEMS, negative PUT, EXT code ≤ 0, non-ASCII PERSID), `type-mismatch` (e.g. APPEND
 *   onto a dict, STACK_GLOBAL of non-str), `missing-buffer`, `unsupported` (protocol > 5),
 *   `invalid-argument` (bad options).
 */
export function decodePickle<X = never>(bytes: Uint8Array, options: DecodeOptions<X> = {}): PyValue<X> {
  return decodePickleAt(bytes, 0, options).value;
}

/**
 * Decodes the pickle starting at index `start` of `bytes` and says where it ended, for streams of
 * concatenated pickles (legacy torch files: magic, protocol, sys_info, then the data pickle).
 * Offsets in errors are indices into `bytes` plus `baseOffset`.
 * @throws PickleDecodeError as {@link decodePickle}; `invalid-argument` when `start` is not an
 *   index in `bytes`.
 */
export function decodePickleAt<X = never>(bytes: Uint8Array, start: number, options: DecodeOptions<X> = {}): DecodeResult<X> {
  const baseOffset = options.baseOffset ?? 0;
  const where = (offset: number): ErrorLocation =>
    options.entry === undefined ? { offset: baseOffset + offset } : { offset: baseOffset + offset, entry: options.entry };
  if (!(bytes instanceof Uint8Array)) throw argumentError("bytes must be a Uint8Array", where(0));
  if (!Number.isSafeInteger(start) || start < 0 || start > bytes.length) {
    throw argumentError(`start ${String(start)} is not an index in the ${bytes.length}-byte input`, where(0));
  }
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw argumentError("baseOffset must be a non-negative integer", where(0));
  if (options.strings !== undefined && !isStringMode(options.strings)) {
    throw argumentError(`strings must be "auto", "bytes", "latin1" or "utf-8", not ${JSON.stringify(options.strings)}`, where(start));
  }
  const limits = resolveLimits(options.limits, where(start));
  return run(bytes, start, options, limits, baseOffset);
}

/** The machine. One function so the hot state (stack, fence, reader) stays in locals. */
function run<X>(bytes: Uint8Array, start: number, options: DecodeOptions<X>, limits: Readonly<DecodeLimits>, baseOffset: number): DecodeResult<X> {
  // Reading stops at maxBytes: running into that cap surfaces as `truncated`, rewritten below.
  const cap = Math.min(bytes.length, start + limits.maxBytes);
  const input = cap < bytes.length ? bytes.subarray(0, cap) : bytes;
  const reader = new ByteReader(input, options.entry === undefined
    ? { errorClass: PickleDecodeError, baseOffset }
    : { errorClass: PickleDecodeError, baseOffset, entry: options.entry });
  reader.pos = start;

  const { maxStack, maxMemo, maxMarkDepth, maxContainerItems } = limits;
  const { extensions, buffers } = options;
  const strings = options.strings ?? "auto";

  // CPython keeps a metastack of lists; one flat stack plus the index where the innermost MARK's
  // items begin (`fence`) is the same machine without copying (as CPython's C unpickler does).
  const stack: PyValue<X>[] = [];
  const marks: number[] = [];
  let fence = 0;
  // Memo entries the pickle never reads back are not kept (they become garbage once consumed);
  // objects put where they are read back are the only ones reachable twice.
  const memo = memoKeeper<X>(pruneMemo(input, start, options), maxMemo);
  const indexes: KeyIndexes = new WeakMap();
  let protocol = -1;
  let opsProtocol = 0;
  let bufferIndex = 0;

  let opStart = start;
  let op: OpcodeInfo | undefined;
  // True while a caller's hook runs: its errors are its own, passed through (see `locate`).
  const hook = { active: false };

  const push = (v: PyValue<X>): void => {
    if (stack.length >= maxStack) throw fail("limit-exceeded", `stack would exceed maxStack (${maxStack})`);
    stack.push(v);
  };
  const pop = (): PyValue<X> => {
    if (stack.length <= fence) throw underflow(op);
    return stack.pop()!;
  };
  const top = (): PyValue<X> => {
    if (stack.length <= fence) throw underflow(op);
    return stack[stack.length - 1]!;
  };
  /** Closes the innermost MARK; returns where its items begin (they stay on the stack). */
  const closeMark = (): number => {
    if (marks.length === 0) throw fail("mark-missing", `${op!.name} needs a MARK, but none is open`);
    const from = fence;
    fence = marks.pop()!;
    return from;
  };
  /** Closes the innermost MARK and takes its items off the stack as a new array. */
  const popMark = (): PyValue<X>[] => {
    const from = closeMark();
    if (stack.length - from > maxContainerItems) throw fail("limit-exceeded", `${op!.name} would exceed maxContainerItems (${maxContainerItems})`);
    const items = stack.slice(from);
    dropTo(stack, from);
    return items;
  };
  /** The object below a closed mark's items (APPENDS, SETITEMS, ADDITEMS). */
  const belowMark = (from: number): PyValue<X> => {
    if (from <= fence) throw underflow(op);
    return stack[from - 1]!;
  };
  const offset = (): number => baseOffset + opStart;

  const { resolveGlobal, call, persistent } = decodeCalls(options, hook, offset, memo.shared);
  /** BINPUT/LONG_BINPUT: memo[index] = top of stack. */
  const putTop = (index: number): void => {
    if (stack.length <= fence) throw underflow(op);
    memo.put(index, stack[stack.length - 1]!);
  };
  /** BINGET/LONG_BINGET: push memo[index]. */
  const pushMemo = (index: number): void => {
    const value = memo.get(index);
    if (value === undefined) throw fail("memo-missing", `memo has no entry ${index}`);
    push(value);
  };

  const len = input.length;
  // Short strings are built from this array (reused by every string of this decode).
  const scratch: number[] = [];
  let pos = start;

  try {
    for (;;) {
      opStart = pos;
      if (pos >= len) {
        op = undefined;
        throw fail("truncated", "input ended before STOP");
      }
      const code = input[pos]!;
      op = OPCODES_BY_CODE[code];
      if (op === undefined) {
        throw fail("unknown-opcode", `byte 0x${code.toString(16).padStart(2, "0")} is not a pickle opcode`);
      }
      if (op.proto > opsProtocol) opsProtocol = op.proto;

      // Fast paths for the opcodes that dominate real pickles (memo traffic, small ints, ASCII
      // strings): their arguments are read in place. Each does exactly what the table-driven path
      // below does, and falls through to it (`break`) whenever the argument is not in reach or not
      // the simple case, so every error still comes from one place.
      switch (code) {
        case 0x71: // BINPUT
        case 0x72: { // LONG_BINPUT
          const width = code === 0x71 ? 1 : 4;
          if (len - pos > width) {
            putTop(uintAt(input, pos + 1, width));
            pos += 1 + width;
            continue;
          }
          break;
        }
        case 0x68: // BINGET
        case 0x6a: { // LONG_BINGET
          const width = code === 0x68 ? 1 : 4;
          if (len - pos > width) {
            pushMemo(uintAt(input, pos + 1, width));
            pos += 1 + width;
            continue;
          }
          break;
        }
        case 0x4b: // BININT1
        case 0x4d: // BININT2
        case 0x4a: { // BININT (signed: the u32 read back as an int32)
          const width = code === 0x4b ? 1 : code === 0x4d ? 2 : 4;
          if (len - pos > width) {
            const v = uintAt(input, pos + 1, width);
            push(width === 4 ? v | 0 : v);
            pos += 1 + width;
            continue;
          }
          break;
        }
        case 0x58: // BINUNICODE
        case 0x8c: // SHORT_BINUNICODE
        case 0x55: { // SHORT_BINSTRING (ASCII reads the same in every `strings` mode but "bytes")
          const width = code === 0x58 ? 4 : 1;
          if (len - pos > width && (code !== 0x55 || strings !== "bytes")) {
            const n = uintAt(input, pos + 1, width);
            const from = pos + 1 + width;
            if (n <= len - from) {
              const text = decodeAsciiRange(input, from, from + n, scratch);
              if (text !== undefined) {
                push(text);
                pos = from + n;
                continue;
              }
            }
          }
          break;
        }
        default:
          break;
      }

      reader.pos = pos + 1;
      const arg: unknown = op.arg === NO_ARGUMENT ? undefined : op.arg.read(reader);

      // One case per opcode, in the table's order.
      switch (code) {
        // Integers.
        case 0x49: // INT
        case 0x4a: // BININT
        case 0x4b: // BININT1
        case 0x4d: // BININT2
        case 0x4c: // LONG
        case 0x8a: // LONG1
        case 0x8b: // LONG4
          push(arg as number | bigint | boolean);
          break;

        // Python 2 strings.
        case 0x53: // STRING
        case 0x54: // BINSTRING
        case 0x55: // SHORT_BINSTRING
          push(python2String(arg as Uint8Array, strings));
          break;

        // Bytes, bytearray, out-of-band buffers.
        case 0x42: // BINBYTES
        case 0x43: // SHORT_BINBYTES
        case 0x8e: { // BINBYTES8
          const out: PyBytes = { kind: "bytes", data: arg as Uint8Array };
          push(out);
          break;
        }
        case 0x96: // BYTEARRAY8
          push({ kind: "bytearray", data: arg as Uint8Array });
          break;
        case 0x97: { // NEXT_BUFFER
          const data = buffers?.[bufferIndex];
          if (data === undefined) {
            throw fail("missing-buffer", buffers === undefined
              ? "the pickle uses an out-of-band buffer, but no buffers were given"
              : `the pickle uses more out-of-band buffers than the ${buffers.length} given`);
          }
          bufferIndex++;
          const out: PyBuffer = { kind: "buffer", data, readonly: false };
          push(out);
          break;
        }
        case 0x98: { // READONLY_BUFFER
          const buf = top();
          const kind = tagOf(buf);
          if (kind === "buffer" || kind === "bytearray") {
            if (kind === "bytearray" || !(buf as PyBuffer).readonly) {
              const out: PyBuffer = { kind: "buffer", data: (buf as PyBuffer).data, readonly: true };
              stack[stack.length - 1] = out;
            }
          } else if (kind !== "bytes") {
            throw fail("type-mismatch", `READONLY_BUFFER needs a buffer, found ${pyTypeName(buf)}`);
          }
          break;
        }

        // None and bools.
        case 0x4e: // NONE
          push(null);
          break;
        case 0x88: // NEWTRUE
          push(true);
          break;
        case 0x89: // NEWFALSE
          push(false);
          break;

        // Unicode strings.
        case 0x56: // UNICODE
        case 0x8c: // SHORT_BINUNICODE
        case 0x58: // BINUNICODE
        case 0x8d: // BINUNICODE8
          push(arg as string);
          break;

        // Floats.
        case 0x46: { // FLOAT
          const out: PyFloat = { kind: "float", value: arg as number };
          push(out);
          break;
        }
        case 0x47: // BINFLOAT
          push(arg as PyFloat);
          break;

        // Lists.
        case 0x5d: // EMPTY_LIST
          push({ kind: "list", items: [] });
          break;
        case 0x61: { // APPEND
          const value = pop();
          const target = top();
          if (tagOf(target) === "list") {
            const items = (target as { items: PyValue<X>[] }).items;
            if (items.length >= maxContainerItems) throw fail("limit-exceeded", `list would exceed maxContainerItems (${maxContainerItems})`);
            items.push(value);
          } else {
            appendItems(target, [value], 0, 1, maxContainerItems);
          }
          break;
        }
        case 0x65: { // APPENDS
          const from = closeMark();
          appendItems(belowMark(from), stack, from, stack.length, maxContainerItems);
          dropTo(stack, from);
          break;
        }
        case 0x6c: // LIST
          push({ kind: "list", items: popMark() });
          break;

        // Tuples.
        case 0x29: // EMPTY_TUPLE
          push({ kind: "tuple", items: [] });
          break;
        case 0x74: // TUPLE
          push({ kind: "tuple", items: popMark() });
          break;
        case 0x85: { // TUPLE1
          const items = [pop()];
          stack.push({ kind: "tuple", items });
          break;
        }
        case 0x86: { // TUPLE2
          if (stack.length - fence < 2) throw underflow(op);
          const second = stack.pop()!;
          const items = [stack.pop()!, second];
          stack.push({ kind: "tuple", items });
          break;
        }
        case 0x87: { // TUPLE3
          if (stack.length - fence < 3) throw underflow(op);
          const third = stack.pop()!;
          const second = stack.pop()!;
          const items = [stack.pop()!, second, third];
          stack.push({ kind: "tuple", items });
          break;
        }

        // Dicts.
        case 0x7d: // EMPTY_DICT
          push({ kind: "dict", entries: [] });
          break;
        case 0x64: { // DICT
          const from = closeMark();
          const dict: PyDict<X> = { kind: "dict", entries: [] };
          setItems(indexes, dict, stack, from, stack.length, maxContainerItems);
          dropTo(stack, from);
          push(dict);
          break;
        }
        case 0x73: { // SETITEM
          const value = pop();
          const key = pop();
          const target = top();
          if (tagOf(target) === "dict" && (target as PyDict<X>).entries.length < maxContainerItems) {
            dictSetItem(indexes, target as PyDict<X>, key, value);
          } else {
            setItems(indexes, target, [key, value], 0, 2, maxContainerItems);
          }
          break;
        }
        case 0x75: { // SETITEMS
          const from = closeMark();
          setItems(indexes, belowMark(from), stack, from, stack.length, maxContainerItems);
          dropTo(stack, from);
          break;
        }

        // Sets.
        case 0x8f: // EMPTY_SET
          push({ kind: "set", items: [] });
          break;
        case 0x90: { // ADDITEMS
          const from = closeMark();
          addItems(indexes, belowMark(from), stack, from, stack.length, maxContainerItems);
          dropTo(stack, from);
          break;
        }
        case 0x91: { // FROZENSET
          const from = closeMark();
          if (stack.length - from > maxContainerItems) throw fail("limit-exceeded", `FROZENSET would exceed maxContainerItems (${maxContainerItems})`);
          const items: PyValue<X>[] = [];
          for (let i = from; i < stack.length; i++) setAddItem(indexes, items, stack[i]!);
          dropTo(stack, from);
          push({ kind: "frozenset", items });
          break;
        }

        // Stack manipulation.
        case 0x30: // POP
          if (stack.length > fence) stack.pop();
          else if (marks.length > 0) fence = marks.pop()!; // CPython: an empty stack pops the mark
          else throw underflow(op);
          break;
        case 0x32: // DUP
          push(top());
          break;
        case 0x28: // MARK
          if (marks.length >= maxMarkDepth) throw fail("limit-exceeded", `MARKs would nest deeper than maxMarkDepth (${maxMarkDepth})`);
          marks.push(fence);
          fence = stack.length;
          break;
        case 0x31: // POP_MARK
          dropTo(stack, closeMark());
          break;

        // Memo.
        case 0x67: // GET
        case 0x68: // BINGET
        case 0x6a: { // LONG_BINGET
          const index = memoIndex(arg as number | bigint | boolean);
          const value = memo.get(index);
          if (value === undefined) throw fail("memo-missing", `memo has no entry ${index}`);
          push(value);
          break;
        }
        case 0x70: // PUT
        case 0x71: // BINPUT
        case 0x72: { // LONG_BINPUT
          const index = memoIndex(arg as number | bigint | boolean);
          if (index < 0) throw fail("invalid-data", `negative PUT argument ${index}`);
          memo.put(index, top());
          break;
        }
        case 0x94: // MEMOIZE
          memo.put(memo.memo.count, top());
          break;

        // Extension registry.
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: { // EXT4
          const extCode = arg as number;
          if (extCode <= 0) throw fail("invalid-data", `EXT code ${extCode} is not positive`);
          const g = extensions?.get(extCode);
          if (g === undefined) {
            const out: PyExtension = { kind: "ext", code: extCode };
            push(out);
          } else {
            push(resolveGlobal(g.module, g.name));
          }
          break;
        }

        // Globals.
        case 0x63: { // GLOBAL
          const [module, name] = arg as readonly [string, string];
          push(resolveGlobal(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== "string" || typeof name !== "string") {
            throw fail("type-mismatch", `STACK_GLOBAL needs two str, found ${pyTypeName(module)} and ${pyTypeName(name)}`);
          }
          push(resolveGlobal(module, name));
          break;
        }

        // Objects.
        case 0x52: { // REDUCE
          const args = pop();
          const callable = top();
          stack[stack.length - 1] = call(callable, args, "reduce");
          break;
        }
        case 0x62: { // BUILD
          const state = pop();
          const target = top();
          if (!buildState(indexes, target, state)) {
            if (options.build === undefined) {
              throw fail("type-mismatch", `cannot BUILD ${pyTypeName(target)}: no build hook was given`);
            }
            hook.active = true;
            options.build(target as X, state, offset());
            hook.active = false;
          }
          if (options.afterBuild !== undefined) {
            hook.active = true;
            const next = options.afterBuild(target, input, reader.pos);
            hook.active = false;
            if (next !== undefined) {
              if (!Number.isSafeInteger(next.end) || next.end < reader.pos || next.end > input.length) {
                throw fail("invalid-data", `afterBuild hook returned position ${next.end} outside ${reader.pos}..${input.length}`);
              }
              reader.pos = next.end;
              if (next.value !== undefined) stack[stack.length - 1] = next.value;
            }
          }
          break;
        }
        case 0x69: { // INST
          const [module, name] = arg as readonly [string, string];
          const cls = resolveGlobal(module, name);
          const args: PyTuple<X> = { kind: "tuple", items: popMark() };
          push(call(cls, args, "inst"));
          break;
        }
        case 0x6f: { // OBJ
          const items = popMark();
          if (items.length === 0) throw fail("stack-underflow", "OBJ needs a class above the MARK");
          const args: PyTuple<X> = { kind: "tuple", items: items.slice(1) };
          push(call(items[0]!, args, "obj"));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = pop();
          const cls = pop();
          if (tagOf(args) !== "tuple") throw fail("type-mismatch", `NEWOBJ needs an argument tuple, found ${pyTypeName(args)}`);
          push(call(cls, args, "newobj"));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = pop();
          const args = pop();
          const cls = pop();
          if (tagOf(args) !== "tuple") throw fail("type-mismatch", `NEWOBJ_EX needs an argument tuple, found ${pyTypeName(args)}`);
          if (tagOf(kwargs) !== "dict") throw fail("type-mismatch", `NEWOBJ_EX needs a keyword dict, found ${pyTypeName(kwargs)}`);
          push(call(cls, args, "newobj_ex", kwargs));
          break;
        }

        // Machine control.
        case 0x80: // PROTO
          if ((arg as number) > HIGHEST_PROTOCOL) throw fail("unsupported", `pickle protocol ${arg as number} is newer than ${HIGHEST_PROTOCOL}`);
          protocol = arg as number;
          break;
        case 0x2e: { // STOP
          const value = pop(); // anything left below the result is ignored, as CPython does
          return { value, end: reader.pos, protocol: protocol >= 0 ? protocol : opsProtocol };
        }

        // Framing: a read-ahead hint, but the frame must fit in the input.
        case 0x95: // FRAME
          if ((arg as number) > reader.remaining) {
            throw fail("truncated", `FRAME declares ${arg as number} bytes, ${reader.remaining} remain`);
          }
          break;

        // Persistent ids.
        case 0x50: { // PERSID
          const pid = arg as string;
          if (!/^[\x00-\x7f]*$/.test(pid)) throw fail("invalid-data", "a PERSID persistent id must be ASCII text");
          push(persistent(pid, false));
          break;
        }
        case 0x51: // BINPERSID
          push(persistent(pop(), true));
          break;

        default:
          throw fail("unsupported", `opcode ${op.name} is in the table but not handled`);
      }
      pos = reader.pos;
    }
  } catch (e) {
    throw locate(e, opStart, op, hook.active, cap < bytes.length ? limits.maxBytes : undefined, options.entry, baseOffset);
  }
}

function underflow(op: OpcodeInfo | undefined): PickleDecodeError {
  return fail("stack-underflow", `${op?.name ?? "opcode"} needs more items than the stack holds above the last MARK`);
}
