/**
 * The worker's side: opens checkpoints and answers the page's requests (tensor details, validation,
 * diff, conversion). Runs in a dedicated Web Worker; where a worker cannot start (a page opened
 * from file://), the page runs it on its own thread with asynchronous reads. DOM-free.
 */
import { bytesSource, type ByteSource } from "../bytes/source.js";
import { formatKeyPath, isTorchsaveError } from "../errors.js";
import { FORMAT_EXTENSIONS, planConversion, readAnySync, type ReadAnyResult } from "../convert/index.js";
import { dtypeByName, isContiguous, loadStorage, numel, openCheckpoint, tensorBytesAsync, walkTensors, type Tensor } from "../torch/index.js";
import { validateCheckpoint, type ValidateOptions, type ValidationReport } from "../validate/index.js";
import { diffCheckpoints, histogramOfBytes, statsOfBytes } from "../analyze/index.js";
import { FIRST_VALUES, formatNumber, heatMap } from "./heat-map.js";
import { openSet } from "./file-set.js";
import type { ConvertRequest, ConvertResult, DiffResult, OpenInput, OpenResult, Request, Response, SetInput, TensorDetail, ValidationView } from "./protocol.js";
import { limitReport, readWhole, withRanges } from "./range-validate.js";
import { runView } from "./run-model.js";
import { countingSources, validateSet } from "./set-validate.js";
import { inputSource } from "./sources.js";
import { STREAM_PIECE, streamableRange, streamStats } from "./stream-stats.js";
import { summarize } from "./tensor-summary.js";
import { tensorNumbers } from "./tensor-values.js";
import { buildTree, formatBytes, tensorByteSize, type CheckpointTree } from "./tree-model.js";

export interface OpenedFile {
  readonly name: string;
  /** The file's bytes; undefined for a set of files (its readers hold their own sources). */
  readonly source: ByteSource | undefined;
  readonly read: ReadAnyResult;
  readonly tree: CheckpointTree;
}

const now = (): number => (globalThis as unknown as { performance: { now(): number } }).performance.now();

