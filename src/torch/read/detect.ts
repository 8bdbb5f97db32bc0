/**
 * What kind of file this is, judged from its first bytes only (never the name). The checks run
 * from the most specific signature to the vaguest guess, and each is conservative: a file that
 * is merely "not obviously something" comes back "unknown".
 */
import { ByteReader } from "../../bytes/reader.js";
import { OPCODES_BY_CODE } from "../../pickle/opcodes.js";
import { isTar } from "../../containers/tar-reader.js";
import { isZip } from "../../containers/zip/zip-reader.js";

/** The containers torchsave tells apart. "legacy" is torch's pre-1.6 concatenated-pickle format. */
export type ContainerKind = "zip" | "legacy" | "pickle" | "gzip" | "tar" | "safetensors" | "npy" | "json" | "msgpack" | "unknown";

/** How many leading bytes {@link detectContainer} looks at; pass at least this many when you can. */
export const DETECT_HEAD_BYTES = 1024;

/** torch's legacy magic number, pickled as the first value of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The second pickle of a legacy file: the protocol version. */
const LEGACY_PROTOCOL_VERSION = 1001;
/** safetensors' own limit on the JSON header. */
const SAFETENSORS_MAX_HEADER = 100_000_000;

const PROTO = 0x80;
const STOP = 0x2e;
const GLOBAL = 0x63;
const INST = 0x69;
const MEMOIZE = 0x94;
// First opcodes a protocol 0/1 pickle plausibly starts with: MARK ( EMPTY_LIST ] EMPTY_DICT }
// EMPTY_TUPLE ) GLOBAL c NONE N and the scalar pushes I L S V X J K M F G T U.
const PROTO01_STARTS = new Set([..."(]})cNILSVXJKMFGTU"].map((c) => c.charCodeAt(0)));
const PRINTABLE_NAME = /^[\x21-\x7e]+$/;

/**
 * Detects the container from content only (the first {@link DETECT_HEAD_BYTES} bytes suffice):
 * - "zip": `PK\x03\x04` (or `PK\x05\x06`, an empty archive);
 * - "gzip": `1f 8b 08`; "npy": `\x93NUMPY`; "tar": `ustar` at 257, or a valid header checksum
 *   (what Python's tarfile, and so torch's tar loader, accept);
 * - "safetensors": a u64 little-endian header length n (0 < n <= 100 MB, and 8 + n <= size when
 *   size is given) followed by `{`;
 * - "legacy": a pickle stream whose first value is torch's magic number 0x1950a86a20f9469cfc6c
 *   (any protocol), or whose second pickle is the protocol version 1001 (a file that only pretends
 *   to start like legacy torch is still "legacy"; the reader then fails safely);
 * - "pickle": PROTO 2..5, or a well-formed protocol 0/1 start (known opcodes, printable GLOBAL
 *   names, reaching STOP or the end of `head`);
 * - "json": first non-space character `{` or `[`;
 * - "msgpack": only when sure: a map whose first key is a valid UTF-8 string followed by a valid
 *   type byte (a msgpack top-level array or scalar is reported "unknown").
 * `size` is the whole file's size, when known; it sharpens the safetensors and pickle checks.
 */
