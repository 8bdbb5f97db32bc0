/**
 * `diffCheckpoints`: two checkpoints (or any two values of the torch model) matched key path by key
 * path, every tensor pair compared element by element in float64, plain values (epoch, lr, step)
 * compared as values. Storages are read lazily and released after their pair is compared, so two
 * large checkpoints are never resident at once.
 */
import type { KeyPath } from "../errors.js";
import { ConvertError } from "../errors.js";
import type { Checkpoint, DTypeName, NdArray, Tensor, TorchValue } from "../torch/index.js";
import type { ArrayComparison } from "./compare-arrays.js";
import { compareArrays } from "./compare-arrays.js";
import { describeArray, elementBytes, elementBytesSync, unsupportedReason } from "./elements.js";
import type { Leaf, PlainValue } from "./leaves.js";
import { leavesOf, pathKey, plainOf, sameValue } from "./leaves.js";
import type { OptimizerNames } from "./names.js";
import { nameOptimizerState, normalizePath, optimizerSlot, WRAPPER_PREFIXES } from "./names.js";

/** Options of {@link diffCheckpoints}. */
export interface DiffOptions {
  /** Absolute tolerance: elements with |a − b| ≤ atol + rtol·|b| count as equal. Default 0. */
  readonly atol?: number;
  /** Relative tolerance (see `atol`). Default 0: equal means exactly equal. */
  readonly rtol?: number;
  /** Wrapper prefixes ignored when matching keys. Default {@link WRAPPER_PREFIXES}; `[]` matches keys exactly. */
  readonly prefixes?: readonly string[];
  /** A prefix difference alone still makes the files unequal unless this is true. Default false. */
  readonly ignorePrefix?: boolean;
  /** Drop storage bytes this call loaded once their pair is compared (bounded memory). Default true. */
  readonly release?: boolean;
}

export const DEFAULT_DIFF_TOLERANCE = { atol: 0, rtol: 0 } as const;

/** One tensor present in both inputs. dtype, shape, nan and inf are `[a, b]` pairs. */
export interface DiffEntry {
  /** The key path in A, as `torchsave tensors --json` spells it. */
  readonly path: KeyPath;
  readonly dtype: readonly [string, string];
  readonly shape: readonly [readonly number[], readonly number[]];
  readonly identical: boolean;
  /** The metrics are null when the shapes differ or a dtype has no numeric values (the reason is in `note`). */
  readonly maxAbs: number | null;
  readonly meanAbs: number | null;
  /** ‖a − b‖₂ / ‖a‖₂. */
  readonly relL2: number | null;
  readonly cosine: number | null;
  readonly differing: number | null;
  readonly nan: readonly [number | null, number | null];
  readonly inf: readonly [number | null, number | null];
  /** Optimizer state: the parameter it belongs to and the slot (`exp_avg` of `layer1.weight`). */
  readonly param?: { readonly name: string; readonly slot: string };
  /** Why the metrics are missing, or what was compared (a dtype change compares values in float64). */
  readonly note?: string;
}

/** A plain value that differs, or a tensor on one side facing a plain value on the other. */
export interface DiffValue {
  readonly path: KeyPath;
  readonly a: PlainValue;
  readonly b: PlainValue;
}

/** The wrapper prefix one side has where the other has another (or none). */
export interface DiffPrefix {
  readonly a: string;
  readonly b: string;
  /** Keys matched only once the prefix was stripped. */
  readonly keys: number;
}

/** What {@link diffCheckpoints} returns: the object `torchsave diff --json` prints. */
export interface DiffReport {
  /** No key only on one side, no dtype/shape change, every tensor within tolerance, every value the same. */
  readonly equal: boolean;
  readonly onlyA: KeyPath[];
  readonly onlyB: KeyPath[];
  /** The wrapper prefix difference, null when keys match as they are. */
  readonly prefix: DiffPrefix | null;
  /** Every tensor present in both, largest relL2 first (shape/dtype changes first, identical last). */
  readonly changed: DiffEntry[];
  readonly values: DiffValue[];
  /** Sentences for people: the prefix, the optimizer naming (or why it is ambiguous), tolerances. */
  readonly notes: string[];
}

type Pair = { readonly a: Leaf; readonly b: Leaf };