/** A message as the page should read it: a typed error's code and text, anything else as text. */
export function errorText(e: unknown): string {
  if (isTorchsaveError(e)) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export class Inspector {
  private readonly files = new Map<number, OpenedFile>();
  private nextFile = 1;

  constructor(private readonly post: (r: Response, transfer?: ArrayBuffer[]) => void, private readonly maxTensorRead = MAX_TENSOR_READ) {}

  /** Handles one request and posts its answer (never throws). */
  async handle(req: Request): Promise<void> {
    try {
      const [value, transfer] = await this.run(req);
      this.post({ id: req.id, ok: true, value }, transfer);
    } catch (e) {
      this.post({ id: req.id, ok: false, error: errorText(e) });
    }
  }

  private async run(req: Request): Promise<[unknown, ArrayBuffer[]?]> {
    switch (req.op) {
      case "open":
        return [await this.open(req.input)];
      case "tensor": {
        const d = await this.tensor(req.file, req.index, req.stream === true ? (done, total) => this.post({ id: req.id, progress: { done, total, what: "bytes" } }) : undefined);
        return [d, d.heat === undefined ? [] : [d.heat.values.buffer as ArrayBuffer]];
      }
      case "validate":
        return [await this.validateInput(req.input, req.data === true, (done, total) => this.post({ id: req.id, progress: { done, total, what: "checked" } }))];
      case "diff":
        return [await this.diff(req.a, req.b)];
      case "convert": {
        const r = await this.convert(req.id, req.file, req.options);
        return [r];
      }
      case "run":
        return [await runView(req.inputs, async (input) => ({ root: (await readAny(await inputSource(oneFile(input)), input.name)).root }), (done, total) => this.post({ id: req.id, progress: { done, total, what: "steps" } }))];
      case "close":
        this.files.delete(req.file);
        return [true];
    }
  }

  private get(file: number): OpenedFile {
    const f = this.files.get(file);
    if (f === undefined) throw new Error(`file ${file} is not open`);
    return f;
  }

  async open(input: OpenInput): Promise<OpenResult> {
    const start = now();
    const source = input.kind === "set" ? undefined : await inputSource(input);
    const read = source === undefined ? await openSet(input as SetInput) : await readAny(source, input.name);
    const tree = buildTree(read.root);
    const file = this.nextFile++;
    this.files.set(file, { name: input.name, source, read, tree });
    return {
      file, name: input.name, bytes: source?.size ?? (input as SetInput).files.reduce((n, f) => n + f.blob.size, 0), layout: read.format, compression: read.gzip ? "gzip" : "none", protocol: read.checkpoint?.protocol ?? 0,
      nodes: tree.nodes, truncated: tree.truncated, tensorCount: tree.tensors.length, tensorBytes: tree.tensorBytes, parts: tree.parts,
      openMs: now() - start,
    };
  }

  /** A tensor's details; `stream` (a progress callback) reads one over the limit in pieces. */
  async tensor(file: number, index: number, stream?: (done: number, total: number) => void): Promise<TensorDetail> {
    const start = now();
    const f = this.get(file);
    const t = f.tree.tensors[index];
    if (t === undefined) throw new Error(`no tensor ${index} in ${f.name}`);
    const base = {
      file, index, path: formatKeyPath(f.tree.paths[index]!), dtype: t.dtype, shape: t.shape, stride: t.stride, storageOffset: t.storageOffset,
      device: t.device, layout: t.layout, bytes: tensorByteSize(t), requiresGrad: t.requiresGrad, isParameter: t.isParameter,
    };
    if (t.layout !== "strided" || t.storage === undefined) {
      return { ...base, first: [], note: t.layout !== "strided" ? `${t.layout} tensor: its values live in the index and value tensors listed beside it` : "no storage (meta or wrapper tensor): no values to show", ms: now() - start };
    }
    if (base.bytes > this.maxTensorRead) {
      const first = await this.firstValues(t);
      const streamable = streamableRange(t) !== undefined;
      if (stream !== undefined && streamable) {
        const s = await streamStats(t, HISTOGRAM_BINS, stream);
        return { ...base, stats: s.stats, ...(s.histogram === undefined ? {} : { histogram: s.histogram }), first, note: `${formatBytes(base.bytes)} read in ${formatBytes(STREAM_PIECE)} pieces, twice (no heat map)`, ms: now() - start };
      }
      return { ...base, first, streamable, note: `${formatBytes(base.bytes)}: more than the ${formatBytes(this.maxTensorRead)} the page reads at once; the first values are read alone${streamable ? "" : ", and this tensor cannot be read in pieces"}`, ms: now() - start };
    }
    const bytes = await this.tensorBytes(f, t);
    // The first values from the first bytes; the whole tensor as numbers only where summarize cannot go.
    const itemSize = dtypeByName(t.dtype)?.itemSize ?? 1;
    const fast = summarize(t.dtype, t.shape, bytes, HISTOGRAM_BINS);
    const nums = tensorNumbers(t, fast === undefined ? bytes : bytes.subarray(0, Math.min(bytes.length, FIRST_VALUES * itemSize)));
    if (nums === undefined) return { ...base, first: [], note: `${t.dtype} values are not shown as numbers`, ms: now() - start };
    let summary = fast;
    if (summary === undefined) {
      try {
        const stats = statsOfBytes(bytes, t.dtype);
        const histogram = stats.min === null || stats.max === null ? undefined : histogramOfBytes(bytes, t.dtype, stats.min, stats.max, HISTOGRAM_BINS);
        const heat = nums.perElement === 1 ? heatMap(nums.values, t.shape) : undefined;
        summary = { stats, ...(histogram === undefined ? {} : { histogram }), ...(heat === undefined ? {} : { heat }) };
      } catch (e) {
        return { ...base, first: [], note: `no statistics: ${errorText(e)}`, ms: now() - start };
      }
    }
    const isFloat = /float|complex|bfloat/.test(t.dtype);
    const f32 = t.dtype !== "float64" && t.dtype !== "complex128";
    const first: string[] = [];
    const count = Math.min(FIRST_VALUES * nums.perElement, nums.values.length);
    for (let i = 0; i < count; i += nums.perElement) {
      if (nums.perElement === 2) first.push(`${formatNumber(nums.values[i]!, true, f32)}${nums.values[i + 1]! < 0 ? "" : "+"}${formatNumber(nums.values[i + 1]!, true, f32)}j`);
      else first.push(t.dtype === "bool" ? (nums.values[i] ? "True" : "False") : formatNumber(nums.values[i]!, isFloat, f32));
    }
    return { ...base, ...summary, first, ...(nums.note === undefined ? {} : { note: nums.note }), ms: now() - start };
  }

  /** analyze's diff of two opened files (storages loaded one pair at a time and released). */
  private async diff(a: number, b: number): Promise<DiffResult> {
    const fa = this.get(a);
    const fb = this.get(b);
    const r = await diffCheckpoints(fa.read.root, fb.read.root);
    return {
      a: fa.name, b: fb.name,
      report: {
        ...r,
        onlyA: r.onlyA.map(formatKeyPath), onlyB: r.onlyB.map(formatKeyPath),
        changed: r.changed.map((e) => ({ ...e, path: formatKeyPath(e.path) })),
        values: r.values.map((v) => ({ ...v, path: formatKeyPath(v.path) })),
      },
    };
  }

  /** The first values of a contiguous tensor in an uncompressed record, read without the rest. */
  private async firstValues(t: Tensor): Promise<string[]> {
    const from = t.storage?.from;
    const info = dtypeByName(t.dtype);
    if (from === undefined || t.storage?.byteOrder !== "little" || from.compression === "deflate" || info === undefined || !isContiguous(t.shape, t.stride) || (info.packing ?? 1) > 1) return [];
    const n = Math.min(FIRST_VALUES, numel(t.shape));
    const raw = await from.source.read(from.offset + t.storageOffset * info.itemSize, n * info.itemSize);
    const nums = tensorNumbers(t, raw);
    if (nums === undefined) return [];
    const isFloat = info.kind === "float";
    return Array.from({ length: Math.floor(nums.values.length / nums.perElement) }, (_, i) => formatNumber(nums.values[i * nums.perElement]!, isFloat, t.dtype !== "float64"));
  }

  /** The tensor's bytes; the storage's cached copy is dropped afterwards so memory stays bounded. */
  private async tensorBytes(f: OpenedFile, t: Tensor): Promise<Uint8Array> {
    // A set's readers keep what they assemble: its storages stay.
    const keep = f.source === undefined || f.source.bytes !== undefined;
    try {
      return await tensorBytesAsync(t);
    } finally {
      if (!keep && t.storage !== undefined) delete (t.storage as { data?: Uint8Array }).data;
    }
  }

  /**
   * Validates an input on its own (a file that cannot be opened still gets its report); the tree is
   * built only to place NaN/Inf marks, and its failure is not an error here. Without `data`, the
   * structural and security pass only (container, pickles, imports, weights_only; no CRC-32 or
   * NaN/Inf over every byte), read by ranges from an asynchronous source; with `data`, everything.
   * A set is validated as one folder (set-validate.ts).
   */
  async validateInput(input: OpenInput, data = true, progress?: (done: number, total: number) => void): Promise<ValidationView> {
    if (input.kind === "set") return this.validateSetInput(input, data, progress);
    const source = await inputSource(input);
    let tree: CheckpointTree | undefined;
    try {
      tree = buildTree((await readAny(source, input.name)).root);
    } catch {
      tree = undefined;
    }
    const start = now();
    // DCP's .metadata is read with pickle.load, never torch.load: no weights_only verdict for it.
    const torchLoads = !/(^|\/)\.metadata$/.test(input.name);
    // One scan judges both torch targets: the newest (with every check) and 1.13.
    const full: ValidateOptions = { name: input.name, ...(torchLoads ? { weightsOnly: "current", weightsOnlyTargets: ["1.13"] } : {}) };
    const quick: ValidateOptions = { ...full, checkCrc: false, scanValues: false };
    const check = (src: ByteSource, options: ValidateOptions): ValidationReport => validateCheckpoint(src, options);
    const sync = source.bytes !== undefined || source.readSync !== undefined;
    const offer = { bytes: source.size, ...(sync || source.size <= MAX_DATA_READ ? {} : { refused: `more than the ${formatBytes(MAX_DATA_READ)} the page downloads for a full check` }) };
    if (sync) {
      const report = check(data ? countingSources([source], source.size, progress)[0]! : source, data ? full : quick);
      return this.validate(tree, report, older(report), now() - start, data ? undefined : offer);
    }
    if (data || source.size <= WHOLE_CHECK_BYTES) {
      const report = check(bytesSource(await readWhole(source, MAX_DATA_READ, progress), input.name), full);
      return { ...this.validate(tree, report, older(report), now() - start), fetched: source.size };
    }
    const run = await withRanges(source, QUICK_CHECK_BUDGET, (view) => check(view, quick));
    const report = run.complete ? run.value : limitReport(source, quick, run.fetched, QUICK_CHECK_BUDGET);
    return { ...this.validate(tree, report, run.complete ? older(report) : undefined, now() - start, offer), fetched: run.fetched };
  }

  private async validateSetInput(input: SetInput, data: boolean, progress?: (done: number, total: number) => void): Promise<ValidationView> {
    const start = now();
    const v = await validateSet(input, data, progress);
    const ms = now() - start;
    // The set's tree (to place NaN/Inf marks) only when some tensor has them.
    let tree: CheckpointTree | undefined;
    if (v.report.tensors.some((t) => t.nan + t.posInf + t.negInf > 0)) {
      try {
        tree = buildTree((await openSet(input)).root);
      } catch {
        tree = undefined;
      }
    }
    return this.validate(tree, v.report, v.weightsOnly13, ms, data ? undefined : { bytes: v.bytes });
  }

  private validate(tree: CheckpointTree | undefined, report: ValidationView["report"], weightsOnly13: ValidationView["weightsOnly13"], ms: number, offer?: ValidationView["offer"]): ValidationView {
    const rowOf = new Map<string, number>();
    for (const [i, n] of (tree?.nodes ?? []).entries()) if (n.kind === "tensor" && !rowOf.has(n.path)) rowOf.set(n.path, i);
    const nonFinite: { row: number; nan: number; inf: number }[] = [];
    for (const t of report.tensors) {
      if (t.nan + t.posInf + t.negInf === 0) continue;
      const row = rowOf.get(formatKeyPath(t.path));
      if (row !== undefined) nonFinite.push({ row, nan: t.nan, inf: t.posInf + t.negInf });
    }
    return { report, ...(weightsOnly13 === undefined ? {} : { weightsOnly13 }), nonFinite, ms, ...(offer === undefined ? {} : { offer }) };
  }

  async convert(id: number, file: number, options: ConvertRequest): Promise<ConvertResult> {
    const f = this.get(file);
    let source: ByteSource | ReadAnyResult;
    if (f.source === undefined) {
      // A set: its tensors loaded first (the writer reads them synchronously).
      for (const { tensor } of walkTensors(f.read.root, { into: "all" })) if (tensor.storage !== undefined) await loadStorage(tensor.storage.view?.root ?? tensor.storage);
      source = f.read;
    } else source = f.source.bytes !== undefined || f.source.readSync !== undefined ? f.source : bytesSource(await f.source.read(0, f.source.size), f.name);
    const plan = planConversion(source, {
      to: options.format, gzip: options.gzip, read: { name: f.name },
      ...(options.stripPrefix ? { stripPrefix: options.stripPrefix } : {}),
      ...(options.addPrefix ? { addPrefix: options.addPrefix } : {}),
      ...(options.mapLocation ? { mapLocation: options.mapLocation } : {}),
    });
    const chunks: Uint8Array[] = [];
    let written = 0;
    let lastReport = 0;
    for (const chunk of plan.chunks) {
      chunks.push(chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice());
      written += chunk.length;
      if (written - lastReport > 8 * 2 ** 20) {
        lastReport = written;
        this.post({ id, progress: { done: written, total: Math.max(plan.storageBytes, written), what: "writing" } });
      }
    }
    const BlobCtor = (globalThis as unknown as { Blob: new (parts: Uint8Array[], o?: { type: string }) => ConvertResult["blob"] }).Blob;
    const blob = new BlobCtor(chunks, { type: "application/octet-stream" });
    return { blob, fileName: outputName(f.name, options), bytes: written, notes: plan.notes };
  }
}

/** Bins of a tensor's histogram. */
export const HISTOGRAM_BINS = 64;

/** Largest tensor the page reads whole for statistics (a browser's typed arrays stop near 2-4 GiB). */
export const MAX_TENSOR_READ = 2 ** 30;

/** An asynchronous source up to this size is fetched whole and checked fully at once. */
export const WHOLE_CHECK_BYTES = 16 * 2 ** 20;

/** Most bytes the structural check of an asynchronous source fetches (a zip checkpoint needs a few KiB). */
export const QUICK_CHECK_BUDGET = 32 * 2 ** 20;

/** Largest asynchronous source (a URL) downloaded for the full data check. */
export const MAX_DATA_READ = 2 ** 30;

/** A one-file input (sets are not steps of a run). */
function oneFile(input: OpenInput): Exclude<OpenInput, SetInput> {
  if (input.kind === "set") throw new Error(`${input.name} is a set of files: open it, or drop the dumps of a run as files`);
  return input;
}

/** Most bytes read whole to open a non-torch format (JSON, msgpack) from an asynchronous source. */
export const MAX_WHOLE_READ = 2 ** 30;

/** Any format torchsave reads: lazily through a synchronous source, else torch layouts lazily and the rest read whole. */
async function readAny(source: ByteSource, name: string): Promise<ReadAnyResult> {
  if (source.bytes !== undefined || source.readSync !== undefined) return readAnySync(source, { read: { name } });
  try {
    const checkpoint = await openCheckpoint(source, { name });
    return { root: checkpoint.root, format: checkpoint.layout, gzip: checkpoint.compression === "gzip", checkpoint };
  } catch (e) {
    if (source.size > MAX_WHOLE_READ) throw e;
    return readAnySync(bytesSource(await source.read(0, source.size), name), { read: { name } });
  }
}

const EXTENSION: Readonly<Record<string, string>> = { json: "json", "json-plain": "json", msgpack: "msgpack", safetensors: "safetensors", pt: "pt", "pt-legacy": "pt", pickle: "pkl" };

/** `model.pt` → `model.safetensors` (`.gz` added when gzipped). */
export function outputName(name: string, options: Pick<ConvertRequest, "format" | "gzip">): string {
  const base = name.replace(/\.gz$/i, "").replace(/\.[A-Za-z0-9]+$/, (ext) => (Object.hasOwn(FORMAT_EXTENSIONS, ext.slice(1).toLowerCase()) ? "" : ext));
  const out = `${base}.${EXTENSION[options.format] ?? options.format}${options.gzip ? ".gz" : ""}`;
  return out === name ? `${base}-converted${out.slice(base.length)}` : out;
}

/** The torch 1.13 verdict of a one-file report (judged in the same scan), for the view. */
function older(report: ValidationReport): ValidationView["weightsOnly13"] {
  const w = report.readable ? report.weightsOnlyVerdicts?.[0] : undefined;
  return w === undefined ? undefined : { accepted: w.accepted, blockers: w.blockers.map((b) => ({ message: b.message })) };
}
