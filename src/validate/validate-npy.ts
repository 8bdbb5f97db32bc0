/**
 * numpy `.npy` files (alone, or as `.npz` members): the header, the data length it implies, and —
 * for object arrays, which numpy stores as a pickle — a full scan of that pickle.
 */
import { decodeLatin1 } from "../bytes/text.js";
import { report, type Ctx } from "./context.js";
import { carve, scanStream } from "./report-scan.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Checks one .npy held in memory; `record` names it inside an archive. */
export function inspectNpyBytes(ctx: Ctx, bytes: Uint8Array, record: string | undefined, topLevel = false): void {
  const where = (byteOffset: number) => ({ byteOffset, ...(record === undefined ? {} : { record }) });
  if (!MAGIC.every((b, i) => bytes[i] === b) || bytes.length < 10) {
    report(ctx, "npy-damaged", "no \\x93NUMPY magic and version: not a .npy file", where(0));
    return;
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3 || (major > 1 && bytes.length < 12)) {
    report(ctx, "npy-damaged", `.npy format version ${major} is not 1, 2 or 3`, where(6));
    return;
  }
  const lenSize = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenSize;
  if (start + headerLen > bytes.length) {
    report(ctx, "npy-damaged", `the ${headerLen}-byte header runs past the end of the ${bytes.length}-byte file`, where(8));
    return;
  }
  const header = decodeLatin1(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const dataStart = start + headerLen;
  if (descr === undefined && !/'descr':\s*\[/.test(header)) {
    report(ctx, "npy-damaged", "the header has no 'descr'", where(start));
    return;
  }
  if (descr !== undefined && descr.includes("O")) {
    // An object array: numpy.load(allow_pickle=True) unpickles everything after the header.
    scanStream(ctx, bytes, dataStart, { ...(record === undefined ? {} : { record }), persistentIds: "any" });
    return;
  }
  if (topLevel) report(ctx, "not-a-checkpoint", `a numpy .npy array (${descr ?? "structured dtype"}); it holds no pickle`);
  const dims = shapeText?.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const m = descr === undefined ? null : /^[<>|=]?([a-zA-Z])(\d+)$/.exec(descr);
  if (dims === undefined || m === null || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) return;
  const itemSize = m[1] === "U" ? 4 * Number(m[2]) : Number(m[2]);
  const need = dims.reduce((a, b) => a * b, 1) * itemSize;
  const have = bytes.length - dataStart;
  if (!Number.isSafeInteger(need) || have < need) {
    report(ctx, "npy-damaged", `shape (${dims.join(", ")}) of ${descr} needs ${need} bytes of data, ${have} follow the header`, where(dataStart));
  } else if (have > need) {
    report(ctx, "trailing-data", `${have - need} bytes follow the array data`, where(dataStart + need));
    carve(ctx, bytes, dataStart + need, bytes.length, record);
  }
}
