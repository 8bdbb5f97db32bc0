/**
 * The safetensors-based DCP layout, written by torch's `HuggingFaceStorageWriter`
 * (`torch/distributed/checkpoint/hf_storage.py`, `_hf_utils.py`; the bytes by `filesystem.py`
 * `_write_files_from_queue` with `SerializationFormat.SAFETENSORS`): each rank writes one plain
 * safetensors file (`shard-{rank+1:05}-model-{i:05}-of-{n:05}.safetensors` when sharded,
 * `model-{i:05}-of-{n:05}.safetensors` otherwise) whose `__metadata__` holds
 * `DCP_SHARDING_INFO` = JSON `{fqn: {"saved_offsets": [..]}}` (where the chunk sits in the full
 * tensor), `DCP_VERSION` = "1.0" and `format` = "pt". There is no `.metadata`: like
 * `HuggingFaceStorageReader.read_metadata`, every `.safetensors` file of the folder is read and a
 * key's chunks are gathered from all of them (offsets default to zeros without sharding info; the
 * full size is the largest offset + shape per dimension). The chunks are the tensors' raw bytes,
 * assembled with the same tiling checks as `.distcp` chunks.
 */
import type { ByteSource } from "../bytes/source.js";
import { headerLength, parseSafetensorsHeader } from "../convert/index.js";
import type { SafetensorsHeader } from "../convert/index.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import type { ReadOptions } from "../torch/index.js";
import { dtypeBySafetensors } from "../torch/index.js";
import type { DTypeName } from "../torch/index.js";
import type { DcpChunk, DcpEntry, DcpMetadata } from "./dcp-metadata.js";
import { assembleDcp, type DcpCheckpoint, type DirectoryFiles } from "./dcp-read.js";
import type { ChunkFiles } from "./dcp-tensor.js";

/** The `__metadata__` key torch writes the chunk offsets under. */
export const DCP_SHARDING_INFO = "DCP_SHARDING_INFO";

/** One file's parsed header, as {@link readDcpSafetensorsMetadata} takes it. */
export interface SafetensorsFileHeader {
  readonly file: string;
  readonly header: SafetensorsHeader;
}

/** True when a safetensors header carries DCP sharding info. */
export function hasDcpShardingInfo(header: SafetensorsHeader): boolean {
  return Object.prototype.hasOwnProperty.call(header.metadata, DCP_SHARDING_INFO);
}

/**
 * Builds DCP metadata from the headers of a folder's safetensors files (in the order given).
 * @throws CheckpointError `invalid-data` (with the file and key) for sharding info that is not
 *   JSON, lacks a key or an offset per dimension, or chunks of one key that disagree in dtype or rank.
 */
export function readDcpSafetensorsMetadata(files: readonly SafetensorsFileHeader[], name = "checkpoint"): DcpMetadata {
  const byKey = new Map<string, { dtype: DTypeName; shape: number[]; chunks: DcpChunk[]; file: string }>();
  for (const { file, header } of files) {
    const where = (path: (string | number)[] = []) => ({ file: `${name}/${file}`, path });
    const info = shardingInfo(header, where);
    for (const e of header.entries) {
      const dtype = dtypeBySafetensors(e.dtype)?.name;
      if (dtype === undefined) throw new CheckpointError("unsupported", `dtype ${e.dtype} has no torch type`, where([e.name]));
      let offsets: number[] = e.shape.map(() => 0);
      if (info !== undefined) {
        const v = info[e.name];
        const saved = typeof v === "object" && v !== null ? (v as Record<string, unknown>).saved_offsets : undefined;
        if (!Array.isArray(saved) || saved.length !== e.shape.length || !saved.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
          throw new CheckpointError("invalid-data", `${DCP_SHARDING_INFO} has no saved_offsets of rank ${e.shape.length} for ${JSON.stringify(e.name)}`, where(["__metadata__", DCP_SHARDING_INFO, e.name]));
        }
        offsets = saved as number[];
      }
      const chunk: DcpChunk = { offsets, sizes: [...e.shape], file, offset: e.begin, length: e.end - e.begin, raw: true };
      const seen = byKey.get(e.name);
      if (seen === undefined) {
        byKey.set(e.name, { dtype, shape: e.shape.map((n, d) => n + offsets[d]!), chunks: [chunk], file });
        continue;
      }
      if (seen.dtype !== dtype || seen.shape.length !== e.shape.length) {
        throw new CheckpointError("invalid-data", `${JSON.stringify(e.name)} is ${e.dtype} [${e.shape.join(", ")}] here, ${seen.dtype} of rank ${seen.shape.length} in ${seen.file}`, where([e.name]));
      }
      seen.chunks.push(chunk);
      for (let d = 0; d < seen.shape.length; d++) seen.shape[d] = Math.max(seen.shape[d]!, e.shape[d]! + offsets[d]!);
    }
  }
  const entries: DcpEntry[] = [...byKey].map(([fqn, k]) => ({ kind: "tensor", fqn, dtype: k.dtype, shape: k.shape, requiresGrad: false, chunks: k.chunks }));
  return { entries, paths: new Map(), files: [...new Set(files.map((f) => f.file))].sort() };
}

