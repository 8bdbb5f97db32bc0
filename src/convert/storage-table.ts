/**
 * The storage table of the lossless formats: every storage once, with what `Storage` says about
 * it, so tensors that share a storage still share it after a round trip. Legacy view storages
 * (a slice of another storage) are listed as views and carry no bytes of their own.
 */
import { ConvertError, type KeyPath } from "../errors.js";
import type { DTypeName, Storage, StorageLocation } from "../torch/index.js";
import { dtypeByName, dtypeByStorageClass, readStorageBytesSync } from "../torch/index.js";
import type { JsonValue } from "./json-value-types.js";

/** A storage's description without its bytes. */
export interface StorageHeader {
  /** Unique within the document; tensors name their storage by it. */
  readonly key: string;
  /** The storage class as pickled: ["torch", "FloatStorage"], ["torch", "UntypedStorage"], ... */
  readonly type: readonly [string, string];
  readonly dtype: DTypeName;
  readonly location: string;
  /** The numel the file declared (elements for typed storages, bytes for UntypedStorage). */
  readonly numel: number;
  readonly byteOrder: "little" | "big";
  /** Legacy views: the storage this one is a slice of, and where (in elements) it starts. */
  readonly view?: { readonly root: string; readonly offset: number };
}

/** The header of `s`, named `key` (views name their root by `keyOf`). */
export function storageHeader(s: Storage, key: string, keyOf: ReadonlyMap<Storage, string>): StorageHeader {
  const base = {
    key, type: [s.storageType.module, s.storageType.name] as const, dtype: s.dtype, location: s.location,
    numel: s.declaredNumel, byteOrder: s.byteOrder,
  };
  if (s.view === undefined) return base;
  const root = keyOf.get(s.view.root);
  if (root === undefined) throw new ConvertError("invalid-data", `view storage ${s.key} has a root outside the table`);
  return { ...base, view: { root, offset: s.view.offset } };
}

/** A storage header's JSON without its closing brace: `JSON.stringify(headerJson(h)).slice(0, -1)`, made directly. */
export function headerText(h: StorageHeader): string {
  const str = (v: unknown): boolean => typeof v === "string";
  if (!str(h.key) || !str(h.type[0]) || !str(h.type[1]) || !str(h.dtype) || !str(h.location) || typeof h.numel !== "number" || !str(h.byteOrder) ||
    (h.view !== undefined && (!str(h.view.root) || typeof h.view.offset !== "number"))) {
    return JSON.stringify(headerJson(h)).slice(0, -1);
  }
  const q = JSON.stringify;
  return `{"key":${q(h.key)},"type":[${q(h.type[0])},${q(h.type[1])}],"dtype":${q(h.dtype)},"location":${q(h.location)},"numel":${q(h.numel)}` +
    `${h.byteOrder !== "little" ? `,"byte_order":${q(h.byteOrder)}` : ""}${h.view !== undefined ? `,"view":{"root":${q(h.view.root)},"offset":${q(h.view.offset)}}` : ""}`;
}

function headerJson(h: StorageHeader): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { key: h.key, type: [...h.type], dtype: h.dtype, location: h.location, numel: h.numel };
  if (h.byteOrder !== "little") out.byte_order = h.byteOrder;
  if (h.view !== undefined) out.view = { root: h.view.root, offset: h.view.offset };
  return out;
}

/** Bytes per element of a storage class (1 for UntypedStorage, whose numel counts bytes). */
export function storageItemSize(type: readonly [string, string]): number | undefined {
  if (type[1] === "UntypedStorage") return 1;
  return dtypeByStorageClass(type[1])?.itemSize;
}

/**
 * The bytes a storage holds, as the table writes them (in the storage's own byte order). Not kept
 * on the storage: a writer holds one storage's bytes at a time.
 */
export function storageData(s: Storage): Uint8Array {
  return readStorageBytesSync(s);
}

/**
 * Rebuilds a storage from its header and its bytes, given in memory (kept as is, no copy) or as a
 * location in a source (read on first access). Views take theirs from the root found by `byKey`.
 * @throws ConvertError `invalid-data` when the bytes do not match numel × item size, or a view
 *   reaches outside its root.
 */
export function storageFromHeader(
  h: StorageHeader, bytes: Uint8Array | StorageLocation | undefined, byKey: ReadonlyMap<string, Storage>, path: KeyPath = [],
): Storage {
  const fail = (reason: string) => new ConvertError("invalid-data", `storage ${h.key}: ${reason}`, { path });
  const itemSize = storageItemSize(h.type);
  if (itemSize === undefined) throw new ConvertError("unsupported", `storage ${h.key}: unknown storage class ${h.type.join(".")}`, { path });
  if (dtypeByName(h.dtype)?.name !== h.dtype) throw fail(`unknown dtype ${JSON.stringify(h.dtype)}`);
  const byteLength = h.numel * itemSize;
  if (!Number.isSafeInteger(byteLength)) throw fail(`numel ${h.numel} is too large`);
  const base = {
    kind: "storage" as const, key: h.key, storageType: { kind: "global" as const, module: h.type[0], name: h.type[1] },
    dtype: h.dtype, location: h.location, declaredNumel: h.numel, byteLength, byteOrder: h.byteOrder,
  };
  if (h.view === undefined) {
    if (bytes === undefined) throw fail("has no data");
    if (bytes instanceof Uint8Array) {
      if (bytes.length !== byteLength) throw fail(`holds ${bytes.length} bytes but numel ${h.numel} needs ${byteLength}`);
      return { ...base, data: bytes };
    }
    if (bytes.length !== byteLength || bytes.compression !== "none") throw fail(`holds ${bytes.length} bytes but numel ${h.numel} needs ${byteLength}`);
    const inMemory = bytes.source.bytes?.subarray(bytes.offset, bytes.offset + bytes.length);
    return { ...base, from: bytes, ...(inMemory === undefined ? {} : { data: inMemory }) };
  }
  if (bytes !== undefined) throw fail("is a view and cannot have data of its own");
  const root = byKey.get(h.view.root);
  if (root === undefined) throw fail(`is a view of ${h.view.root}, which is not listed before it`);
  const start = h.view.offset * itemSize;
  if (!Number.isSafeInteger(start) || h.view.offset < 0 || start + byteLength > root.byteLength) {
    throw fail(`view [${h.view.offset}, +${h.numel}) reaches outside storage ${root.key}`);
  }
  const view = { root, offset: h.view.offset };
  if (root.data !== undefined) return { ...base, view, data: root.data.subarray(start, start + byteLength) };
  if (root.from === undefined || root.from.compression !== "none") throw fail(`its root ${root.key} has no bytes`);
  return { ...base, view, from: { ...root.from, offset: root.from.offset + start, length: byteLength } };
}
