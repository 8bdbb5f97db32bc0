/**
 * Reading any PyTorch checkpoint: the layout is detected from content (zip, legacy, plain pickle,
 * tar, TorchScript, gzip around any of them), never from the file name.
 */
import type { ByteSource } from "../../bytes/source.js";
import { blobSource, bytesSource } from "../../bytes/source.js";
import { sliceSource } from "../../bytes/slice-source.js";
import { SourceWindow } from "../../bytes/source-window.js";
import { compactLargeBytes, DEFAULT_HOLE_BYTES, type BytesHole } from "../../pickle/large-bytes.js";
import { pyKind } from "../../pickle/value.js";
import { visitGraph } from "../visit.js";
import { CheckpointError, isTorchsaveError } from "../../errors.js";
import type { Checkpoint, ReadOptions } from "./checkpoint.js";
import { DEFAULT_MAX_INFLATED_BYTES } from "./checkpoint.js";
import { detectContainer } from "./detect.js";
import type { ContainerKind } from "./detect.js";
import { gunzipBounded } from "../../containers/gzip.js";
import { readLegacyCheckpoint, readLegacyCheckpointSync } from "./legacy-layout.js";
import type { Storage, TorchValue } from "../model.js";
import { isStorage } from "../model.js";
import { looksLikeNpz, readNpyCheckpoint, readNpzCheckpoint } from "./npy-layout.js";
import { readTarCheckpoint } from "./tar-layout.js";
import { decodeTorchPickle } from "./torch-unpickle.js";
import { readZipCheckpoint, readZipCheckpointSync } from "./zip-layout.js";
import { openZip, openZipSync } from "../../containers/zip/zip-reader.js";

const HEAD = 1024;

/**
 * Reads a checkpoint held in memory. Tensors' storages are zero-copy views into `bytes` (except
 * deflated zip records and gzip input, which must be inflated).
 * @throws CheckpointError / PickleDecodeError with code, byte offset and record.
 */
export function readCheckpoint(bytes: Uint8Array, options: ReadOptions = {}): Checkpoint {
  return openCheckpointSync(bytesSource(bytes, options.name), options);
}

/**
 * Opens a checkpoint from a source that reads synchronously (in memory, or a Node file through
 * `torchsave/node`). Only the directory and the pickle are read now; storages on first access.
 */
export function openCheckpointSync(source: ByteSource, options: ReadOptions = {}): Checkpoint {
  return located(source, options, () => {
    const head = peek(source);
    const kind = detectContainer(head, source.size);
    switch (kind) {
      case "zip": {
        const zip = openZipSync(source);
        return looksLikeNpz(zip) ? readNpzCheckpoint(zip, options) : readZipCheckpointSync(zip, options);
      }
      case "npy":
        return readNpyCheckpoint(source, options);
      case "legacy":
        return readLegacyCheckpointSync(source, options);
      case "gzip":
        return gunzipped(wholeSync(source), options);
      case "pickle":
        return (source.bytes === undefined && source.size >= LAZY_PICKLE_BYTES ? readPlainPickleInPlace(source, options) : undefined) ??
          readPlainPickle(wholeSync(source), source, options);
      case "tar":
        return readTarCheckpoint(source, options);
      default:
        throw notACheckpoint(kind);
    }
  });
}

/**
 * Opens a checkpoint from any source: bytes, a Blob/File, or a random-access source. Reads the
 * zip directory and the pickle (or a legacy file's pickles and 8-byte storage headers) only, so a
 * 20 GiB file opens without being read. Load tensor bytes with `tensorBytesAsync`/`loadStorage`.
 */
export async function openCheckpoint(
  input: ByteSource | Uint8Array | { size: number; slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } },
  options: ReadOptions = {},
): Promise<Checkpoint> {
  const source: ByteSource = input instanceof Uint8Array ? bytesSource(input, options.name) : "read" in input ? input : blobSource(input, options.name);
  if (source.bytes !== undefined || source.readSync !== undefined) return openCheckpointSync(source, options);
  return locatedAsync(source, options, async () => {
    const head = await source.read(0, Math.min(HEAD, source.size));
    const kind = detectContainer(head, source.size);
    switch (kind) {
      case "zip": {
        const zip = await openZip(source);
        if (looksLikeNpz(zip)) return openCheckpointSync(bytesSource(await source.read(0, source.size), source.name), options);
        return readZipCheckpoint(zip, options);
      }
      case "npy":
        return readNpyCheckpoint(bytesSource(await source.read(0, source.size), source.name), options);
      case "legacy":
        return readLegacyCheckpoint(source, options);
      case "gzip":
        return gunzipped(await source.read(0, source.size), options);
      case "pickle":
        return readPlainPickle(await source.read(0, source.size), source, options);
      case "tar":
        return readTarCheckpoint(bytesSource(await source.read(0, source.size), source.name), options);
      default:
        throw notACheckpoint(kind);
    }
  });
}

function peek(source: ByteSource): Uint8Array {
  const n = Math.min(HEAD, source.size);
  return source.bytes?.subarray(0, n) ?? source.readSync!(0, n);
}

