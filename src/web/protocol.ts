/**
 * The messages between the page and its Web Worker. Everything here is structured-clone data (no
 * classes, no functions), so the same types describe both ends. DOM-free.
 */
import type { DiffEntry, DiffReport, DiffValue, Histogram as AnalyzeHistogram, TensorStats } from "../analyze/index.js";
import type { ConvertFormat } from "../convert/index.js";
import type { FolderValidationReport } from "../distributed/index.js";
import type { ValidationReport } from "../validate/index.js";

/** What the page asks the worker to open: a File/Blob picked or dropped, a URL read by range requests, or a set of files forming one checkpoint. */
export type OpenInput = { readonly kind: "blob"; readonly blob: WebBlob; readonly name: string } | { readonly kind: "url"; readonly url: string; readonly name: string } | SetInput;

/** A folder (or files dropped together): a DCP directory, Hugging Face shards, a DeepSpeed folder; paths relative to where it was picked. */
export interface SetInput {
  readonly kind: "set";
  readonly name: string;
  readonly files: readonly { readonly path: string; readonly blob: WebBlob }[];
}

/** The part of the DOM's Blob the worker needs (declared so DOM-free modules can name it). */
export interface WebBlob {
  readonly size: number;
  slice(start?: number, end?: number): WebBlob;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** One row of the checkpoint tree, in depth-first order. */
export interface TreeNode {
  /** The key as Python spells it: `'fc.weight'`, `[3]`, or "" for the root. */
  readonly key: string;
  /** Type and size in a few words: `float32 [10, 5] · 200 B`, `dict · 4 keys`, `int 7`. */
  readonly label: string;
  readonly kind: "tensor" | "container" | "value" | "object";
  readonly depth: number;
  /** Index of the parent row (-1 for the root). */
  readonly parent: number;
  /** Rows below this one in the subtree (so a collapsed row skips them). */
  readonly descendants: number;
  /** The key path as torchsave spells it: `["state_dict"]["fc.weight"]`. */
  readonly path: string;
  /** For tensors: the index into the file's tensor list. */
  readonly tensor?: number;
  /** "model", "optimizer", ... for the rows findParts recognised. */
  readonly part?: string;
}

export interface PartSummary {
  readonly name: string;
  readonly path: string;
  /** Row index in the tree. */
  readonly row: number;
  readonly detail: string;
}

export interface OpenResult {
  readonly file: number;
  readonly name: string;
  readonly bytes: number;
  readonly layout: string;
  readonly compression: string;
  readonly protocol: number;
  readonly nodes: readonly TreeNode[];
  /** True when the tree was cut at MAX_TREE_NODES rows. */
  readonly truncated: boolean;
  readonly tensorCount: number;
  readonly tensorBytes: number;
  readonly parts: readonly PartSummary[];
  /** Milliseconds the worker spent opening (reads and decoding). */
  readonly openMs: number;
}

/** Counts of finite values in equal-width bins over [lo, hi] (analyze's histogramOfBytes). */
export type Histogram = AnalyzeHistogram;

export interface HeatMap {
  /** Cells, row-major; each the mean of the block of elements it covers. */
  readonly rows: number;
  readonly cols: number;
  readonly values: Float32Array;
  /** The element rows and columns the heat map covers (the tensor as [shape[0], rest]). */
  readonly sourceRows: number;
  readonly sourceCols: number;
}

export interface TensorDetail {
  readonly file: number;
  readonly index: number;
  readonly path: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly storageOffset: number;
  readonly device: string;
  readonly layout: string;
  readonly bytes: number;
  readonly requiresGrad: boolean;
  readonly isParameter: boolean;
  /** Absent when the values cannot be read as numbers (sparse, meta, no storage). */
  /** analyze's tensor statistics (float64 over the finite values; NaN/±Inf counted apart). */
  readonly stats?: TensorStats;
  readonly histogram?: Histogram;
  readonly heat?: HeatMap;
  /** The first values as text (complex as pairs), NaN/Inf spelled as torch prints them. */
  readonly first: readonly string[];
  readonly note?: string;
  /** True when the tensor is too large to read whole but its statistics can be streamed (ask again with `stream`). */
  readonly streamable?: boolean;
  readonly ms: number;
}

/** analyze's diff report with key paths spelled as strings (what the page shows). */
export interface DiffResult {
  readonly a: string;
  readonly b: string;
  readonly report: Omit<DiffReport, "onlyA" | "onlyB" | "changed" | "values"> & {
    readonly onlyA: readonly string[];
    readonly onlyB: readonly string[];
    readonly changed: readonly (Omit<DiffEntry, "path"> & { readonly path: string })[];
    readonly values: readonly (Omit<DiffValue, "path"> & { readonly path: string })[];
  };
}

export interface ConvertRequest {
  readonly format: ConvertFormat;
  readonly gzip: boolean;
  readonly stripPrefix?: string;
  readonly addPrefix?: string;
  readonly mapLocation?: string;
}

export interface ConvertResult {
  readonly blob: WebBlob;
  readonly fileName: string;
  readonly bytes: number;
  readonly notes: readonly string[];
}

/** Page → worker. Every request carries an id; the answer (or progress) carries it back. */
export type Request =
  | { readonly id: number; readonly op: "open"; readonly input: OpenInput }
  | { readonly id: number; readonly op: "tensor"; readonly file: number; readonly index: number; readonly stream?: boolean }
  | { readonly id: number; readonly op: "validate"; readonly input: OpenInput; readonly data?: boolean }
  | { readonly id: number; readonly op: "diff"; readonly a: number; readonly b: number }
  | { readonly id: number; readonly op: "convert"; readonly file: number; readonly options: ConvertRequest }
  | { readonly id: number; readonly op: "close"; readonly file: number }
  | { readonly id: number; readonly op: "run"; readonly inputs: readonly OpenInput[] };

/** A request without its id (what the page passes to the client). */
export type RequestBody = { [K in Request["op"]]: Omit<Extract<Request, { op: K }>, "id"> }[Request["op"]];

/** A set's report (distributed/validateFolder's) with only the count of its parts' own reports. */
export type SetReport = Omit<FolderValidationReport, "parts"> & { readonly parts: number };

/** The two weights_only verdicts the page shows (torch 2.6+ policy and torch 1.13's). */
export interface ValidationView {
  /** One file's report, or a set's (its consistency findings, then each part's, `where.record` naming the part). */
  readonly report: ValidationReport | SetReport;
  readonly weightsOnly13?: { readonly accepted: boolean; readonly blockers: readonly { readonly message: string }[] };
  /** Row indices of tensors holding NaN or Inf, with the counts. */
  readonly nonFinite: readonly { readonly row: number; readonly nan: number; readonly inf: number }[];
  readonly ms: number;
  /**
   * Present when only the structure and security were checked (no CRC-32 or NaN/Inf over every
   * byte): the full check on offer, its size, and why it is refused (a URL too large to download).
   */
  readonly offer?: { readonly bytes: number; readonly refused?: string };
  /** Bytes fetched to validate an asynchronous source (a URL). */
  readonly fetched?: number;
}

/** Worker → page. */
export type Response =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }
  | { readonly id: number; readonly progress: { readonly done: number; readonly total: number; readonly what: string } };
