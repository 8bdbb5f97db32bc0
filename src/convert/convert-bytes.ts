/**
 * Any supported file in, any format out: the input format is detected from content (never the
 * name), optional rewrites run (a caller's transform such as sanitize, `module.` prefixes, storage
 * locations), and the value is written in the requested format, optionally gzipped. The CLI's
 * `convert` command is this plus files.
 */
import type { ByteSource } from "../bytes/source.js";
import { bytesSource } from "../bytes/source.js";
import { ConvertError, isTorchsaveError } from "../errors.js";
import type { Checkpoint, DTypeName, ReadOptions, TorchValue } from "../torch/index.js";
import type { Crc32Fn, CrcCheck } from "../torch/index.js";
import { addPrefix, detectContainer, findParts, isModuleObject, moduleStateDict, openCheckpointSync, stripPrefix, verifyRecordCrcsAsRead, verifyRecordCrcsSync } from "../torch/index.js";
import type { LocationMap } from "../torch/map-location.js";
import { mapLocation } from "../torch/map-location.js";
import { checkpointChunks } from "../torch/write/write-checkpoint.js";
import type { WriteOptions } from "../torch/write/write-options.js";
import type { ConvertFormat } from "./formats.js";
import { gunzip, gzipChunks, isGzip, type GzipOptions } from "./gzip.js";
import { fromJsonSource, jsonBytes, type JsonOptions } from "./json.js";
import { msgpackChunks, type MsgpackOptions } from "./msgpack.js";
import { fromMsgpackSource } from "./msgpack-source.js";
import { pickleChunks, type ToPickleOptions } from "./pickle-plain.js";
import { fromPlainJsonSource, plainJsonChunks, type FromPlainJsonOptions, type ToPlainJsonOptions } from "./plain-json.js";
import { planChunks, planSafetensors, readSafetensorsSync, type ToSafetensorsOptions } from "./safetensors.js";
import { graphFacts } from "./value-graph.js";
import { concatBytes } from "../bytes/concat.js";
import { coalesceChunks, encodeTextChunks } from "../bytes/coalesce.js";

/** What an input turned out to be. */
export type InputFormat =
  | "zip" | "legacy" | "pickle" | "tar" | "torchscript" | "npy" | "npz"
  | "safetensors" | "json" | "json-plain" | "msgpack"
  /** Several files read as one checkpoint (src/distributed): a DCP directory, a shard index, a DeepSpeed ZeRO folder. */
  | "dcp" | "shards" | "deepspeed";

/** Options of {@link readAnySync}: how to read inputs whose format leaves a choice. */
export interface ReadAnyOptions {
  /** Read JSON as this (default: a torchsave document when it starts with `{"$torchsave"`, plain JSON otherwise). */
  readonly jsonAs?: "json" | "json-plain";
  /** dtype of tensors made from plain JSON lists (default inferred). */
  readonly dtype?: DTypeName;
  /** How plain JSON is read: which lists become tensors, state_dict recognition (see {@link FromPlainJsonOptions}). */
  readonly plain?: Omit<FromPlainJsonOptions, "dtype" | "onNote">;
  /** Passed to the checkpoint reader (limits, reducers, `maxInflatedBytes`, `name`). */
  readonly read?: ReadOptions;
  /**
   * CRC-32 checks of zip records (torch does none): "metadata" (default for {@link readAnySync}:
   * the pickles and text records opening reads), "all" (default for {@link planConversion} and
   * {@link convertBytes}: every storage record too, since all of them are read; those two check a
   * storage's record as the writer reads its bytes, not in a pass before), "none" to read
   * damaged files anyway. A mismatch throws CheckpointError `crc-mismatch` naming the record.
   */
  readonly verifyCrc?: CrcCheck;
  /** CRC-32 implementation for those checks (Node passes `zlib.crc32`); default the portable one. */
  readonly crc32?: Crc32Fn;
  /**
   * The source holds what a gzip file inflated to (the Node layer inflates a large one to a temp
   * file, streaming: see src/node/gunzip-file.ts): the result says `gzip`, and the same rules apply
   * as to gzip inflated here (gzip inside it and an empty stream are refused).
   */
  readonly gunzipped?: boolean;
}

/** A value read by {@link readAnySync}, and what the input was. */
export interface ReadAnyResult {
  readonly root: TorchValue;
  readonly format: InputFormat;
  /** True when the input was gzip-compressed around the format. */
  readonly gzip: boolean;
  /** The checkpoint, for torch layouts (records, archive name, protocol). */
  readonly checkpoint?: Checkpoint;
  /** safetensors `__metadata__` (without the skeleton). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** What reading inferred (plain JSON: the state_dicts recognized), one line each. */
  readonly notes?: readonly string[];
}