export function detectContainer(head: Uint8Array, size?: number): ContainerKind {
  const b = head;
  if (isZip(b)) return "zip";
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) return "gzip";
  if (startsWith(b, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return "npy";
  if (isTar(b)) return "tar";
  if (isSafetensors(b, size)) return "safetensors";
  const pickle = classifyPickle(b, size);
  if (pickle !== undefined) return pickle;
  if (isJson(b)) return "json";
  if (isMsgpackMap(b)) return "msgpack";
  return "unknown";
}

function startsWith(b: Uint8Array, sig: readonly number[]): boolean {
  return b.length >= sig.length && sig.every((v, i) => b[i] === v);
}

function isSafetensors(b: Uint8Array, size: number | undefined): boolean {
  if (b.length < 9 || b[8] !== 0x7b) return false;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000;
  if (n < 2 || n > SAFETENSORS_MAX_HEADER) return false;
  return size === undefined || 8 + n <= size;
}

function isJson(b: Uint8Array): boolean {
  for (const c of b) {
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b || c === 0x5b;
  }
  return false;
}

/** "legacy", "pickle", or undefined when the bytes are not a plausible pickle start. */
function classifyPickle(b: Uint8Array, size: number | undefined): "legacy" | "pickle" | undefined {
  const first = walkPickle(b, 0);
  if (first.kind === "complete") {
    if (first.int === LEGACY_MAGIC) return "legacy";
    const second = walkPickle(b, first.end);
    if (second.kind === "complete" && second.int === BigInt(LEGACY_PROTOCOL_VERSION)) return "legacy";
  }
  // PROTO 2..5 is a signature of its own; what follows may be anything (joblib interleaves raw arrays).
  if (b[0] === PROTO) return b.length >= 2 && b[1]! >= 2 && b[1]! <= 5 ? "pickle" : undefined;
  // Protocol 0/1 has no signature: insist on a plausible first opcode and a walk that either
  // finishes or runs cleanly to the end of what we were given (which must not be the whole file).
  if (first.kind === "invalid" || !PROTO01_STARTS.has(b[0]!)) return undefined;
  if (first.kind === "complete") return "pickle";
  if (size !== undefined && size <= b.length) return undefined;
  if (first.ops >= 2) return "pickle";
  // A protocol 0 str or bytes longer than the head (UNICODE/STRING text runs to a newline past it):
  // plausible when the text seen so far has no control bytes but tab.
  return (b[0] === 0x56 || b[0] === 0x53) && b.subarray(1).every((c) => c >= 0x20 || c === 0x09) ? "pickle" : undefined;
}

interface Walk {
  /** complete: reached STOP; partial: ran out of bytes; invalid: an unknown opcode or bad argument. */
  readonly kind: "complete" | "partial" | "invalid";
  /** Offset just past STOP, for "complete". */
  readonly end: number;
  /** The PROTO argument, or 0 without PROTO. */
  readonly protocol: number;
  /** Opcodes read. */
  readonly ops: number;
  /** When the pickle is a single integer (PROTO? int STOP): its value. */
  readonly int: bigint | undefined;
}

/** Walks one pickle's opcodes from `start`, reading arguments through the opcode table only. */
function walkPickle(b: Uint8Array, start: number): Walk {
  const r = new ByteReader(b.subarray(start));
  let protocol = 0;
  let ops = 0;
  const ints: bigint[] = [];
  let others = 0;
  const result = (kind: Walk["kind"]): Walk => ({
    kind, end: start + r.pos, protocol, ops,
    int: ints.length === 1 && others === 0 ? ints[0] : undefined,
  });
  while (!r.atEnd) {
    const code = r.u8();
    const info = OPCODES_BY_CODE[code];
    if (info === undefined) return result("invalid");
    let arg: unknown;
    try {
      arg = info.arg.read(r);
    } catch (e) {
      return result((e as { code?: unknown }).code === "truncated" ? "partial" : "invalid");
    }
    ops++;
    if (code === PROTO) {
      if (ops !== 1) return result("invalid");
      protocol = arg as number;
      continue;
    }
    if (code === STOP) return result("complete");
    if ((code === GLOBAL || code === INST) && !(arg as readonly string[]).every((s) => PRINTABLE_NAME.test(s))) {
      return result("invalid");
    }
    // FRAME, PUT, BINPUT, LONG_BINPUT and MEMOIZE leave the value alone (protocol 4+ frames the magic).
    if ((info.stackBefore.length === 0 && info.stackAfter.length === 0) || code === MEMOIZE) continue;
    if (info.stackAfter.length === 1 && info.stackAfter[0] === "int" && info.stackBefore.length === 0) {
      ints.push(BigInt(arg as number | bigint));
    } else if (code === 0x49 && typeof arg !== "boolean") {
      ints.push(BigInt(arg as number | bigint)); // INT: "int_or_bool" in the table.
    } else {
      others++;
    }
  }
  return result("partial");
}

function isMsgpackMap(b: Uint8Array): boolean {
  const t = b[0];
  if (t === undefined) return false;
  let p: number;
  if (t >= 0x81 && t <= 0x8f) p = 1;
  else if ((t === 0xde && b.length >= 3 && (b[1]! | b[2]!) !== 0) || (t === 0xdf && b.length >= 5 && (b[1]! | b[2]! | b[3]! | b[4]!) !== 0)) {
    p = t === 0xde ? 3 : 5;
  } else return false;
  // The first key must be a string that fits in what we have.
  const k = b[p];
  if (k === undefined) return false;
  let len: number;
  if (k >= 0xa0 && k <= 0xbf) (len = k & 0x1f), (p += 1);
  else if (k === 0xd9 && b.length > p + 1) (len = b[p + 1]!), (p += 2);
  else if (k === 0xda && b.length > p + 2) (len = (b[p + 1]! << 8) | b[p + 2]!), (p += 3);
  else return false;
  if (p + len >= b.length) return false;
  const key = b.subarray(p, p + len);
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(key);
  } catch {
    return false;
  }
  // 0xc1 is the one byte msgpack never uses.
  return b[p + len] !== 0xc1;
}
