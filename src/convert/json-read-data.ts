/**
 * Storage bytes of a lossless JSON document, located in its source instead of copied out of it:
 * the streaming reader (`json-read.ts`) checks a storage's base64 text as it passes and keeps only
 * where it lies; a writer that asks for the bytes gets them decoded then, a few MiB of text at a
 * time, straight into the storage's array. So reading a document holds no storage's bytes, and
 * converting it holds one storage at a time.
 */
import type { ByteSource, ReadPlan } from "../bytes/source.js";
import { checkReadRange, runPlan, runPlanSync } from "../bytes/source.js";
import { ConvertError } from "../errors.js";
import type { StorageLocation } from "../torch/index.js";
import { decodeBase64Ascii } from "./base64-bulk.js";

const LOCATED: unique symbol = Symbol("torchsave.locatedBase64");

/** Valid base64 text of `size` bytes, `chars` characters at byte `offset` of `source`. */
export interface LocatedBase64 {
  readonly [LOCATED]: true;
  readonly source: ByteSource;
  readonly offset: number;
  readonly chars: number;
  readonly size: number;
}

/** A {@link LocatedBase64}; the text must have been checked (strict base64 of `size` bytes). */
export const locatedBase64 = (source: ByteSource, offset: number, chars: number, size: number): LocatedBase64 => ({ [LOCATED]: true, source, offset, chars, size });

export const isLocatedBase64 = (v: unknown): v is LocatedBase64 => typeof v === "object" && v !== null && LOCATED in v;

/** Base64 characters decoded per read: 4 MiB (a multiple of 4). */
const STEP_CHARS = 4 << 20;

/** Where a storage's bytes are: a source that decodes the located text on each read (nothing cached). */
export function base64Location(span: LocatedBase64, record: string): StorageLocation {
  return { source: base64Source(span, record), offset: 0, length: span.size, compression: "none", record };
}

function base64Source(span: LocatedBase64, record: string): ByteSource {
  const name = span.source.name;
  const check = (offset: number, length: number) => checkReadRange(span.size, offset, length, name);
  const sync = span.source.readSync !== undefined || span.source.bytes !== undefined;
  const inner: ByteSource = span.source.readSync !== undefined || span.source.bytes === undefined ? span.source : { ...span.source, readSync: (o, n) => span.source.bytes!.subarray(o, o + n) };
  return {
    size: span.size,
    read: async (offset, length) => {
      check(offset, length);
      return runPlan(decodePlan(span, offset, length, record), inner);
    },
    ...(sync ? { readSync: (offset: number, length: number) => {
      check(offset, length);
      return runPlanSync(decodePlan(span, offset, length, record), inner);
    } } : {}),
    ...(name === undefined ? {} : { name }),
  };
}

/** Bytes `[o, o + n)` of the span: the quads that hold them read a step at a time and decoded into one array. */
function* decodePlan(span: LocatedBase64, o: number, n: number, record: string): ReadPlan<Uint8Array> {
  const q0 = Math.floor(o / 3);
  const q1 = Math.ceil((o + n) / 3);
  const first = q0 * 3;
  const out = new Uint8Array(Math.min(span.size, q1 * 3) - first);
  let at = 0;
  for (let q = q0; q < q1;) {
    const quads = Math.min(q1 - q, STEP_CHARS / 4);
    const text = yield { offset: span.offset + q * 4, length: quads * 4 };
    if (decodeBase64Ascii(text, out, at) === undefined) {
      throw new ConvertError("io", `${record}: the base64 text changed since the document was read`, { offset: span.offset + q * 4 });
    }
    at += quads * 3;
    q += quads;
  }
  return n === out.length ? out : out.subarray(o - first, o - first + n);
}
