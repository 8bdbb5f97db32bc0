/**
 * A pickle disassembler driven by the opcode table alone: `disassemble` is pickletools' `genops`
 * (one record per opcode, up to STOP) and `formatDisassembly` prints exactly what
 * `python -m pickletools FILE` (`pickletools.dis`) prints, including its stack emulation: MARK
 * indentation, "(MARK at N)", "(as N)" for MEMOIZE and the final highest-protocol line.
 * The only per-opcode special cases are pickletools' own: MARK, POP of a mark, the memo opcodes, STOP.
 */
import { isTorchsaveError, PickleDecodeError, type ErrorCode } from "../errors.js";
import { ByteReader } from "../bytes/reader.js";
import { decodeLatin1 } from "../bytes/text.js";
import { OPCODES_BY_CODE, type OpcodeInfo, type StackItem } from "./opcodes.js";
import { pyEscapeDecode, pyReprByteArray, pyReprBytes, pyReprFloat, pyReprInt, pyReprStr } from "./py-repr.js";
import type { PyFloat } from "./value.js";

/** One opcode of a pickle, as {@link disassemble} reads it. */
export interface DisassembledOp {
  /** Byte offset of the opcode in the input. */
  offset: number;
  op: OpcodeInfo;
  /** The argument as `op.arg.read` returns it; undefined for opcodes without one. */
  arg: unknown;
  /** For opcodes that pop a mark: the offset of the MARK they pop (pickletools' stack emulation). */
  markAt?: number;
  /** For PUT/BINPUT/LONG_BINPUT/MEMOIZE and GET/BINGET/LONG_BINGET: the memo index. */
  memoIndex?: number;
}

/** Options of {@link formatDisassembly}; each mirrors a `python -m pickletools` flag or input. */
export interface DisassembleOptions {
  /** Append the first line of each opcode's doc, as `pickletools -a` does (column hint 30). Default false. */
  annotate?: boolean;
  /** Blanks per MARK nesting level, as `pickletools -l`. Default 4. */
  indentLevel?: number;
  /** Offset of the pickle in `bytes` (for concatenated pickles such as legacy torch files). Default 0. */
  start?: number;
  /**
   * Receives each output line (without its newline) as soon as it is known, so a caller can show
   * the lines before an error the way pickletools prints them before raising.
   */
  onLine?: (line: string) => void;
}

/** pickletools' `annotate` column hint when `-a` is given. */
const ANNOTATE_COLUMN = 30;

/** How pickletools renders each argument kind, keyed by argument descriptor name. */
const ARG_REPR: Readonly<Record<string, (arg: unknown, raw: Uint8Array) => string>> = {
  uint1: (a) => pyReprInt(a as number),
  uint2: (a) => pyReprInt(a as number),
  uint4: (a) => pyReprInt(a as number),
  uint8: (a) => pyReprInt(a as number),
  int4: (a) => pyReprInt(a as number),
  long1: (a) => pyReprInt(a as number | bigint),
  long4: (a) => pyReprInt(a as number | bigint),
  decimalnl_short: (a) => pyReprInt(a as number | bigint | boolean),
  decimalnl_long: (a) => pyReprInt(a as number | bigint),
  floatnl: (a) => pyReprFloat(a as number),
  float8: (a) => pyReprFloat((a as PyFloat).value),
  // Python 2 str: pickletools shows latin-1 text (it fails on non-ASCII STRING; we show latin-1 there too).
  stringnl: (a) => pyReprStr(decodeLatin1(a as Uint8Array)),
  string1: (a) => pyReprStr(decodeLatin1(a as Uint8Array)),
  string4: (a) => pyReprStr(decodeLatin1(a as Uint8Array)),
  bytes1: (a) => pyReprBytes(a as Uint8Array),
  bytes4: (a) => pyReprBytes(a as Uint8Array),
  bytes8: (a) => pyReprBytes(a as Uint8Array),
  bytearray8: (a) => pyReprByteArray(a as Uint8Array),
  unicodestringnl: (a) => pyReprStr(a as string),
  unicodestring1: (a) => pyReprStr(a as string),
  unicodestring4: (a) => pyReprStr(a as string),
  unicodestring8: (a) => pyReprStr(a as string),
  // pickletools escape-decodes these lines and reads them as ASCII.
  stringnl_noescape: (a, raw) => pyReprStr(noEscapeText(raw.subarray(0, raw.length - 1), a as string)),
  stringnl_noescape_pair: (a, raw) => {
    const [module, name] = a as readonly [string, string];
    const nl = raw.indexOf(0x0a);
    const first = noEscapeText(raw.subarray(0, nl), module);
    const second = noEscapeText(raw.subarray(nl + 1, raw.length - 1), name);
    return pyReprStr(`${first} ${second}`);
  },
};

/** pickletools' reading of a `stringnl_noescape` line: escapes undone, ASCII; else our UTF-8 reading. */
function noEscapeText(line: Uint8Array, fallback: string): string {
  const bytes = pyEscapeDecode(line);
  if (bytes === undefined) return fallback;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return fallback;
  return decodeLatin1(bytes);
}

