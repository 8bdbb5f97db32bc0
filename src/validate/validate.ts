/**
 * The validator's entry points. One pass over a file: the container's integrity (zip directory,
 * local headers, CRC-32s; legacy stream; gzip trailer; tar members; npy header), a security scan
 * of every pickle (imports classified, nested and embedded pickles followed), the object graph
 * rebuilt inertly (tensor extents, NaN/Inf counts streamed with the CRCs), training-state sanity,
 * and optionally the weights_only emulation. It RETURNS a report and never throws: every failure,
 * expected or not, becomes a finding.
 */
import { blobSource, bytesSource, type BlobLike, type ByteSource } from "../bytes/source.js";
import { isTorchsaveError, type TorchsaveError } from "../errors.js";
import { detectContainer, openCheckpointSync } from "../torch/index.js";
import type { Checkpoint, CheckpointLayout, ContainerKind } from "../torch/index.js";
import { createContext, recordName, report, type Ctx, type ImportedGlobal, type TensorValueStats, type ValidateOptions } from "./context.js";
import { countSeverities, type Finding, type SeverityCounts } from "./finding.js";
import { carve, MAX_CARVE_BYTES, scanStream } from "./report-scan.js";
import { scanPickle } from "./scan-pickle.js";
import { scanScalars, validateDataFormat } from "./validate-data.js";
import { checkTrainingState } from "./training-state.js";
import { inspectGzip } from "./validate-gzip.js";
import { scanMaybeJoblib } from "./validate-joblib.js";
import { inspectLegacy } from "./validate-legacy.js";
import { inspectNpyBytes } from "./validate-npy.js";
import { inspectTar } from "./validate-tar.js";
import { inspectZip, streamZipRecords, type ZipInspection } from "./validate-zip.js";
import { finishValueScan, FILE_RECORD, planValueScan, streamFileTargets, type ValuePlan } from "./value-scan.js";
import { weightsOnlyVerdict, type WeightsOnlyVerdict } from "./weights-only.js";
import { WEIGHTS_ONLY_POLICIES, withSafeGlobals, type TorchTarget } from "./weights-only-policy.js";

/** Everything the validator found out about one file. */
export interface ValidationReport {
  /** The name given in the options (a file name). */
  readonly file?: string;
  /** False when the input could not be read at all (the CLI exits 2). */
  readonly readable: boolean;
  /** The container as detected from content. */
  readonly container: ContainerKind;
  /** The checkpoint layout, when the object graph could be rebuilt. */
  readonly layout?: CheckpointLayout;
  /** "gzip" when the container was gzip-wrapped. */
  readonly compression: "none" | "gzip";
  readonly bytes: number;
  /** Every finding, in the order found. */
  readonly findings: readonly Finding[];
  readonly counts: SeverityCounts;
  /** Every global the file's pickles import, classified (one entry per record and name). */
  readonly imports: readonly ImportedGlobal[];
  /** NaN/Inf counts per floating-point tensor. */
  readonly tensors: readonly TensorValueStats[];
  /** The weights_only answer, when the `weightsOnly` option asked for it. */
  readonly weightsOnly?: WeightsOnlyVerdict;
  /** The answers for the `weightsOnlyTargets` option's targets, in its order (from the same scan). */
  readonly weightsOnlyVerdicts?: readonly WeightsOnlyVerdict[];
}

const HEAD = 1024;

/**
 * Validates a checkpoint held in memory or readable synchronously (a Node file source). Never
 * throws: unreadable input gives a report with `readable: false` and an `unreadable` finding.
 */