/** Matches the leaves of both sides by path, ignoring wrapper prefixes when that matches more keys. */
function matchLeaves(la: Leaf[], lb: Leaf[], prefixes: readonly string[]): { pairs: Pair[]; onlyA: Leaf[]; onlyB: Leaf[]; prefix: DiffPrefix | null } {
  const exact = match(la, lb, (p) => pathKey(p));
  if (prefixes.length === 0 || (exact.onlyA.length === 0 && exact.onlyB.length === 0)) return { ...exact, prefix: null };
  const norm = (p: KeyPath) => pathKey(normalizePath(p, prefixes));
  const unique = (ls: Leaf[]) => new Set(ls.map((l) => norm(l.path))).size === ls.length;
  if (!unique(la) || !unique(lb)) return { ...exact, prefix: null };
  const loose = match(la, lb, norm);
  if (loose.pairs.length <= exact.pairs.length) return { ...exact, prefix: null };
  // The prefix pair that most renamed keys show.
  const counts = new Map<string, number>();
  for (const { a, b } of loose.pairs) {
    const ka = a.path.at(-1);
    const kb = b.path.at(-1);
    if (typeof ka !== "string" || typeof kb !== "string" || ka === kb) continue;
    const pa = ka.length > kb.length ? ka.slice(0, ka.length - kb.length) : "";
    const pb = kb.length > ka.length ? kb.slice(0, kb.length - ka.length) : "";
    const k = JSON.stringify([pa, pb]);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const best = [...counts].sort((x, y) => y[1] - x[1])[0];
  const [pa, pb] = best === undefined ? ["", ""] : (JSON.parse(best[0]) as [string, string]);
  return { ...loose, prefix: { a: pa, b: pb, keys: best?.[1] ?? 0 } };
}

function match(la: Leaf[], lb: Leaf[], key: (p: KeyPath) => string): { pairs: Pair[]; onlyA: Leaf[]; onlyB: Leaf[] } {
  const byKey = new Map<string, Leaf>();
  for (const l of lb) byKey.set(key(l.path), l);
  const pairs: Pair[] = [];
  const onlyA: Leaf[] = [];
  const used = new Set<Leaf>();
  for (const a of la) {
    const b = byKey.get(key(a.path));
    if (b === undefined || used.has(b)) onlyA.push(a);
    else {
      used.add(b);
      pairs.push({ a, b });
    }
  }
  return { pairs, onlyA, onlyB: lb.filter((l) => !used.has(l)) };
}

const rootOf = (x: Checkpoint | TorchValue): TorchValue =>
  typeof x === "object" && x !== null && !("kind" in x) && "root" in x && "storages" in x ? (x as Checkpoint).root : (x as TorchValue);

/** Everything but the element comparisons: matching, values, optimizer names. */
interface Plan {
  readonly pairs: { readonly a: Tensor | NdArray; readonly b: Tensor | NdArray; readonly path: KeyPath; readonly param?: { name: string; slot: string } }[];
  readonly values: DiffValue[];
  readonly onlyA: KeyPath[];
  readonly onlyB: KeyPath[];
  readonly prefix: DiffPrefix | null;
  readonly notes: string[];
}

function plan(a: Checkpoint | TorchValue, b: Checkpoint | TorchValue, options: DiffOptions): Plan {
  const ra = rootOf(a);
  const rb = rootOf(b);
  const m = matchLeaves(leavesOf(ra), leavesOf(rb), options.prefixes ?? WRAPPER_PREFIXES);
  const notes: string[] = [];
  if (m.prefix !== null) {
    notes.push(`keys match once the prefix is changed: A has ${JSON.stringify(m.prefix.a)} where B has ${JSON.stringify(m.prefix.b)} (${m.prefix.keys} keys; listed once, by A's path)`);
  }
  const names: OptimizerNames | undefined = nameOptimizerState(ra) ?? nameOptimizerState(rb);
  if (names !== undefined) notes.push(names.note);
  const pairs: Plan["pairs"][number][] = [];
  const values: DiffValue[] = [];
  for (const { a: x, b: y } of m.pairs) {
    if (x.kind === "array" && y.kind === "array") {
      const param = optimizerSlot(x.path, names);
      pairs.push({ a: x.array, b: y.array, path: x.path, ...(param === undefined ? {} : { param: { name: param.param, slot: param.slot } }) });
    } else if (x.kind === "value" && y.kind === "value") {
      if (!sameValue(x.value, y.value)) values.push({ path: x.path, a: x.value, b: y.value });
    } else {
      values.push({ path: x.path, a: x.kind === "value" ? x.value : plainOf(x.array, 0), b: y.kind === "value" ? y.value : plainOf(y.array, 0) });
    }
  }
  return { pairs, values, onlyA: m.onlyA.map((l) => l.path), onlyB: m.onlyB.map((l) => l.path), prefix: m.prefix, notes };
}

function entryOf(p: Plan["pairs"][number], cmp: ArrayComparison | undefined, note: string | undefined): DiffEntry {
  const da = describeArray(p.a);
  const db = describeArray(p.b);
  const base = { path: p.path, dtype: [da.dtype, db.dtype] as const, shape: [da.shape, db.shape] as const, ...(p.param === undefined ? {} : { param: p.param }) };
  if (cmp === undefined) {
    return { ...base, identical: false, maxAbs: null, meanAbs: null, relL2: null, cosine: null, differing: null, nan: [null, null], inf: [null, null], ...(note === undefined ? {} : { note }) };
  }
  return { ...base, ...cmp, ...(note === undefined ? {} : { note }) };
}

/** Why a pair cannot be compared element-wise, or undefined when it can. */
function incomparable(a: Tensor | NdArray, b: Tensor | NdArray): string | undefined {
  const da = describeArray(a);
  const db = describeArray(b);
  if (da.shape.length !== db.shape.length || da.shape.some((d, i) => d !== db.shape[i])) return "shape changed";
  const why = unsupportedReason(a) ?? unsupportedReason(b);
  return why === undefined ? undefined : `not compared: ${why}`;
}

function finish(p: Plan, entries: DiffEntry[], options: DiffOptions): DiffReport {
  const order = (e: DiffEntry): number => (e.relL2 === null ? (e.identical ? -1 : Infinity) : e.identical ? -1 : e.relL2);
  entries.sort((x, y) => order(y) - order(x) || (y.maxAbs ?? 0) - (x.maxAbs ?? 0));
  const tolerant = (options.atol ?? 0) > 0 || (options.rtol ?? 0) > 0;
  const notes = [...p.notes];
  if (tolerant) notes.push(`elements equal within atol ${options.atol ?? 0}, rtol ${options.rtol ?? 0} (|a − b| ≤ atol + rtol·|b|)`);
  const tensorsEqual = entries.every((e) => e.dtype[0] === e.dtype[1] && e.differing === 0 && e.note === undefined);
  const equal = p.onlyA.length === 0 && p.onlyB.length === 0 && p.values.length === 0 && tensorsEqual && (p.prefix === null || options.ignorePrefix === true);
  return { equal, onlyA: p.onlyA, onlyB: p.onlyB, prefix: p.prefix, changed: entries, values: p.values, notes };
}

function checkOptions(options: DiffOptions): void {
  for (const k of ["atol", "rtol"] as const) {
    const v = options[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new ConvertError("invalid-argument", `${k} must be a finite number ≥ 0, not ${v}`);
  }
}

/** The storage a tensor would load, when loading it is this call's doing. */
function loadedHere(x: Tensor | NdArray): { data?: Uint8Array; from?: unknown } | undefined {
  return x.kind === "tensor" && x.storage !== undefined && x.storage.data === undefined && x.storage.from !== undefined ? x.storage : undefined;
}

function dtypes(p: Plan["pairs"][number]): [DTypeName, DTypeName] {
  return [describeArray(p.a).dtype, describeArray(p.b).dtype];
}

/**
 * Compares two checkpoints key path by key path. Tensors in both are compared element-wise in
 * float64 (dtypes may differ: a float32 → bfloat16 conversion is measured, not refused); tensors
 * and values on one side only are listed; keys that match once a wrapper prefix (`module.`,
 * `model.`, `_orig_mod.`) is stripped are matched and the prefix is reported once. Optimizer state
 * is named by parameter when the file holds the model's state_dict beside it.
 * Lazy storages (file and Blob sources) are loaded one pair at a time and released afterwards.
 * @throws ConvertError `invalid-argument` for a negative or non-finite tolerance; CheckpointError
 *   when a storage cannot be read.
 */
export async function diffCheckpoints(a: Checkpoint | TorchValue, b: Checkpoint | TorchValue, options: DiffOptions = {}): Promise<DiffReport> {
  checkOptions(options);
  const p = plan(a, b, options);
  const tol = { atol: options.atol ?? 0, rtol: options.rtol ?? 0 };
  const entries: DiffEntry[] = [];
  for (const pair of p.pairs) {
    const why = incomparable(pair.a, pair.b);
    if (why !== undefined) {
      entries.push(entryOf(pair, undefined, why));
      continue;
    }
    const loaded = options.release === false ? [] : [loadedHere(pair.a), loadedHere(pair.b)];
    const [da, db] = dtypes(pair);
    const cmp = compareArrays(await elementBytes(pair.a), da, await elementBytes(pair.b), db, tol);
    for (const s of loaded) if (s !== undefined) delete s.data;
    entries.push(entryOf(pair, cmp, da === db ? undefined : `values compared in float64 across dtypes ${da} → ${db}`));
  }
  return finish(p, entries, options);
}

/** {@link diffCheckpoints} for in-memory and `readSync` sources. */
export function diffCheckpointsSync(a: Checkpoint | TorchValue, b: Checkpoint | TorchValue, options: DiffOptions = {}): DiffReport {
  checkOptions(options);
  const p = plan(a, b, options);
  const tol = { atol: options.atol ?? 0, rtol: options.rtol ?? 0 };
  const entries: DiffEntry[] = [];
  for (const pair of p.pairs) {
    const why = incomparable(pair.a, pair.b);
    if (why !== undefined) {
      entries.push(entryOf(pair, undefined, why));
      continue;
    }
    const loaded = options.release === false ? [] : [loadedHere(pair.a), loadedHere(pair.b)];
    const [da, db] = dtypes(pair);
    const cmp = compareArrays(elementBytesSync(pair.a), da, elementBytesSync(pair.b), db, tol);
    for (const s of loaded) if (s !== undefined) delete s.data;
    entries.push(entryOf(pair, cmp, da === db ? undefined : `values compared in float64 across dtypes ${da} → ${db}`));
  }
  return finish(p, entries, options);
}