const HEAD = 1024;

/**
 * Reads any supported input from a source: torch checkpoints of every layout (lazily: storages
 * are read when written out), safetensors (lazily), lossless or plain JSON, msgpack, and gzip
 * around any of them.
 * @throws ConvertError `unsupported` for content that is none of these; the format readers'
 *   errors (CheckpointError, PickleDecodeError, ConvertError) with their locations.
 */
export function readAnySync(source: ByteSource, options: ReadAnyOptions = {}): ReadAnyResult {
  return readAnyNamed(source, options, false);
}

/**
 * {@link readAnySync} for an input about to be converted in full (several output files, say: see
 * src/distributed's shard and DCP writers): with `verifyCrc` "all" (the default here) the records
 * opening reads are checked now and every storage record when a writer reads its bytes (each
 * once), not in a pass before. A storage no writer reads is not checked.
 * @throws as {@link readAnySync}; a damaged storage record throws `crc-mismatch` while it is read.
 */
export function readAnyForConversion(source: ByteSource, options: ReadAnyOptions = {}): ReadAnyResult {
  return readAnyNamed(source, { ...options, verifyCrc: options.verifyCrc ?? "all" }, true);
}

/**
 * `asRead`: with verifyCrc "all", storage records are checked when their bytes are read (each
 * once, by the writer that converts them) rather than in a pass before (see torch/record-crc.ts).
 */
function readAnyNamed(source: ByteSource, options: ReadAnyOptions, asRead: boolean): ReadAnyResult {
  try {
    return readAny(source, options, asRead);
  } catch (e) {
    // Every error names the file it came from (gzip, JSON and msgpack readers do not know it).
    if (isTorchsaveError(e) && e.file === undefined && source.name !== undefined) throw e.withLocation({ file: source.name });
    throw e;
  }
}

