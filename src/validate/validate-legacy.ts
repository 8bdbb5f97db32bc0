/**
 * The legacy stream (torch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles — the
 * magic number, the protocol version 1001, sys_info, the object, the storage-key list — then per
 * key an 8-byte element count and the raw bytes. Checks each part, every storage's count and
 * length against the persistent ids, and what follows the last storage.
 */
import type { ByteSource } from "../bytes/source.js";
import { isTorchsaveError } from "../errors.js";
import { decodePickleAt } from "../pickle/decoder.js";
import { dictGet, pyKind, type PyDict, type PyValue } from "../pickle/value.js";
import { dtypeByStorageClass, LEGACY_MAGIC } from "../torch/index.js";
import { LEGACY_PROTOCOL_VERSION } from "../torch/read/legacy-layout.js";
import { report, type Ctx } from "./context.js";
import { carve, scanAndReport } from "./report-scan.js";
import { scanPickle, type PickleScan } from "./scan-pickle.js";

const FIRST_HEAD = 1 << 20;

/** Reads enough of the file to hold the five pickles (growing the read while they run past it). */
function readHead(source: ByteSource): Uint8Array {
  let size = Math.min(source.size, FIRST_HEAD);
  for (;;) {
    const head = source.bytes?.subarray(0, size) ?? source.readSync!(0, size);
    if (size >= source.size) return head;
    let pos = 0;
    let truncated = false;
    for (let i = 0; i < 5; i++) {
      const s = scanPickle(head, pos, { maxOps: 50_000_000 });
      if (!s.complete) {
        truncated = s.error?.kind === "truncated";
        break;
      }
      pos = s.end;
    }
    if (!truncated) return head;
    size = Math.min(source.size, size * 4);
  }
}

function inert(head: Uint8Array, at: number): PyValue | undefined {
  try {
    return decodePickleAt(head, at, { reducers: {} }).value;
  } catch (e) {
    if (isTorchsaveError(e)) return undefined;
    throw e;
  }
}

/** Checks a legacy file; its pickles are added to the weights_only inputs at the top level. */
export function inspectLegacy(ctx: Ctx, source: ByteSource): void {
  let head: Uint8Array;
  try {
    head = readHead(source);
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    report(ctx, "legacy-storage-truncated", e.reason, { byteOffset: e.offset ?? 0 });
    return;
  }
  const scans: PickleScan[] = [];
  let pos = 0;
  const names = ["magic number", "protocol version", "sys_info", "object", "storage keys"];
  for (let i = 0; i < 5; i++) {
    const scan = scanAndReport(ctx, head, pos, { persistentIds: i === 3 ? "legacy" : "any" });
    scans.push(scan);
    if (ctx.depth === 0) ctx.weightsOnlyInputs.push({ scan, record: undefined, persistentIds: "legacy" });
    if (!scan.complete) {
      if (i < 4) report(ctx, "legacy-storage-truncated", `the file ends inside the ${names[i]} pickle`, { byteOffset: scan.end });
      return;
    }
    pos = scan.end;
  }
  const [magic, version, sys, main, keysScan] = scans as [PickleScan, PickleScan, PickleScan, PickleScan, PickleScan];
  if (!(magic.result?.t === "int" && magic.result.v === LEGACY_MAGIC)) {
    report(ctx, "legacy-bad-magic", "the first pickle is not 0x1950a86a20f9469cfc6c: torch.load refuses the file", { byteOffset: 0 });
  }
  if (!(version.result?.t === "int" && version.result.v === LEGACY_PROTOCOL_VERSION)) {
    report(ctx, "legacy-bad-protocol", `the second pickle is not the protocol version ${LEGACY_PROTOCOL_VERSION}`, { byteOffset: version.start });
  }
  const sysInfo = inert(head, sys.start);
  let littleEndian = true;
  if (pyKind(sysInfo) !== "dict" || dictGet(sysInfo as PyDict, "protocol_version") === undefined) {
    report(ctx, "legacy-bad-sys-info", "sys_info is not a dict with protocol_version, little_endian and type_sizes", { byteOffset: sys.start });
  } else {
    littleEndian = dictGet(sysInfo as PyDict, "little_endian") !== false;
  }
  const keysValue = inert(head, keysScan.start);
  const keys = pyKind(keysValue) === "list" ? (keysValue as { items: PyValue[] }).items : undefined;
  if (keys === undefined || !keys.every((k) => typeof k === "string")) {
    report(ctx, "legacy-storage-truncated", "the storage-key list is not a list of str, so the storages cannot be located", { byteOffset: keysScan.start });
    return;
  }
  const roots = new Map<string, { storageClass: string; numel: number | undefined }>();
  for (const ref of main.storageRefs) if (!roots.has(ref.key)) roots.set(ref.key, { storageClass: ref.storageClass, numel: ref.numel });

  const listed = new Set<string>();
  let at = keysScan.end;
  for (const key of keys as string[]) {
    listed.add(key);
    const root = roots.get(key);
    if (root === undefined) {
      report(ctx, "legacy-storage-unreferenced", `storage key ${JSON.stringify(key)} is listed but no persistent id declares it (torch's loader asserts)`, { byteOffset: at });
      return; // its element size is unknown, so the storages after it cannot be located
    }
    const itemSize = root.storageClass.endsWith("UntypedStorage") ? 1 : dtypeByStorageClass(root.storageClass)?.itemSize ?? 1;
    if (at + 8 > source.size) {
      report(ctx, "legacy-storage-truncated", `the file ends before storage ${JSON.stringify(key)}'s element count`, { byteOffset: at });
      return;
    }
    const countBytes = source.bytes?.subarray(at, at + 8) ?? source.readSync!(at, 8);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigUint64(0, littleEndian);
    const length = count * BigInt(itemSize);
    if (root.numel !== undefined && count !== BigInt(root.numel)) {
      report(ctx, "legacy-storage-size-mismatch", `storage ${JSON.stringify(key)} stores ${count} elements; its persistent id declared ${root.numel}`, { byteOffset: at });
    }
    if (BigInt(at + 8) + length > BigInt(source.size)) {
      report(ctx, "legacy-storage-truncated", `storage ${JSON.stringify(key)} needs ${length} bytes, ${source.size - at - 8} remain`, { byteOffset: at });
      return;
    }
    at += 8 + Number(length);
  }
  for (const key of roots.keys()) {
    if (!listed.has(key)) report(ctx, "legacy-storage-unlisted", `storage ${JSON.stringify(key)} is declared but not in the storage-key list: its bytes are never loaded`, { byteOffset: keysScan.start });
  }
  if (at < source.size) {
    report(ctx, "trailing-data", `${source.size - at} bytes follow the last storage`, { byteOffset: at });
    const end = Math.min(source.size, at + 256 * 2 ** 20);
    const rest = source.bytes?.subarray(at, end) ?? source.readSync!(at, end - at);
    carve(ctx, rest, 0, rest.length, undefined, at);
  }
}