/** One opcode as the stack emulation saw it. */
interface Walked extends DisassembledOp {
  /** Bytes of the argument (after the opcode byte), for renderers that need the raw text. */
  readonly raw: Uint8Array;
  /** Nesting depth (open MARKs) before this opcode. */
  readonly depth: number;
  /** pickletools' note after the argument: "(MARK at N)", "(as N)" or its "no MARK" message. */
  readonly note: string | undefined;
  /** A problem pickletools raises after printing this line. */
  readonly problem: { code: ErrorCode; reason: string } | undefined;
}

interface WalkEnd {
  readonly maxProto: number;
  /** Offset just past STOP. */
  readonly end: number;
  readonly leftover: readonly StackItem[];
}

/**
 * pickletools' `dis` loop: reads opcodes from `start` through STOP and emulates the stack. Stream
 * errors (unknown opcode, truncation, bad argument) throw; emulation problems are reported on the
 * record and, when `strict`, thrown after `visit` saw the record (pickletools prints, then raises).
 */
function walk(bytes: Uint8Array, start: number, strict: boolean, visit: (w: Walked) => void): WalkEnd {
  if (!Number.isSafeInteger(start) || start < 0 || start > bytes.length) {
    throw new PickleDecodeError("invalid-argument", `start ${start} is outside the ${bytes.length}-byte input`);
  }
  const r = new ByteReader(bytes, { errorClass: PickleDecodeError });
  r.pos = start;
  const stack: StackItem[] = [];
  const memo = new Map<number | bigint, StackItem>();
  const markstack: number[] = [];
  let maxProto = -1;
  for (;;) {
    const offset = r.pos;
    if (r.atEnd) throw new PickleDecodeError("truncated", "pickle exhausted before seeing STOP", { offset });
    const code = bytes[offset]!;
    const op = OPCODES_BY_CODE[code];
    if (op === undefined) {
      throw new PickleDecodeError("unknown-opcode", `opcode ${pyReprBytes(bytes.subarray(offset, offset + 1))} unknown`, { offset });
    }
    r.pos = offset + 1;
    const arg = readArg(r, op, offset);
    const raw = bytes.subarray(offset + 1, r.pos);
    const depth = markstack.length;
    maxProto = Math.max(maxProto, op.proto);

    const before = op.stackBefore;
    let after = op.stackAfter;
    let numToPop = before.length;
    let note: string | undefined;
    let problem: Walked["problem"];
    let markAt: number | undefined;
    let memoIndex: number | undefined;

    const markIndex = before.indexOf("mark");
    if (markIndex >= 0 || (op.name === "POP" && stack.length > 0 && stack[stack.length - 1] === "mark")) {
      const pos = markstack.pop();
      if (pos !== undefined) {
        markAt = pos;
        note = `(MARK at ${pos})`;
        // Pop everything at and above the topmost mark.
        while (stack.length > 0 && stack[stack.length - 1] !== "mark") stack.pop();
        stack.pop();
        numToPop = markIndex >= 0 ? markIndex : 0;
      } else {
        note = "no MARK exists on stack";
        problem = { code: "mark-missing", reason: note };
      }
    }

    if (op.name === "PUT" || op.name === "BINPUT" || op.name === "LONG_BINPUT" || op.name === "MEMOIZE") {
      const idx = op.name === "MEMOIZE" ? memo.size : memoKey(arg);
      if (op.name === "MEMOIZE") note = `(as ${idx})`;
      memoIndex = Number(idx);
      if (memo.has(idx)) problem = { code: "invalid-data", reason: `memo key ${memoKeyRepr(arg)} already defined` };
      else if (stack.length === 0) problem = { code: "stack-underflow", reason: "stack is empty -- can't store into memo" };
      else if (stack[stack.length - 1] === "mark") problem = { code: "invalid-data", reason: "can't store markobject in the memo" };
      else memo.set(idx, stack[stack.length - 1]!);
    } else if (op.name === "GET" || op.name === "BINGET" || op.name === "LONG_BINGET") {
      const idx = memoKey(arg);
      memoIndex = Number(idx);
      const item = memo.get(idx);
      if (item !== undefined) after = [item];
      else problem = { code: "memo-missing", reason: `memo key ${memoKeyRepr(arg)} has never been stored into` };
    }

    const record: Walked = { offset, op, arg, raw, depth, note, problem };
    if (markAt !== undefined) record.markAt = markAt;
    if (memoIndex !== undefined) record.memoIndex = memoIndex;
    visit(record);
    if (problem !== undefined && strict) {
      throw new PickleDecodeError(problem.code, problem.reason, { offset, opcode: op.name });
    }

    if (stack.length < numToPop) {
      if (strict) {
        throw new PickleDecodeError(
          "stack-underflow", `tries to pop ${numToPop} items from stack with only ${stack.length} items`, { offset, opcode: op.name },
        );
      }
      stack.length = 0;
    } else {
      stack.length -= numToPop;
    }
    if (after.includes("mark")) markstack.push(offset);
    for (const item of after) stack.push(item);
    if (op.name === "STOP") return { maxProto, end: r.pos, leftover: stack };
  }
}