function readAny(source: ByteSource, options: ReadAnyOptions, asRead: boolean): ReadAnyResult {
  if (options.gunzipped === true) return gunzippedResult(source, { ...options, gunzipped: false }, asRead);
  if (source.size === 0) {
    throw new ConvertError("invalid-data", "the file is empty (0 bytes): nothing to read", source.name === undefined ? {} : { file: source.name });
  }
  const read = (o: number, n: number): Uint8Array => source.bytes?.subarray(o, o + n) ?? source.readSync!(o, n);
  if (source.bytes === undefined && source.readSync === undefined) throw new ConvertError("invalid-argument", "readAnySync needs a source that reads synchronously");
  const head = read(0, Math.min(HEAD, source.size));
  const kind = detectContainer(head, source.size);
  const readOptions: ReadOptions = { ...(source.name === undefined ? {} : { name: source.name }), ...(options.read ?? {}) };
  switch (kind) {
    case "gzip": {
      const inner = gunzip(read(0, source.size), {
        ...(options.read?.maxInflatedBytes === undefined ? {} : { maxBytes: options.read.maxInflatedBytes }),
        verifyCrc: options.verifyCrc !== "none" && options.read?.verifyGzipCrc !== false,
        ...(options.crc32 === undefined ? {} : { crc32: options.crc32 }),
      });
      return gunzippedResult(bytesSource(inner, source.name), options, asRead);
    }
    case "safetensors": {
      const v = readSafetensorsSync(source);
      return { root: v.root, format: "safetensors", gzip: false, metadata: v.metadata };
    }
    case "msgpack":
      // Read as the decoder reaches each item; storage bytes stay in the source until written.
      return { root: fromMsgpackSource(source), format: "msgpack", gzip: false };
    case "json": {
      // Lossless and plain JSON are read from the bytes as they come (any size).
      const start = new TextDecoder().decode(head.subarray(0, 64)).replace(/^\ufeff/, "");
      const lossless = options.jsonAs === undefined ? /^\s*\{\s*"\$torchsave"\s*:/.test(start) : options.jsonAs === "json";
      if (lossless) return { root: fromJsonSource(source), format: "json", gzip: false };
      const notes: string[] = [];
      const plain: FromPlainJsonOptions = { ...(options.plain ?? {}), ...(options.dtype === undefined ? {} : { dtype: options.dtype }), onNote: (l) => notes.push(l) };
      return { root: fromPlainJsonSource(source, plain), format: "json-plain", gzip: false, notes };
    }
    case "unknown":
      throw new ConvertError("unsupported", "the input is no format torchsave reads (torch checkpoint, safetensors, JSON, msgpack, gzip)", { offset: 0, ...(source.name === undefined ? {} : { file: source.name }) });
    default: {
      const checkpoint = openCheckpointSync(source, readOptions);
      const crc32 = options.crc32 === undefined ? {} : { crc32: options.crc32 };
      if (asRead && options.verifyCrc === "all") verifyRecordCrcsAsRead(checkpoint, crc32);
      else verifyRecordCrcsSync(checkpoint, { records: options.verifyCrc ?? "metadata", ...crc32 });
      return { root: checkpoint.root, format: checkpoint.layout, gzip: checkpoint.compression === "gzip", checkpoint };
    }
  }
}

/** Reads what a gzip stream inflated to: neither gzip again nor empty. */
function gunzippedResult(inner: ByteSource, options: ReadAnyOptions, asRead: boolean): ReadAnyResult {
  if (inner.size === 0) throw new ConvertError("invalid-data", "the gzip stream inflates to nothing (0 bytes): empty, or cut short inside its header");
  const head = inner.bytes?.subarray(0, 3) ?? inner.readSync?.(0, Math.min(3, inner.size)) ?? new Uint8Array(0);
  if (isGzip(head)) throw new ConvertError("unsupported", "gzip inside gzip is not read (a decompression bomb pattern)");
  return { ...readAny(inner, options, asRead), gzip: true };
}

/** Options of {@link convertBytes} / {@link planConversion}: the output format, rewrites, and each writer's options. */
export interface ConvertOptions extends ReadAnyOptions {
  /** The output format. */
  readonly to: ConvertFormat;
  /** gzip the output. Default false. */
  readonly gzip?: boolean | GzipOptions;
  /** Applied first (e.g. validate's `sanitize`): returns the value to write. */
  readonly transform?: (root: TorchValue) => TorchValue;
  /**
   * The input is a whole pickled nn.Module (`torch.save(model)`), or a dict holding one: write
   * its `model.state_dict()` instead (`moduleStateDict`: names, order, buffers, `_metadata`).
   */
  readonly stateDict?: boolean;
  /** Remove this prefix from the keys of state_dicts (`stripPrefix`). */
  readonly stripPrefix?: string;
  /** Add this prefix to the keys of state_dicts (`addPrefix`). */
  readonly addPrefix?: string;
  /** Rewrite storage locations (`mapLocation`), e.g. "cpu". Changes the value read in place. */
  readonly mapLocation?: LocationMap;
  readonly json?: JsonOptions;
  readonly plainJson?: ToPlainJsonOptions;
  readonly msgpack?: MsgpackOptions;
  readonly safetensors?: ToSafetensorsOptions;
  readonly pickle?: ToPickleOptions;
  /** For "pt"/"pt-legacy" (the layout is set by the format). */
  readonly write?: Omit<WriteOptions, "layout">;
}

/** The converted output, as chunks to write, and what the conversion wants the user to know. */
export interface ConvertPlan {
  readonly input: ReadAnyResult;
  /** The value written (after transform, prefixes and locations). */
  readonly root: TorchValue;
  /** Output chunks; storages are read as the iteration reaches them. */
  readonly chunks: Iterable<Uint8Array>;
  /** Sum of the storage bytes the output carries (for progress; computed on first read). */
  readonly storageBytes: number;
  readonly notes: string[];
}

/**
 * Reads `source`, applies the rewrites, and prepares the output (encoding errors surface here or
 * while iterating the chunks).
 */
export function planConversion(source: ByteSource | ReadAnyResult, options: ConvertOptions): ConvertPlan {
  // An input already read (a DCP directory or a shard index, read by src/distributed) or a source.
  const read = "root" in source && "format" in source;
  // Storage records are checked as the writer reads them: each storage's bytes are read once.
  const input = read ? source : readAnyForConversion(source, options);
  const fileName = read ? undefined : source.name;
  const notes: string[] = [...(input.notes ?? [])];
  let root = input.root;
  if (options.stateDict === true) root = moduleRoot(root, notes, fileName);
  if (options.transform !== undefined) root = options.transform(root);
  if (options.stripPrefix !== undefined) {
    const r = stripPrefix(root, options.stripPrefix);
    if (r.keys === 0) {
      const model = findParts(root).model;
      const sample = model === undefined ? [] : dictKeys(model.value).slice(0, 3);
      throw new ConvertError(
        "invalid-argument",
        `strip-prefix ${JSON.stringify(options.stripPrefix)} matches no key: no dict has all its keys starting with it` +
          (sample.length > 0 ? ` (the state_dict's keys start like ${sample.map((k) => JSON.stringify(k)).join(", ")})` : ""),
        fileName === undefined ? {} : { file: fileName },
      );
    }
    root = r.value;
    notes.push(`strip-prefix ${JSON.stringify(options.stripPrefix)}: ${r.keys} keys in ${r.dicts} dicts`);
  }
  if (options.addPrefix !== undefined) {
    const r = addPrefix(root, options.addPrefix);
    root = r.value;
    notes.push(`add-prefix ${JSON.stringify(options.addPrefix)}: ${r.keys} keys in ${r.dicts} dicts`);
  }
  if (options.mapLocation !== undefined) {
    const r = mapLocation(root, options.mapLocation);
    notes.push(`map-location: ${r.storages} storages, ${r.tensors} tensors moved`);
  }
  // Writers yield many small pieces (JSON tokens, small storages); they go out a MiB at a time.
  let chunks: Iterable<Uint8Array> = coalesceChunks(encode(root, options, notes));
  if (options.gzip !== undefined && options.gzip !== false) chunks = gzipChunks(chunks, options.gzip === true ? {} : options.gzip);
  let storageBytes: number | undefined;
  return {
    input, root, chunks, notes,
    // A walk of the whole graph: only made when asked for (a progress bar), not on every conversion.
    get storageBytes() {
      storageBytes ??= graphFacts(root).storages.reduce((n, s) => n + (s.view === undefined ? s.byteLength : 0), 0);
      return storageBytes;
    },
  };
}

function encode(root: TorchValue, options: ConvertOptions, notes: string[]): Iterable<Uint8Array> {
  switch (options.to) {
    case "json":
      return jsonBytes(root, options.json);
    case "json-plain":
      return encodeTextChunks(plainJsonChunks(root, options.plainJson));
    case "msgpack":
      return msgpackChunks(root, options.msgpack);
    case "safetensors": {
      const plan = planSafetensors(root, options.safetensors);
      notes.push(...plan.notes);
      return planChunks(plan);
    }
    case "pickle":
      return pickleChunks(root, options.pickle);
    case "pt":
    case "pt-legacy":
      return writeTorch(root, { ...(options.write ?? {}), layout: options.to === "pt" ? "zip" : "legacy" }, notes);
  }
}

/**
 * torch.save output, kept loadable with `weights_only=True` when the value allows it; when it
 * does not (a whole pickled module, custom classes), written without that restriction and noted.
 */
function writeTorch(root: TorchValue, options: WriteOptions, notes: string[]): Iterable<Uint8Array> {
  if (options.weightsOnly !== undefined || (options.protocol ?? 2) !== 2) return checkpointChunks(root, options);
  try {
    return checkpointChunks(root, { ...options, weightsOnly: true });
  } catch (e) {
    if (!isTorchsaveError(e) || e.code !== "unencodable") throw e;
    notes.push(`not loadable with torch.load(weights_only=True): ${e.reason}`);
    return checkpointChunks(root, { ...options, weightsOnly: false });
  }
}

/**
 * Converts a whole input held in memory.
 * @throws as {@link readAnySync} and the chosen writer.
 */
export function convertBytes(input: Uint8Array, options: ConvertOptions): Uint8Array {
  const plan = planConversion(bytesSource(input), options);
  return concatBytes([...plan.chunks]);
}

/** `--state-dict`: the module at the root, or the one module among a dict's values. */
function moduleRoot(root: TorchValue, notes: string[], file: string | undefined): TorchValue {
  let module: TorchValue = root;
  let where = "";
  if (!isModuleObject(root) && pyKindOf(root) === "dict") {
    const found = (root as { entries: [TorchValue, TorchValue][] }).entries.filter(([, v]) => isModuleObject(v));
    if (found.length === 1) {
      module = found[0]![1];
      where = ` (the module under key ${JSON.stringify(found[0]![0])})`;
    }
  }
  if (!isModuleObject(module)) {
    throw new ConvertError("invalid-argument", "--state-dict needs a whole pickled nn.Module (torch.save(model)) or a dict holding one; this file holds neither", file === undefined ? {} : { file });
  }
  const r = moduleStateDict(module);
  notes.push(...r.notes.map((n, i) => (i === 0 ? `${n}${where}` : n)));
  return r.value;
}

const pyKindOf = (v: TorchValue): string | undefined => (typeof v === "object" && v !== null ? (v as { kind?: string }).kind : undefined);

/** The string keys of a dict value (for messages). */
function dictKeys(v: TorchValue): string[] {
  const entries = (v as { entries?: [TorchValue, TorchValue][] }).entries;
  return entries === undefined ? [] : entries.flatMap(([k]) => (typeof k === "string" ? [k] : []));
}
