/**
 * numpy's own files, which training code saves beside checkpoints: `.npy` (a header dict, then raw
 * elements, or a pickle for object arrays) and `.npz` (a zip of `.npy` members). The root is the
 * array, or a dict of member name → array.
 */
import { bytesSource } from "../../bytes/source.js";
import type { ByteSource } from "../../bytes/source.js";
import { decodeLatin1 } from "../../bytes/text.js";
import { CheckpointError } from "../../errors.js";
import type { PyDict } from "../../pickle/value.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { dtypeByNumpy } from "../dtypes.js";
import type { NdArray, NdField, TorchHost, TorchValue } from "../model.js";
import { structuredDescr } from "../../numpy/npy-descr.js";
import { literalGet, parseLiteral } from "../../numpy/npy-literal.js";
import { isNdArray } from "../model.js";
import { decodeTorchPickle } from "./torch-unpickle.js";
import type { ZipArchive } from "../../containers/zip/zip-reader.js";
import { readEntrySync } from "../../containers/zip/zip-reader.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(head: Uint8Array): boolean {
  return MAGIC.every((b, i) => head[i] === b);
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** A structured dtype's fields and record size. */
  structured?: { fields: NdField[]; itemSize: number };
}

/** Parses one `.npy` file held in memory. */
export function readNpy(bytes: Uint8Array, options: ReadOptions, entry?: string): NdArray {
  const fail = (code: "truncated" | "invalid-data" | "unsupported", reason: string, offset: number) =>
    new CheckpointError(code, reason, { offset, ...(entry === undefined ? {} : { entry }) });
  if (!isNpy(bytes)) throw fail("invalid-data", "not a .npy file (no \\x93NUMPY magic)", 0);
  if (bytes.length < 10) throw fail("truncated", ".npy header is cut short", bytes.length);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [lenSize, headerLen] = major === 1 ? [2, view.getUint16(8, true)] : major <= 3 && bytes.length >= 12 ? [4, view.getUint32(8, true)] : [0, -1];
  if (headerLen < 0) throw fail("unsupported", `.npy format version ${major}`, 6);
  const start = 8 + lenSize;
  if (start + headerLen > bytes.length) throw fail("truncated", ".npy header runs past the end", start);
  const header = parseHeader(decodeLatin1(bytes.subarray(start, start + headerLen)));
  if (header === undefined) throw fail("unsupported", ".npy header is not a {'descr', 'fortran_order', 'shape'} dict numpy writes", start);
  const dataStart = start + headerLen;
  const data = bytes.subarray(dataStart);
  const base: NdArray = {
    kind: "ndarray", descr: header.descr, shape: header.shape, fortranOrder: header.fortranOrder, scalar: false,
    ...(header.structured === undefined ? {} : { fields: header.structured.fields }),
  };
  if (header.descr === "|O") {
    // Object arrays are a pickle (numpy's allow_pickle): decoded inertly, never executed.
    const inner = decodeTorchPickle(bytes, dataStart, options, { baseOffset: 0, ...(entry === undefined ? {} : { entry }) }).value;
    return isNdArray(inner) ? { ...inner, shape: header.shape } : { ...base, items: [inner] };
  }
  const info = header.structured === undefined ? dtypeByNumpy(header.descr) : undefined;
  const count = header.shape.reduce((a, b) => a * b, 1);
  const itemSize = header.structured?.itemSize ?? info?.dtype.itemSize ?? Number(header.descr.slice(2));
  if (!Number.isFinite(itemSize) || count * itemSize > data.length) {
    throw fail("truncated", `.npy data holds ${data.length} bytes; ${header.shape.join("×")} elements of ${header.descr} need ${count * itemSize}`, dataStart);
  }
  return { ...base, ...(info === undefined ? {} : { dtype: info.dtype.name }), data: data.subarray(0, count * itemSize) };
}

/**
 * numpy writes `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`; a structured dtype's
 * descr is a list of fields (npy-descr.ts).
 */
function parseHeader(text: string): NpyHeader | undefined {
  const dict = parseLiteral(text.trim());
  const descr = literalGet(dict, "descr");
  const fortran = literalGet(dict, "fortran_order");
  const shape = literalGet(dict, "shape");
  if (typeof fortran !== "boolean" || typeof shape !== "object" || shape === null || !("tuple" in shape)) return undefined;
  const dims = shape.tuple;
  if (!dims.every((d): d is number => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) return undefined;
  if (typeof descr === "string") return { descr, fortranOrder: fortran, shape: dims };
  const structured = descr === undefined ? undefined : structuredDescr(descr);
  if (structured === undefined) return undefined;
  return { descr: `|V${structured.itemSize}`, fortranOrder: fortran, shape: dims, structured };
}

export function readNpyCheckpoint(source: ByteSource, options: ReadOptions): Checkpoint {
  const bytes = source.bytes ?? source.readSync!(0, source.size);
  const array = readNpy(bytes, options);
  return { layout: "npy", compression: "none", root: array, storages: [], protocol: 0, records: {}, source };
}

/** An `.npz`: every `name.npy` member, in archive order, as a dict. */
export function readNpzCheckpoint(zip: ZipArchive, options: ReadOptions): Checkpoint {
  const entries: [TorchValue, TorchValue][] = [];
  for (const e of zip.entries) {
    if (!e.name.endsWith(".npy")) continue;
    entries.push([e.name.slice(0, -4), readNpy(readEntrySync(zip, e), options, e.name)]);
  }
  const root: PyDict<TorchHost> = { kind: "dict", entries };
  return { layout: "npz", compression: "none", root, storages: [], protocol: 0, records: {}, source: zip.source, zip };
}

/** True when every member of a zip is a `.npy` file (numpy's savez), not a torch archive. */
export function looksLikeNpz(zip: ZipArchive): boolean {
  // data.pkl first: a torch archive is answered without building its (possibly many) entries.
  return zip.get("data.pkl") === undefined && zip.entries.length > 0 && zip.entries.every((e) => e.name.endsWith(".npy"));
}

export { bytesSource };
