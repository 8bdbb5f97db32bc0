/**
 * The state one validation run shares between its steps: options with defaults applied, the
 * finding sink, the imported-globals registry, tensor value statistics, the opcode budget, and
 * the pickles the weights_only emulation will judge. Created per call; nothing is global.
 */
import type { Crc32Fn } from "../bytes/crc32.js";
import { crc32 } from "../bytes/crc32.js";
import type { KeyPath } from "../errors.js";
import type { DecodeLimits } from "../pickle/decoder.js";
import type { DTypeName } from "../torch/index.js";
import { parseAllowRule, type AllowList, type AllowRule, type AllowTarget } from "./allow-list.js";
import type { GlobalClass } from "./classify-global.js";
import type { DangerKind, ScannerSource } from "./dangerous-globals.js";
import { createFindingSink, DEFAULT_MAX_FINDINGS_PER_CODE, type FindingLocation, type FindingSink } from "./finding.js";
import type { FindingCode } from "./rules.js";
import { DEFAULT_MAX_SCAN_OPS, type GlobalSpelling } from "./scan-pickle.js";
import type { WeightsOnlyBlocker, WeightsOnlyInput } from "./weights-only.js";
import { DEFAULT_TORCH_TARGET, type TorchTarget } from "./weights-only-policy.js";

/** Options for {@link validateCheckpoint}; every field is optional. */
export interface ValidateOptions {
  /** A name for the report and messages (a file name). */
  readonly name?: string;
  /**
   * Emulate `torch.load(weights_only=True)` and report whether it accepts the file (and what stops
   * it). A {@link TorchTarget} names the torch modelled ("1.13", "2.6", "current"); `true` means
   * {@link DEFAULT_TORCH_TARGET} ("current"). Default false.
   */
  readonly weightsOnly?: boolean | TorchTarget;
  /**
   * More torch targets judged from the same scan (`report.weightsOnlyVerdicts`, in this order): one
   * pass gives, say, the torch 2.6 and 1.13 answers. Default none.
   */
  readonly weightsOnlyTargets?: readonly TorchTarget[];
  /**
   * Globals ("module.name") the caller allows as `torch.serialization.add_safe_globals` would, for
   * the weights_only emulation of torch >= 2.6 targets (torch 1.13 has no such function: ignored
   * there). Blocked modules stay blocked. Default none.
   */
  readonly safeGlobals?: readonly string[];
  /** CRC-32 implementation (Node's `zlib.crc32` is faster). Default: torchsave's own. */
  readonly crc32?: Crc32Fn;
  /** Check every zip record's CRC-32. Default true. */
  readonly checkCrc?: boolean;
  /** Count NaN/Inf in every floating-point tensor. Default true. */
  readonly scanValues?: boolean;
  /** Report optimizer/model consistency and what a resume would lose. Default true. */
  readonly training?: boolean;
  /** How deep pickles nested in bytes are followed. Default 3. */
  readonly maxNestedDepth?: number;
  /** Findings kept per code. Default {@link DEFAULT_MAX_FINDINGS_PER_CODE}. */
  readonly maxFindingsPerCode?: number;
  /** Opcodes the security scan walks in total. Default 50 million. */
  readonly maxScanOps?: number;
  /** Largest size a gzip input or a deflated record is inflated to. Default 2 GiB. */
  readonly maxInflatedBytes?: number;
  /** Inflated bytes walked at a time when a gzip stream is larger than maxInflatedBytes. Default 64 MiB. */
  readonly gzipScanWindow?: number;
  /** Largest non-contiguous tensor gathered for the NaN scan. Default 256 MiB. */
  readonly maxGatherBytes?: number;
  /** Bounds for the pickle decoder that rebuilds the object graph. */
  readonly limits?: Partial<DecodeLimits>;
  /**
   * Extra allow-list rules: `module.name` or globs (`mypkg.*` within one component, `mypkg.**`
   * below it), as text or parsed by `parseAllowRule`/`parseAllowFile`. A global outside the
   * allow-list is an error. Default none.
   */
  readonly allow?: readonly (string | AllowRule)[];
  /** Whose weights_only allow-list the verdict starts from. Default: the weightsOnly version, else "current". */
  readonly allowTarget?: AllowTarget;
}

/** Default {@link ValidateOptions.maxInflatedBytes}: 2 GiB (the inflated bytes are held in memory). */
export const DEFAULT_VALIDATE_MAX_INFLATED = 2 * 2 ** 30;
/** Default {@link ValidateOptions.maxNestedDepth}. */
export const DEFAULT_MAX_NESTED_DEPTH = 3;
/** Default {@link ValidateOptions.maxGatherBytes}: 256 MiB. */
export const DEFAULT_MAX_GATHER_BYTES = 256 * 2 ** 20;

/** {@link ValidateOptions} with every default applied. */
export interface ResolvedOptions {
  readonly name: string | undefined;
  readonly weightsOnly: TorchTarget | undefined;
  readonly safeGlobals: readonly string[];
  readonly crc32: Crc32Fn;
  readonly checkCrc: boolean;
  readonly scanValues: boolean;
  readonly training: boolean;
  readonly maxNestedDepth: number;
  readonly maxInflatedBytes: number;
  readonly maxGatherBytes: number;
  readonly gzipScanWindow: number;
  readonly limits: Partial<DecodeLimits> | undefined;
  readonly allow: AllowList;
}

