/**
 * A zip whose central directory cannot be used: its local headers are walked from the start (as
 * forensic zip tools do) and the pickles its records hold are scanned.
 */
import type { ByteSource } from "../bytes/source.js";
import { decodeLatin1 } from "../bytes/text.js";
import { isTorchsaveError } from "../errors.js";
import { recordName, report, type Ctx } from "./context.js";
import { scanStream } from "./report-scan.js";
import { looksLikePickle } from "./scan-pickle.js";

const PICKLE_NAME = /\.(pkl|pickle|debug_pkl|pk|joblib|dat|data)$/i;

/**
 * A zip whose central directory cannot be used: walk the local headers from the start (as
 * forensic zip tools do) and scan what the records hold.
 */
export function recoverFromLocalHeaders(ctx: Ctx, source: ByteSource): void {
  const size = source.size;
  const limit = Math.min(size, 1 << 30);
  let bytes: Uint8Array;
  try {
    bytes = source.bytes?.subarray(0, limit) ?? source.readSync!(0, limit);
  } catch (e) {
    if (isTorchsaveError(e)) return;
    throw e;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let recovered = 0;
  while (pos + 30 <= bytes.length && recovered < 100_000) {
    if (view.getUint32(pos, true) !== 0x04034b50) {
      const next = findSignature(bytes, pos + 1);
      if (next < 0) break;
      pos = next;
      continue;
    }
    const flags = view.getUint16(pos + 6, true);
    const method = view.getUint16(pos + 8, true);
    let compressed = view.getUint32(pos + 18, true);
    const nameLength = view.getUint16(pos + 26, true);
    const extraLength = view.getUint16(pos + 28, true);
    const dataStart = pos + 30 + nameLength + extraLength;
    if (dataStart > bytes.length) break;
    const name = decodeLatin1(bytes.subarray(pos + 30, pos + 30 + nameLength));
    if ((flags & 0x0008) !== 0 && compressed === 0) {
      // Sizes follow the data: find the descriptor whose compressed size matches its distance.
      compressed = descriptorLength(bytes, view, dataStart);
    }
    const dataEnd = Math.min(bytes.length, dataStart + (compressed < 0 ? bytes.length : compressed));
    recovered++;
    report(ctx, "zip-recovered-entry", `local header for ${JSON.stringify(name)} (method ${method}, ${dataEnd - dataStart} bytes)`, { byteOffset: pos, record: name });
    const data = bytes.subarray(dataStart, dataEnd);
    if (method === 0 && (PICKLE_NAME.test(name) || looksLikePickle(data)) && !/\/data\/\d+$/.test(name)) {
      const record = `${name} (recovered)`;
      const stream = scanStream(ctx, data, 0, { record, persistentIds: name.endsWith("data.pkl") ? "zip" : "any", trailing: "ignore" });
      const first = stream.scans[0];
      if (first !== undefined && name.endsWith("data.pkl") && ctx.depth === 0) ctx.weightsOnlyInputs.push({ scan: first, record: recordName(ctx, record), persistentIds: "zip" });
    }
    pos = Math.max(dataEnd, pos + 30);
  }
}

function findSignature(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= bytes.length; i++) {
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 3 && bytes[i + 3] === 4) return i;
  }
  return -1;
}

/** The data length before a data descriptor (PK\x07\x08, CRC, sizes) whose size field matches, or -1. */
function descriptorLength(bytes: Uint8Array, view: DataView, dataStart: number): number {
  for (let i = dataStart; i + 16 <= bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b || bytes[i + 2] !== 7 || bytes[i + 3] !== 8) continue;
    if (view.getUint32(i + 8, true) === i - dataStart) return i - dataStart;
  }
  return -1;
}
