/**
 * The tar layout of torch <= 0.1.9: members `sys_info`, `pickle`, `storages` and `tensors`. Every
 * pickle inside them is scanned — including the per-storage and per-tensor headers interleaved
 * with raw bytes — following the structure torch's `legacy_load` reads.
 */
import type { ByteSource } from "../bytes/source.js";
import { isTorchsaveError } from "../errors.js";
import { dtypeByStorageClass } from "../torch/index.js";
import { readTar, type TarMember } from "../containers/tar-reader.js";
import { report, type Ctx } from "./context.js";
import { scanAndReport, scanStream } from "./report-scan.js";
import type { PickleScan } from "./scan-pickle.js";

/** Largest tar checkpoint read into memory (they are from 2017 and small). */
const MAX_TAR_BYTES = 2 ** 31;

/** Checks a tar checkpoint's members and scans every pickle in them. */
export function inspectTar(ctx: Ctx, source: ByteSource): void {
  if (source.size > MAX_TAR_BYTES) {
    report(ctx, "validation-limit", `a ${source.size}-byte tar archive is larger than the ${MAX_TAR_BYTES} read into memory`);
    return;
  }
  let members: TarMember[];
  try {
    members = readTar(source.bytes ?? source.readSync!(0, source.size));
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    report(ctx, "tar-damaged", e.reason, { byteOffset: e.offset ?? 0 });
    return;
  }
  const byName = new Map<string, TarMember>();
  for (const m of members) byName.set(m.name.replace(/^\.\//, ""), m);
  const inputs: PickleScan[] = [];
  const keep = (scan: PickleScan): PickleScan => (inputs.push(scan), scan);

  for (const name of ["sys_info", "pickle", "storages", "tensors"]) {
    if (byName.has(name)) continue;
    report(ctx, "tar-damaged", `no ${name} member: torch's tar loader needs it`, { record: name });
    // sys_info is never read; without any of the others torch.load fails whatever the unpickler.
    if (name !== "sys_info" && ctx.depth === 0) {
      ctx.weightsOnlyRefusals.push({ blocker: { code: "weights-only-format", message: `the tar has no ${name} member, so torch's tar loader fails` } });
    }
  }
  const sys = byName.get("sys_info");
  // torch's tar loader never unpickles sys_info, so it is scanned but not part of the weights_only answer.
  if (sys !== undefined) scanStream(ctx, sys.data, 0, { record: "sys_info" });
  const pickle = byName.get("pickle");
  if (pickle !== undefined) {
    const first = scanStream(ctx, pickle.data, 0, { record: "pickle", persistentIds: "tar" }).scans[0];
    if (first !== undefined) keep(first);
  }
  const storages = byName.get("storages");
  if (storages !== undefined) walkStorages(ctx, storages.data, keep);
  const tensors = byName.get("tensors");
  if (tensors !== undefined) walkTensors(ctx, tensors.data, keep);
  if (ctx.depth === 0) for (const scan of inputs) ctx.weightsOnlyInputs.push({ scan, record: undefined, persistentIds: "tar" });
}

function countOf(scan: PickleScan): number | undefined {
  return scan.result?.t === "int" && typeof scan.result.v === "number" && scan.result.v >= 0 ? scan.result.v : undefined;
}

function walkStorages(ctx: Ctx, data: Uint8Array, keep: (s: PickleScan) => PickleScan): void {
  const record = "storages";
  const fail = (message: string, at: number): void => report(ctx, "tar-damaged", message, { record, byteOffset: at });
  const count = keep(scanAndReport(ctx, data, 0, { record }));
  const n = count.complete ? countOf(count) : undefined;
  if (n === undefined) return fail("the storage count is not an int", 0);
  let pos = count.end;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    const head = keep(scanAndReport(ctx, data, pos, { record }));
    if (!head.complete) return;
    const items = head.result?.t === "tuple" ? head.result.items : undefined;
    const type = items?.[2];
    const info = type?.t === "global" ? dtypeByStorageClass(type.name) : undefined;
    if (info === undefined) return fail(`storage ${i}: header is not (key, location, storage_type)`, head.start);
    pos = head.end;
    if (pos + 8 > data.length) return fail(`storage ${i}: the element count runs past the member`, pos);
    const numel = view.getBigInt64(pos, true);
    const length = numel * BigInt(info.itemSize);
    if (numel < 0n || BigInt(pos + 8) + length > BigInt(data.length)) return fail(`storage ${i}: ${numel} elements run past the member`, pos);
    pos += 8 + Number(length);
  }
  if (pos >= data.length) return fail("the storage-views pickle after the last storage is missing (torch's loader fails on it)", pos);
  const views = keep(scanAndReport(ctx, data, pos, { record }));
  if (views.complete && views.end < data.length) report(ctx, "pickle-trailing-bytes", `${data.length - views.end} bytes follow the storage views`, { record, byteOffset: views.end });
}

function walkTensors(ctx: Ctx, data: Uint8Array, keep: (s: PickleScan) => PickleScan): void {
  const record = "tensors";
  const fail = (message: string, at: number): void => report(ctx, "tar-damaged", message, { record, byteOffset: at });
  const count = keep(scanAndReport(ctx, data, 0, { record }));
  const n = count.complete ? countOf(count) : undefined;
  if (n === undefined) return fail("the tensor count is not an int", 0);
  let pos = count.end;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    const head = keep(scanAndReport(ctx, data, pos, { record }));
    if (!head.complete) return;
    pos = head.end;
    if (pos + 8 > data.length) return fail(`tensor ${i}: ndim runs past the member`, pos);
    const ndim = view.getInt32(pos, true);
    const size = 8 + ndim * 16 + 8;
    if (ndim < 0 || ndim > 64 || pos + size > data.length) return fail(`tensor ${i}: ${ndim} dimensions run past the member`, pos);
    pos += size;
  }
  if (pos < data.length) report(ctx, "pickle-trailing-bytes", `${data.length - pos} bytes follow the last tensor`, { record, byteOffset: pos });
}