export function validateCheckpoint(input: Uint8Array | ByteSource, options: ValidateOptions = {}): ValidationReport {
  let source: ByteSource;
  try {
    source = input instanceof Uint8Array ? bytesSource(input, options.name) : input;
  } catch (e) {
    return unreadable(options, `the input is not a byte source: ${String(e)}`);
  }
  if (source.bytes === undefined && source.readSync === undefined) {
    return unreadable(options, "this source reads asynchronously: use validateCheckpointAsync");
  }
  let ctx: Ctx;
  try {
    ctx = createContext(options, validateNested);
  } catch (e) {
    return unreadable(options, `invalid option: ${describeError(e)}`);
  }
  let container: ContainerKind = "unknown";
  let layout: CheckpointLayout | undefined;
  let compression: "none" | "gzip" = "none";
  try {
    const result = validateTop(ctx, source);
    container = result.container;
    layout = result.layout;
    compression = result.compression;
  } catch (e) {
    if (isTorchsaveError(e) && e.code === "io") return unreadable(options, e.reason);
    report(ctx, "internal-error", `validation stopped: ${describeError(e)}`);
  }
  let weightsOnly: WeightsOnlyVerdict | undefined;
  if (ctx.options.weightsOnly !== undefined) {
    weightsOnly = verdictFor(ctx, ctx.options.weightsOnly);
    if (weightsOnly.accepted) report(ctx, "weights-only-accepted", `torch.load(weights_only=True) (torch ${ctx.options.weightsOnly}) accepts this file`);
    for (const b of weightsOnly.blockers) {
      ctx.sink.add(b.code, b.message, { ...(b.byteOffset === undefined ? {} : { byteOffset: b.byteOffset }), ...(b.record === undefined ? {} : { record: b.record }) });
    }
  }
  return {
    ...(options.name === undefined ? {} : { file: options.name }),
    readable: true, container, ...(layout === undefined ? {} : { layout }), compression, bytes: source.size,
    findings: ctx.sink.items, counts: countSeverities(ctx.sink.items), imports: [...ctx.imports.values()], tensors: ctx.tensors,
    ...(weightsOnly === undefined ? {} : { weightsOnly }),
    ...(options.weightsOnlyTargets === undefined ? {} : { weightsOnlyVerdicts: options.weightsOnlyTargets.map((t) => verdictFor(ctx, t)) }),
  };
}

/** One target's weights_only answer from the scan's inputs and the container-level refusals that apply to it. */
function verdictFor(ctx: Ctx, target: TorchTarget): WeightsOnlyVerdict {
  const policy = withSafeGlobals(WEIGHTS_ONLY_POLICIES[target], ctx.options.safeGlobals);
  const refusal = ctx.weightsOnlyRefusals.find((r) => r.unless === undefined || policy[r.unless] === "refuse")?.blocker;
  return weightsOnlyVerdict(ctx.weightsOnlyJit && policy.torchscript === "jit-load" ? [] : ctx.weightsOnlyInputs, policy, refusal);
}

/** Largest asynchronous-only input (a Blob, a remote source) buffered for validation: 4 GiB. */
export const MAX_ASYNC_BUFFER = 4 * 2 ** 30;

/**
 * {@link validateCheckpoint} for any input, including Blobs and asynchronous sources (buffered
 * whole, up to {@link MAX_ASYNC_BUFFER} bytes). Never rejects.
 */
export async function validateCheckpointAsync(input: Uint8Array | ByteSource | BlobLike, options: ValidateOptions = {}): Promise<ValidationReport> {
  try {
    const source: ByteSource = input instanceof Uint8Array ? bytesSource(input, options.name) : "read" in input ? input : blobSource(input, options.name);
    if (source.bytes !== undefined || source.readSync !== undefined) return validateCheckpoint(source, options);
    if (source.size > MAX_ASYNC_BUFFER) return unreadable(options, `a ${source.size}-byte asynchronous source is larger than the ${MAX_ASYNC_BUFFER} bytes buffered`);
    return validateCheckpoint(await source.read(0, source.size), options);
  } catch (e) {
    return unreadable(options, describeError(e));
  }
}

function unreadable(options: ValidateOptions, reason: string): ValidationReport {
  const findings: Finding[] = [{ severity: "error", code: "unreadable", message: reason, where: {} }];
  return {
    ...(options.name === undefined ? {} : { file: options.name }),
    readable: false, container: "unknown", compression: "none", bytes: 0, findings, counts: countSeverities(findings), imports: [], tensors: [],
  };
}