function wholeSync(source: ByteSource): Uint8Array {
  return source.bytes ?? source.readSync!(0, source.size);
}

function gunzipped(bytes: Uint8Array, options: ReadOptions): Checkpoint {
  const inner = gunzipBounded(bytes, {
    maxBytes: options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.verifyGzipCrc === undefined ? {} : { verifyCrc: options.verifyGzipCrc }),
  });
  const kind = detectContainer(inner.subarray(0, HEAD), inner.length);
  if (kind === "gzip") throw new CheckpointError("unsupported", "gzip inside gzip is not read (a decompression bomb pattern)");
  const ckpt = openCheckpointSync(bytesSource(inner, options.name), options);
  return { ...ckpt, compression: "gzip" };
}

/** A plain pickle at least this large, read from a file, leaves its storage payloads in the file. */
export const LAZY_PICKLE_BYTES = 16 * 2 ** 20;

/**
 * A plain `pickle.dump` of tensors: each storage arrives as `torch.storage._load_from_bytes(b)`,
 * where `b` is a whole legacy torch file holding that one storage. `holes` (from
 * {@link readPlainPickleInPlace}) are payloads left in `source`: their legacy files are read there.
 */
function readPlainPickle(bytes: Uint8Array, source: ByteSource, options: ReadOptions, holes?: ReadonlyMap<number, BytesHole>): Checkpoint {
  const storages: Storage[] = [];
  const result = decodeTorchPickle(bytes, 0, options, {
    loadFromBytes: (inner, offset) => {
      const hole = holes !== undefined && inner.length === 0 && inner.buffer === bytes.buffer ? holes.get(inner.byteOffset - bytes.byteOffset) : undefined;
      let nested: Checkpoint;
      try {
        // A storage's legacy file has pickles of a few hundred bytes before its data.
        nested = hole === undefined
          ? readLegacyCheckpointSync(bytesSource(inner, options.name), options)
          : readLegacyCheckpointSync(sliceSource(source, hole.offset, hole.length, options.name), options, {}, 4096);
      } catch (e) {
        throw isTorchsaveError(e) ? e.withLocation({ offset }) : e;
      }
      if (!isStorage(nested.root)) {
        throw new CheckpointError("invalid-data", "_load_from_bytes payload does not hold a storage", { offset });
      }
      const storage = nested.root;
      storages.push(storage);
      return storage as TorchValue;
    },
  });
  return { layout: "pickle", compression: "none", root: result.value, storages, protocol: result.protocol, records: {}, source };
}

/**
 * A plain pickle read without reading its large `bytes` payloads: they stay in the source, and each
 * `_load_from_bytes` legacy file among them is read there as its storage is asked for, so a
 * pickle of any size opens in the memory of its small parts. Undefined when that cannot be done
 * safely: the caller reads the whole stream (as it does for any error here, so errors and their
 * offsets are those of the whole read). `minHole` is the smallest payload left in place; `window`
 * the bytes read at a time while walking the opcodes (only a few hundred lie between payloads).
 */
export function readPlainPickleInPlace(source: ByteSource, options: ReadOptions = {}, minHole = DEFAULT_HOLE_BYTES, window = 64 * 1024): Checkpoint | undefined {
  let compact;
  let checkpoint: Checkpoint;
  try {
    compact = compactLargeBytes(new SourceWindow(source, window), minHole);
    if (compact === undefined) return undefined;
    checkpoint = readPlainPickle(compact.bytes, source, options, compact.holes);
  } catch {
    return undefined;
  }
  // A payload used as anything but a `_load_from_bytes` argument would read as b"": read it all instead.
  const buffer = compact.bytes.buffer;
  let leaked = false;
  visitGraph(checkpoint.root, (v) => {
    if (pyKind(v) === "bytes" && (v as { data: Uint8Array }).data.buffer === buffer && (v as { data: Uint8Array }).data.length === 0) leaked = true;
    return !leaked;
  });
  return leaked ? undefined : checkpoint;
}

function notACheckpoint(kind: ContainerKind): CheckpointError {
  const what: Partial<Record<ContainerKind, string>> = {
    safetensors: "a safetensors file (convert it with `torchsave convert`)",
    json: "JSON (import it with `torchsave convert`)",
    msgpack: "msgpack",
    unknown: "not a format torchsave recognises",
  };
  return new CheckpointError("unsupported", `not a PyTorch checkpoint: ${what[kind] ?? kind}`, { offset: 0 });
}

function located<T>(source: ByteSource, options: ReadOptions, run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw withFile(e, source, options);
  }
}

async function locatedAsync<T>(source: ByteSource, options: ReadOptions, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw withFile(e, source, options);
  }
}

function withFile(e: unknown, source: ByteSource, options: ReadOptions): unknown {
  const file = options.name ?? source.name;
  if (isTorchsaveError(e)) return file === undefined || e.file !== undefined ? e : e.withLocation({ file });
  return new CheckpointError("invalid-data", `unexpected failure while reading: ${String((e as Error)?.message ?? e)}`, {
    cause: e, ...(file === undefined ? {} : { file }),
  });
}