/** One imported global, aggregated over its uses in one record. */
export interface ImportedGlobal {
  /** As written in the pickle. */
  readonly module: string;
  readonly name: string;
  /** Python 3 "module.name", what the classification is about. */
  readonly key: string;
  readonly class: GlobalClass;
  readonly reason: string;
  readonly kind?: DangerKind;
  readonly sources?: readonly ScannerSource[];
  /** How many times the pickle imports it. */
  count: number;
  /** The first use. */
  readonly where: FindingLocation;
  /** The allow-list rule that admitted it, when on the allow-list. */
  readonly rule?: string;
  /** The opcodes that import it, and how the name was spelled. */
  readonly opcodes: string[];
  readonly spellings: GlobalSpelling[];
}

/** NaN/Inf counts for one floating-point tensor. */
export interface TensorValueStats {
  readonly path: KeyPath;
  readonly dtype: DTypeName;
  readonly numel: number;
  nan: number;
  posInf: number;
  negInf: number;
  /** False when the values could not be read (see the tensor-scan-skipped finding). */
  scanned: boolean;
}

/** Validates bytes found inside the file (a nested pickle or torch file) into a nested context. */
export type NestedValidator = (ctx: Ctx, bytes: Uint8Array, format: "torch-file" | "pickle") => void;

/** The shared state of one validation run (see the module comment). */
export interface Ctx {
  readonly options: ResolvedOptions;
  /** How nested content is validated (injected by the entry point, to keep the modules acyclic). */
  readonly validateNested: NestedValidator;
  readonly sink: FindingSink;
  readonly imports: Map<string, ImportedGlobal>;
  readonly tensors: TensorValueStats[];
  /** The work budget, shared by reference with nested contexts. */
  readonly budget: { opsLeft: number; reported: boolean };
  /** Nesting depth: 0 for the file itself. */
  readonly depth: number;
  /** Record prefix for nested content ("data.pkl > bytes@120"), undefined at the top. */
  readonly prefix: string | undefined;
  /** Pickles torch would unpickle with weights_only, collected at the top level. */
  readonly weightsOnlyInputs: WeightsOnlyInput[];
  /**
   * Container-level reasons torch.load refuses the file with weights_only, in the order found (the
   * first that applies to a target is its reason); `unless` names a policy field whose non-"refuse"
   * value lets that target through (TorchScript, the tar format).
   */
  readonly weightsOnlyRefusals: { readonly blocker: WeightsOnlyBlocker; readonly unless?: "torchscript" | "tar" }[];
  /** A TorchScript archive: a target that hands it to torch.jit.load unpickles none of its pickles restrictedly. */
  weightsOnlyJit: boolean;
}

/** Applies the documented defaults to {@link ValidateOptions}. */
export function resolveOptions(options: ValidateOptions): ResolvedOptions {
  const wo = options.weightsOnly;
  return {
    name: options.name,
    weightsOnly: wo === true ? DEFAULT_TORCH_TARGET : wo === false || wo === undefined ? undefined : wo,
    safeGlobals: options.safeGlobals ?? [],
    crc32: options.crc32 ?? crc32,
    checkCrc: options.checkCrc ?? true,
    scanValues: options.scanValues ?? true,
    training: options.training ?? true,
    maxNestedDepth: options.maxNestedDepth ?? DEFAULT_MAX_NESTED_DEPTH,
    maxInflatedBytes: options.maxInflatedBytes ?? DEFAULT_VALIDATE_MAX_INFLATED,
    maxGatherBytes: options.maxGatherBytes ?? DEFAULT_MAX_GATHER_BYTES,
    gzipScanWindow: options.gzipScanWindow ?? 64 * 2 ** 20,
    limits: options.limits,
    allow: {
      target: options.allowTarget ?? (wo === "1.13" ? "1.13" : "current"),
      rules: (options.allow ?? []).map((r) => typeof r === "string" ? parseAllowRule(r) : r),
    },
  };
}

/** A fresh context for one run; `validateNested` is how nested content is validated. */
export function createContext(options: ValidateOptions, validateNested: NestedValidator): Ctx {
  return {
    options: resolveOptions(options),
    validateNested,
    sink: createFindingSink(options.maxFindingsPerCode ?? DEFAULT_MAX_FINDINGS_PER_CODE),
    imports: new Map(),
    tensors: [],
    budget: { opsLeft: options.maxScanOps ?? DEFAULT_MAX_SCAN_OPS, reported: false },
    depth: 0,
    prefix: undefined,
    weightsOnlyInputs: [],
    weightsOnlyRefusals: [],
    weightsOnlyJit: false,
  };
}

/** A context for content nested in `record` (already prefixed), sharing the sink, registry and budget. */
export function nestedContext(ctx: Ctx, record: string): Ctx {
  return { ...ctx, depth: ctx.depth + 1, prefix: record, weightsOnlyInputs: [], weightsOnlyRefusals: [], weightsOnlyJit: false };
}

/** The record name findings use for `record` in this context (prefixed when nested). */
export function recordName(ctx: Ctx, record: string | undefined): string | undefined {
  if (ctx.prefix === undefined) return record;
  return record === undefined ? ctx.prefix : `${ctx.prefix} > ${record}`;
}

/** Adds a finding located in `record` (prefixed when nested). */
export function report(ctx: Ctx, code: FindingCode, message: string, where: FindingLocation = {}): void {
  const record = recordName(ctx, where.record);
  ctx.sink.add(code, message, record === undefined ? where : { ...where, record });
}