function describeError(e: unknown): string {
  if (isTorchsaveError(e)) return `${e.code}: ${e.reason}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

interface TopResult {
  container: ContainerKind;
  layout: CheckpointLayout | undefined;
  compression: "none" | "gzip";
}

function head(source: ByteSource): Uint8Array {
  const n = Math.min(HEAD, source.size);
  return source.bytes?.subarray(0, n) ?? source.readSync!(0, n);
}

/** The top-level pass: container checks, object graph, value scan, training state. */
function validateTop(ctx: Ctx, source: ByteSource, gunzipped = false): TopResult {
  const container = detectContainer(head(source), source.size);
  const result: TopResult = { container, layout: undefined, compression: gunzipped ? "gzip" : "none" };
  let zip: ZipInspection | undefined;
  switch (container) {
    case "gzip": {
      refuseWeightsOnly(ctx, "torch.load does not decompress gzip: it fails on the first byte");
      if (gunzipped) {
        report(ctx, "gzip-nested", "a gzip stream inside a gzip stream is not inflated further");
        return result;
      }
      const inner = guard(ctx, () => inspectGzip(ctx, source));
      if (inner === undefined) return result;
      const innerCtx: Ctx = { ...ctx, prefix: "gunzipped", weightsOnlyInputs: [], weightsOnlyRefusals: [] };
      const innerResult = validateTop(innerCtx, bytesSource(inner, ctx.options.name), true);
      return { container, layout: innerResult.layout, compression: "gzip" };
    }
    case "zip":
      zip = guard(ctx, () => inspectZip(ctx, source));
      if (zip?.kind === "torchscript") {
        refuseWeightsOnly(ctx, "torch.load refuses TorchScript archives with weights_only=True", "torchscript");
        ctx.weightsOnlyJit = true; // torch 1.13 hands TorchScript to torch.jit.load
      } else if (zip === undefined || zip.kind === "npz" || zip.kind === "other") {
        refuseWeightsOnly(ctx, zip === undefined ? "the zip directory is unusable" : "a zip without data.pkl is not a torch.save file");
      }
      break;
    case "legacy":
      guard(ctx, () => inspectLegacy(ctx, source));
      break;
    case "pickle": {
      refuseWeightsOnly(ctx, "a plain pickle is not a torch.save file: torch.load expects the legacy magic number first");
      guard(ctx, () => scanMaybeJoblib(ctx, whole(ctx, source)));
      break;
    }
    case "tar":
      refuseWeightsOnly(ctx, "torch.load refuses files in the legacy .tar format with weights_only=True", "tar");
      guard(ctx, () => inspectTar(ctx, source));
      break;
    case "npy":
      refuseWeightsOnly(ctx, "a numpy .npy file is not a torch.save file");
      guard(ctx, () => inspectNpyBytes(ctx, whole(ctx, source), undefined, true));
      return result;
    case "safetensors":
    case "json":
    case "msgpack":
      refuseWeightsOnly(ctx, `${container} is not a torch.save file`);
      report(ctx, "not-a-checkpoint", `a ${container} file: it holds no pickle, so nothing in it can execute code (convert it with \`torchsave convert\`)`);
      // Parsed whole: a truncated or malformed file is an error; its numbers are checked for NaN/Inf.
      guard(ctx, () => validateDataFormat(ctx, source));
      return result;
    default: {
      refuseWeightsOnly(ctx, "not a torch.save file");
      if (source.size === 0) {
        report(ctx, "unknown-format", gunzipped ? "the gzip stream inflates to nothing (0 bytes)" : "the file is empty (0 bytes)");
        return result;
      }
      // Detection reads only the head: a protocol 0 pickle whose first string is longer than
      // that looks like nothing. A walk to STOP from the first byte settles it.
      const bytes = whole(ctx, source, MAX_CARVE_BYTES);
      const probe = scanPickle(bytes, 0, { maxOps: Math.min(ctx.budget.opsLeft, 10_000_000) });
      if (probe.complete && probe.error === undefined) {
        // The reader detects from the head too, so the object graph is not rebuilt here.
        guard(ctx, () => scanStream(ctx, bytes, 0, { persistentIds: "any" }));
        return { ...result, container: "pickle" };
      }
      report(ctx, "unknown-format", "not a container torchsave recognises; searched the bytes for embedded pickles");
      guard(ctx, () => carve(ctx, bytes, 0, bytes.length, undefined));
      return result;
    }
  }
  if (container === "zip" && (zip === undefined || zip.kind === "npz" || zip.kind === "other")) {
    if (zip !== undefined) guard(ctx, () => streamZipRecords(ctx, zip!.zip, undefined));
    return result;
  }

  // The object graph, rebuilt inertly by the reader.
  const checkpoint = guard(ctx, () => readModel(ctx, source));
  if (checkpoint === undefined) {
    if (zip !== undefined) guard(ctx, () => streamZipRecords(ctx, zip!.zip, undefined));
    return result;
  }
  result.layout = checkpoint.layout;
  const plan: ValuePlan | undefined = guard(ctx, () => planValueScan(ctx, checkpoint));
  if (zip !== undefined) guard(ctx, () => streamZipRecords(ctx, zip!.zip, plan));
  if (plan !== undefined) {
    guard(ctx, () => streamFileTargets(checkpoint.source, plan.byRecord.get(FILE_RECORD)));
    guard(ctx, () => finishValueScan(ctx, plan));
  }
  if (ctx.options.scanValues) guard(ctx, () => scanScalars(ctx, checkpoint.root));
  if (ctx.options.training) guard(ctx, () => checkTrainingState(ctx, checkpoint.root));
  return result;
}