function shardingInfo(header: SafetensorsHeader, where: (path?: (string | number)[]) => { file: string; path: (string | number)[] }): Record<string, unknown> | undefined {
  if (!hasDcpShardingInfo(header)) return undefined;
  let info: unknown;
  try {
    info = JSON.parse(header.metadata[DCP_SHARDING_INFO]!);
  } catch (e) {
    throw new CheckpointError("invalid-data", `${DCP_SHARDING_INFO} is not JSON: ${(e as Error).message}`, where(["__metadata__", DCP_SHARDING_INFO]));
  }
  if (typeof info !== "object" || info === null || Array.isArray(info)) throw new CheckpointError("invalid-data", `${DCP_SHARDING_INFO} is not a JSON object`, where(["__metadata__", DCP_SHARDING_INFO]));
  return info as Record<string, unknown>;
}

/** Reads one file's safetensors header. */
export async function readSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const read = async (o: number, n: number) => source.bytes?.subarray(o, o + n) ?? (source.readSync !== undefined ? source.readSync(o, n) : await source.read(o, n));
  if (source.size < 8) throw new CheckpointError("truncated", "a safetensors file starts with an 8-byte header length", { offset: 0 });
  const n = headerLength(await read(0, 8));
  if (8 + n > source.size) throw new CheckpointError("truncated", `the header needs ${n} bytes but the file ends first`, { offset: 8 });
  return parseSafetensorsHeader(await read(8, n), source.size);
}

/** {@link readSafetensorsHeader} for sources that read synchronously. */
export function readSafetensorsHeaderSync(source: ByteSource): SafetensorsHeader {
  const read = (o: number, n: number) => source.bytes?.subarray(o, o + n) ?? source.readSync!(o, n);
  if (source.size < 8) throw new CheckpointError("truncated", "a safetensors file starts with an 8-byte header length", { offset: 0 });
  const n = headerLength(read(0, 8));
  if (8 + n > source.size) throw new CheckpointError("truncated", `the header needs ${n} bytes but the file ends first`, { offset: 8 });
  return parseSafetensorsHeader(read(8, n), source.size);
}

/**
 * Opens a safetensors-based DCP folder: `files` are its `.safetensors` files (a folder cannot be
 * listed through every opener, so the caller lists them). Tensors are assembled on demand.
 * @throws CheckpointError as {@link readDcpSafetensorsMetadata}; `missing-record` for a file that
 *   cannot be opened; the header reader's errors; `invalid-data` for chunks that do not tile.
 */
export async function openDcpSafetensors(dir: DirectoryFiles, files: readonly string[], options: ReadOptions = {}): Promise<DcpCheckpoint> {
  const opened = new Map<string, ByteSource>();
  const headers: SafetensorsFileHeader[] = [];
  for (const file of [...files].sort()) {
    const source = await located(dir.name, file, async () => dir.open(file));
    opened.set(file, source);
    headers.push({ file, header: await located(dir.name, file, () => readSafetensorsHeader(source)) });
  }
  const metadata = readDcpSafetensorsMetadata(headers, dir.name);
  const chunkFiles: ChunkFiles = {
    name: dir.name,
    file: async (f) => opened.get(f)!,
    ...([...opened.values()].every((s) => s.bytes !== undefined || s.readSync !== undefined) ? { fileSync: (f: string) => opened.get(f)! } : {}),
    resident: undefined,
    options,
  };
  return assembleDcp(dir.name, metadata, chunkFiles, metadata.entries.map(() => null));
}

async function located<T>(dir: string, file: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isTorchsaveError(e)) throw e.file === undefined ? e.withLocation({ file: `${dir}/${file}` }) : e;
    throw new CheckpointError("missing-record", `cannot open ${file}: ${String((e as Error)?.message ?? e)}`, { file: `${dir}/${file}`, cause: e });
  }
}
