/** Options of `writeCheckpoint` and its streaming twins, with their defaults and checks. */
import type { Crc32Fn } from "../../bytes/crc32.js";
import { crc32 as portableCrc32 } from "../../bytes/crc32.js";
import { CheckpointError } from "../../errors.js";
import { DEFAULT_CHUNK_BYTES } from "./write-storage-bytes.js";
import { DEFAULT_ZIP_ALIGNMENT, MAX_ZIP_ALIGNMENT, ZIP64_LIMIT } from "../../containers/zip/zip-writer.js";

/** The pickle protocol torch.save writes (`DEFAULT_PROTOCOL = 2`). */
export const DEFAULT_WRITE_PROTOCOL = 2;
/** The archive folder torch uses when saving to a stream. */
export const DEFAULT_ARCHIVE_NAME = "archive";

/** Options of `writeCheckpoint`, `checkpointChunks` and `checkpointChunksAsync`; every field optional. */
export interface WriteOptions {
  /** "zip" (torch >= 1.6, the default) or "legacy" (`_use_new_zipfile_serialization=False`). */
  readonly layout?: "zip" | "legacy";
  /** The folder every zip record sits in. Default "archive" (torch uses the file's base name; the Node layer does too). */
  readonly archiveName?: string;
  /** Pickle protocol. Default 2, as torch. */
  readonly protocol?: 2 | 3 | 4 | 5;
  /**
   * Stay inside what `torch.load(weights_only=True)` accepts (protocol 2, its opcode subset, its
   * allow-list of globals). Default true at protocol 2 and false otherwise (other protocols never
   * load with weights_only). When a value cannot be written that way the writer throws
   * `unencodable` naming its key path, unless this is false.
   */
  readonly weightsOnly?: boolean;
  /**
   * Contents of `.data/serialization_id`. Default: computed the way torch computes it from the
   * records written before it (see `write-serialization-id.ts`), so the same input always gives
   * the same file. Ignored by the legacy layout.
   */
  readonly serializationId?: string;
  /** Payload alignment of zip records, also written to `.storage_alignment`. Default 64. */
  readonly storageAlignment?: number;
  /** CRC-32 for the zip records. Default the portable implementation; the Node layer passes `zlib.crc32`. */
  readonly crc32?: Crc32Fn;
  /** Bytes per read when storages come from random-access sources. Default 8 MiB. */
  readonly chunkBytes?: number;
  /**
   * Sizes and offsets at or above this get zip64 fields. Default 0xFFFFFFFF, as torch; only tests
   * should lower it.
   */
  readonly zip64Threshold?: number;
  /**
   * Deepest nesting of containers pickled before `limit-exceeded`, as the msgpack and plain-JSON
   * writers bound theirs (Python's own pickler stops near its recursion limit of 1000). Default
   * {@link DEFAULT_WRITE_MAX_DEPTH}.
   */
  readonly maxDepth?: number;
}

/** Default {@link WriteOptions.maxDepth}: 1000, as msgpack and plain JSON. */
export const DEFAULT_WRITE_MAX_DEPTH = 1000;

/** Options with every default filled in. */
export interface ResolvedWriteOptions {
  readonly layout: "zip" | "legacy";
  readonly archiveName: string;
  readonly protocol: 2 | 3 | 4 | 5;
  readonly weightsOnly: boolean;
  readonly serializationId: string | undefined;
  readonly storageAlignment: number;
  readonly crc32: Crc32Fn;
  readonly chunkBytes: number;
  readonly zip64Threshold: number;
  readonly maxDepth: number;
}

/**
 * Fills in defaults and checks every option.
 * @throws CheckpointError `invalid-argument` naming the bad option.
 */
export function resolveWriteOptions(options: WriteOptions = {}): ResolvedWriteOptions {
  const bad = (reason: string): never => {
    throw new CheckpointError("invalid-argument", reason);
  };
  const layout = options.layout ?? "zip";
  if (layout !== "zip" && layout !== "legacy") bad(`layout must be "zip" or "legacy", not ${JSON.stringify(layout)}`);
  const archiveName = options.archiveName ?? DEFAULT_ARCHIVE_NAME;
  if (typeof archiveName !== "string" || archiveName.length === 0 || /[/\\]/.test(archiveName)) {
    bad("archiveName must be a non-empty name without slashes");
  }
  const protocol = options.protocol ?? DEFAULT_WRITE_PROTOCOL;
  if (protocol !== 2 && protocol !== 3 && protocol !== 4 && protocol !== 5) bad(`protocol must be 2, 3, 4 or 5, not ${String(protocol)}`);
  const weightsOnly = options.weightsOnly ?? protocol === 2;
  if (typeof weightsOnly !== "boolean") bad("weightsOnly must be a boolean");
  if (weightsOnly && protocol !== 2) bad(`weightsOnly needs protocol 2 (torch's weights-only unpickler cannot read protocol ${protocol})`);
  const id = options.serializationId;
  if (id !== undefined && (typeof id !== "string" || !/^[\x20-\x7e]*$/.test(id))) bad("serializationId must be printable ASCII");
  const storageAlignment = options.storageAlignment ?? DEFAULT_ZIP_ALIGNMENT;
  if (!Number.isSafeInteger(storageAlignment) || storageAlignment < 1 || storageAlignment > MAX_ZIP_ALIGNMENT) {
    bad(`storageAlignment must be an integer from 1 to ${MAX_ZIP_ALIGNMENT}`);
  }
  const crc32 = options.crc32 ?? portableCrc32;
  if (typeof crc32 !== "function") bad("crc32 must be a function");
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) bad("chunkBytes must be a positive integer");
  const zip64Threshold = options.zip64Threshold ?? ZIP64_LIMIT;
  if (!Number.isSafeInteger(zip64Threshold) || zip64Threshold < 1 || zip64Threshold > ZIP64_LIMIT) bad("zip64Threshold must be from 1 to 0xFFFFFFFF");
  const maxDepth = options.maxDepth ?? DEFAULT_WRITE_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) bad("maxDepth must be a positive integer");
  return { layout, archiveName, protocol, weightsOnly, serializationId: id, storageAlignment, crc32, chunkBytes, zip64Threshold, maxDepth };
}