/** Largest plain pickle or npy file read into memory whole: 2 GiB. */
const MAX_WHOLE_BYTES = 2 ** 31;

/** The input as bytes, up to `max` (a plain pickle, an npy or an unknown file is checked in memory). */
function whole(ctx: Ctx, source: ByteSource, max = MAX_WHOLE_BYTES): Uint8Array {
  if (source.size <= max) return source.bytes ?? source.readSync!(0, source.size);
  report(ctx, "validation-limit", `only the first ${max} of ${source.size} bytes were read and checked`);
  return source.bytes?.subarray(0, max) ?? source.readSync!(0, max);
}

/** A container-level weights_only refusal (for every target, or those whose policy's `unless` field is "refuse"). */
function refuseWeightsOnly(ctx: Ctx, message: string, unless?: "torchscript" | "tar"): void {
  if (ctx.depth === 0) ctx.weightsOnlyRefusals.push({ blocker: { code: "weights-only-format", message }, ...(unless === undefined ? {} : { unless }) });
}

/** Runs a step; a torchsave error becomes a read-failed finding, anything else an internal-error one. */
function guard<T>(ctx: Ctx, step: () => T): T | undefined {
  try {
    return step();
  } catch (e) {
    if (isTorchsaveError(e)) {
      if (e.code === "io") throw e;
      const where = locationOf(e);
      // The scan already reported a malformed pickle at this spot; the reader's error says the same.
      const record = recordName(ctx, where.record);
      const known = ctx.sink.items.some((f) => (f.code === "pickle-invalid" || f.code === "pickle-truncated") && f.where.byteOffset === where.byteOffset && f.where.record === record);
      if (!known) report(ctx, "read-failed", `${e.code}: ${e.reason}`, where);
    } else {
      report(ctx, "internal-error", `a check failed unexpectedly: ${describeError(e)}`);
    }
    return undefined;
  }
}

function locationOf(e: TorchsaveError): { byteOffset?: number; record?: string; keyPath?: readonly (string | number)[] } {
  return {
    ...(e.offset === undefined ? {} : { byteOffset: e.offset }),
    ...(e.entry === undefined ? {} : { record: e.entry }),
    ...(e.path === undefined ? {} : { keyPath: e.path }),
  };
}

/** Rebuilds the object graph with the reader (inert: nothing is imported or called). */
function readModel(ctx: Ctx, source: ByteSource): Checkpoint {
  const options = {
    ...(ctx.options.name === undefined ? {} : { name: ctx.options.name }),
    ...(ctx.options.limits === undefined ? {} : { limits: ctx.options.limits }),
  };
  return openCheckpointSync(source, options);
}

/** Validates bytes nested in the file (integrity and security only). */
function validateNested(ctx: Ctx, bytes: Uint8Array, format: "torch-file" | "pickle"): void {
  const source = bytesSource(bytes);
  const container = detectContainer(bytes.subarray(0, HEAD), bytes.length);
  switch (container) {
    case "zip":
      guard(ctx, () => {
        const zip = inspectZip(ctx, source);
        if (zip !== undefined) streamZipRecords(ctx, zip.zip, undefined);
      });
      return;
    case "legacy":
      guard(ctx, () => inspectLegacy(ctx, source));
      return;
    case "tar":
      refuseWeightsOnly(ctx, "torch.load refuses files in the legacy .tar format with weights_only=True", "tar");
      guard(ctx, () => inspectTar(ctx, source));
      return;
    case "gzip":
      report(ctx, "gzip-nested", "gzip bytes nested in a pickle are not inflated");
      return;
    default:
      // A loader unpickles whatever it is given: scan it as a pickle stream (torch.load of a
      // non-zip file reads the legacy header pickles first, which the stream scan also covers).
      guard(ctx, () => scanStream(ctx, bytes, 0, { persistentIds: format === "torch-file" ? "legacy" : "any" }));
  }
}

