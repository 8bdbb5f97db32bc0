/**
 * The tar layout of torch <= 0.1.9: members `sys_info`, `storages`, `tensors` and `pickle`.
 * `storages`: a pickled count, then per storage a pickled `(key, location, storage_type)`, an 8-byte
 * element count and the bytes; then a pickled list of views `(target, root, offset, numel)`.
 * `tensors`: a pickled count, then per tensor a pickled `(key, storage_key, type)`, an int32 ndim,
 * 4 pad bytes, ndim int64 sizes, ndim int64 strides and an int64 storage offset.
 * `pickle`: the object, whose persistent ids are tensor or storage keys.
 */
import { ByteReader } from "../../bytes/reader.js";
import { CheckpointError } from "../../errors.js";
import { decodePickleAt } from "../../pickle/decoder.js";
import { isPyGlobal, pyKind } from "../../pickle/value.js";
import type { ByteSource } from "../../bytes/source.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { dtypeByStorageClass } from "../dtypes.js";
import type { Storage, Tensor, TorchValue } from "../model.js";
import { decodeTorchPickle } from "./torch-unpickle.js";
import { readTar } from "../../containers/tar-reader.js";

export function readTarCheckpoint(source: ByteSource, options: ReadOptions): Checkpoint {
  const bytes = source.bytes ?? source.readSync?.(0, source.size);
  if (bytes === undefined) throw new CheckpointError("unsupported", "tar checkpoints are read from memory");
  const members = new Map(readTar(bytes).map((m) => [m.name.replace(/^\.\//, ""), m]));
  const member = (name: string) => {
    const m = members.get(name);
    if (m === undefined) throw new CheckpointError("missing-record", `tar checkpoint has no ${name} member`, { entry: name });
    return m;
  };
  const plain = { ...(options.limits === undefined ? {} : { limits: options.limits }), reducers: {} };
  const objects = new Map<string, Storage | Tensor>();
  const storages: Storage[] = [];

  // storages
  const sm = member("storages");
  const sr = new ByteReader(sm.data, { errorClass: CheckpointError, baseOffset: sm.offset, entry: "storages" });
  const count = decodePickleAt(sm.data, 0, plain);
  sr.pos = count.end;
  if (typeof count.value !== "number") throw sr.error("invalid-data", "storage count is not an int");
  for (let i = 0; i < count.value; i++) {
    const head = decodePickleAt(sm.data, sr.pos, plain);
    sr.pos = head.end;
    const items = pyKind(head.value) === "tuple" ? (head.value as { items: TorchValue[] }).items : [];
    const [key, location, type] = items;
    const info = isPyGlobal(type) ? dtypeByStorageClass(type.name) : undefined;
    if (info === undefined || !isPyGlobal(type)) throw sr.error("invalid-data", `storage ${i}: header is not (key, location, storage_type)`);
    const n = sr.i64("storage element count");
    const data = sr.take(n * info.itemSize, `storage ${String(key)} bytes`);
    const storage: Storage = {
      kind: "storage", key: String(key), storageType: type, dtype: info.name, location: typeof location === "string" ? location : "cpu",
      declaredNumel: n, byteLength: data.length, byteOrder: "little", data,
      from: { source, offset: sm.offset + sr.pos - data.length, length: data.length, compression: "none", record: "storages" },
    };
    objects.set(String(key), storage);
    storages.push(storage);
  }
  // burn's synthetic tar files end after the storages, without the views pickle: read as no views.
  const views = sr.atEnd ? null : decodePickleAt(sm.data, sr.pos, plain).value;
  for (const v of pyKind(views) === "list" ? (views as { items: TorchValue[] }).items : []) {
    const [target, rootKey, offset, numel] = pyKind(v) === "tuple" ? (v as { items: TorchValue[] }).items : [];
    const root = objects.get(String(rootKey));
    if (root?.kind !== "storage" || typeof offset !== "number" || typeof numel !== "number") throw sr.error("invalid-data", "bad storage view");
    const size = dtypeByStorageClass(root.storageType.name)!.itemSize;
    if ((offset + numel) * size > root.byteLength) throw sr.error("invalid-data", `view ${String(target)} reaches past storage ${root.key}`);
    const view: Storage = { ...root, key: String(target), declaredNumel: numel, byteLength: numel * size, data: root.data!.subarray(offset * size, (offset + numel) * size), view: { root, offset } };
    objects.set(String(target), view);
  }

  // tensors (absent in burn's synthetic imitation of this layout, whose pickle rebuilds tensors itself)
  const tm = members.get("tensors") ?? { name: "tensors", offset: 0, size: 0, data: new Uint8Array([0x80, 0x02, 0x4b, 0x00, 0x2e]) };
  const tr = new ByteReader(tm.data, { errorClass: CheckpointError, baseOffset: tm.offset, entry: "tensors" });
  const tcount = decodePickleAt(tm.data, 0, plain);
  tr.pos = tcount.end;
  for (let i = 0; i < (typeof tcount.value === "number" ? tcount.value : 0); i++) {
    const head = decodePickleAt(tm.data, tr.pos, plain);
    tr.pos = head.end;
    const [key, storageKey] = pyKind(head.value) === "tuple" ? (head.value as { items: TorchValue[] }).items : [];
    const storage = objects.get(String(storageKey));
    if (storage?.kind !== "storage") throw tr.error("invalid-data", `tensor ${String(key)} names unknown storage ${String(storageKey)}`);
    const ndim = tr.i32("ndim");
    if (ndim < 0 || ndim > 64) throw tr.error("invalid-data", `tensor ${String(key)} has ${ndim} dimensions`);
    tr.take(4, "padding");
    const shape = Array.from({ length: ndim }, () => tr.i64("size"));
    const stride = Array.from({ length: ndim }, () => tr.i64("stride"));
    const storageOffset = tr.i64("storage offset");
    objects.set(String(key), {
      kind: "tensor", dtype: storage.dtype, shape, stride, storageOffset, storage, device: storage.location,
      requiresGrad: false, isParameter: false, layout: "strided",
    });
  }

  // the object
  const pm = member("pickle");
  const main = decodeTorchPickle(pm.data, 0, options, {
    entry: "pickle",
    baseOffset: pm.offset,
    resolveStorage: (v) => {
      const items = pyKind(v) === "tuple" ? (v as { items: TorchValue[] }).items : [];
      const found = items[0] === "storage" ? objects.get(String(items[2])) : undefined;
      return found?.kind === "storage" ? found : undefined;
    },
    persistentLoad: (pid, ctx) => {
      if (pyKind(pid) === "tuple") {
        const items = (pid as { items: TorchValue[] }).items;
        // ("storage", type, key, location, numel) as zip files write it (burn's synthetic tar files);
        // otherwise (cls, source_file, source) of a pickled module: torch returns the class.
        if (items[0] === "storage" && objects.has(String(items[2]))) return objects.get(String(items[2]))!;
        return items[0] ?? null;
      }
      const found = objects.get(String(pid));
      if (found === undefined) throw new CheckpointError("missing-record", `persistent id ${String(pid)} names no tensor or storage`, { offset: ctx.offset, entry: "pickle" });
      return found;
    },
  });
  const sysInfo = members.has("sys_info") ? decodePickleAt(member("sys_info").data, 0, plain).value : undefined;
  return {
    layout: "tar", compression: "none", root: main.value, storages, protocol: main.protocol, records: {}, source,
    ...(sysInfo === undefined ? {} : { sysInfo }),
  };
}