function readArg(r: ByteReader, op: OpcodeInfo, offset: number): unknown {
  try {
    return op.arg.read(r);
  } catch (e) {
    if (isTorchsaveError(e)) throw e.withLocation({ opcode: op.name });
    const message = e instanceof Error ? e.message : String(e);
    throw new PickleDecodeError("invalid-data", `bad ${op.name} argument: ${message}`, { offset, opcode: op.name, cause: e });
  }
}

/** A memo index as a Map key: Python's `False`/`True` are 0 and 1, big ints stay bigints. */
function memoKey(arg: unknown): number | bigint {
  if (typeof arg === "boolean") return arg ? 1 : 0;
  if (typeof arg === "bigint") return arg <= BigInt(Number.MAX_SAFE_INTEGER) && arg >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(arg) : arg;
  return arg as number;
}

const memoKeyRepr = (arg: unknown): string =>
  arg === undefined ? "None" : pyReprInt(arg as number | bigint | boolean);

/**
 * The opcodes of the pickle starting at `start`, through STOP (pickletools' `genops`), with the
 * mark positions and memo indices its stack emulation finds. Emulation problems (a missing mark,
 * an unknown memo key) leave those fields out; {@link formatDisassembly} reports them.
 *
 * @throws PickleDecodeError `unknown-opcode`, `truncated` (no STOP), `invalid-data` (bad argument),
 *   `invalid-argument` (start outside the input); `offset` is the failing opcode's or byte's position.
 */
export function disassemble(bytes: Uint8Array, start = 0): DisassembledOp[] {
  const ops: DisassembledOp[] = [];
  walk(bytes, start, false, (w) => {
    const rec: DisassembledOp = { offset: w.offset, op: w.op, arg: w.arg };
    if (w.markAt !== undefined) rec.markAt = w.markAt;
    if (w.memoIndex !== undefined) rec.memoIndex = w.memoIndex;
    ops.push(rec);
  });
  return ops;
}

/**
 * The text `python -m pickletools` prints for the pickle at `options.start` (default 0): one line
 * per opcode, then "highest protocol among opcodes = N". Lines end with `\n`.
 *
 * @throws PickleDecodeError as {@link disassemble}, plus pickletools' own checks: `mark-missing`,
 *   `memo-missing`, `stack-underflow`, and `invalid-data` for a redefined memo key, a stored mark or
 *   items left on the stack after STOP. The lines before the error went to `onLine`.
 */
export function formatDisassembly(bytes: Uint8Array, options: DisassembleOptions = {}): string {
  const indentLevel = options.indentLevel ?? 4;
  if (!Number.isSafeInteger(indentLevel) || indentLevel < 0) {
    throw new PickleDecodeError("invalid-argument", `indentLevel must be a non-negative integer, got ${indentLevel}`);
  }
  const indent = " ".repeat(indentLevel);
  const annotate = options.annotate === true ? ANNOTATE_COLUMN : 0;
  const lines: string[] = [];
  const emit = (line: string): void => {
    lines.push(line);
    options.onLine?.(line);
  };
  let annoCol = annotate;
  const end = walk(bytes, options.start ?? 0, true, (w) => {
    const name = w.op.name;
    let line = `${codeRepr(w.op.code).padEnd(4)} ${indent.repeat(w.depth)}${name}`;
    const hasArg = w.arg !== undefined;
    if (hasArg || w.note !== undefined) {
      line += " ".repeat(Math.max(0, 10 - name.length));
      if (hasArg) line += " " + argRepr(w);
      if (w.note !== undefined) line += " " + w.note;
    }
    if (annotate > 0) {
      // Python measures the line in code points, not UTF-16 units.
      const length = codePointLength(line);
      line += " ".repeat(Math.max(0, annoCol - length));
      annoCol = Math.max(annoCol, length);
      if (annoCol > 50) annoCol = annotate;
      line += " " + (w.op.doc.split("\n", 1)[0] ?? "");
    }
    emit(`${String(w.offset).padStart(5)}: ${line}`);
  });
  emit(`highest protocol among opcodes = ${end.maxProto}`);
  if (end.leftover.length > 0) {
    throw new PickleDecodeError("invalid-data", `stack not empty after STOP: [${end.leftover.join(", ")}]`, { offset: end.end });
  }
  return lines.join("\n") + "\n";
}

/** `len(s)` as Python counts it: a surrogate pair is one character. */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

/** `repr(opcode.code)[1:-1]`: the opcode character as pickletools shows it (`(`, `\x80`). */
function codeRepr(code: number): string {
  return pyReprStr(String.fromCharCode(code)).slice(1, -1);
}

function argRepr(w: Walked): string {
  const render = ARG_REPR[w.op.arg.name];
  return render === undefined ? String(w.arg) : render(w.arg, w.raw);
}
