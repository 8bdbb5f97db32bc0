/**
 * Values that hold no pickle but still hold numbers: safetensors, JSON (lossless and plain) and
 * msgpack are parsed completely (a truncated or malformed one is a `read-failed` error, not "ok"),
 * and every floating-point tensor and Python float scalar (a `loss` of NaN) is checked for NaN/Inf,
 * as for checkpoints.
 */
import { bytesSource } from "../bytes/source.js";
import type { ByteSource } from "../bytes/source.js";
import { readAnySync } from "../convert/index.js";
import type { KeyPath } from "../errors.js";
import { pyKind } from "../pickle/value.js";
import type { PyDict, PyObject } from "../pickle/value.js";
import type { TorchHost, TorchValue } from "../torch/index.js";
import { isTensor, tensorExtent } from "../torch/index.js";
import { report, type Ctx, type TensorValueStats } from "./context.js";
import { nonFiniteCounter } from "./nonfinite.js";
import { distinctTensors, finishValueScan, type ValuePlan } from "./value-scan.js";

/**
 * Parses a safetensors, JSON or msgpack input whole and scans its values. Throws the reader's
 * error (the caller's guard turns it into a `read-failed` finding).
 */
export function validateDataFormat(ctx: Ctx, source: ByteSource): void {
  const plainSource: ByteSource = source.bytes !== undefined || source.readSync !== undefined ? source : bytesSource(new Uint8Array(0));
  const input = readAnySync(plainSource, { verifyCrc: "none" });
  if (ctx.options.scanValues) scanValuesOf(ctx, input.root);
}

/** NaN/Inf in every floating-point tensor (gathered) and every Python float of `root`. */
export function scanValuesOf(ctx: Ctx, root: TorchValue): void {
  const plan: ValuePlan = { byRecord: new Map(), gathered: [] };
  for (const { path, tensor } of distinctTensors(root)) {
    const counter = nonFiniteCounter(tensor.dtype);
    if (counter === undefined || tensor.layout !== "strided" || tensor.storage === undefined) continue;
    let numel: number;
    try {
      numel = tensorExtent(tensor).numel;
    } catch {
      continue; // reported by the reader's checks
    }
    const stats: TensorValueStats = { path, dtype: tensor.dtype, numel, nan: 0, posInf: 0, negInf: 0, scanned: numel === 0 };
    ctx.tensors.push(stats);
    if (numel > 0) plan.gathered.push({ tensor, stats });
  }
  finishValueScan(ctx, plan);
  scanScalars(ctx, root);
}

/** Keys whose infinite value is a sentinel, not a failure: best_*, min_*, max_*, lowest/highest*. */
const SENTINEL_KEY = /^(best|min|max|lowest|highest)(_|[A-Z]|$)/i;

/** Most float scalars reported one by one; the rest are counted in one more finding. */
const MAX_SCALAR_FINDINGS = 100;

/**
 * Reports Python floats that are NaN or infinite (a `loss` of NaN in a per-step dump), anywhere in
 * the value graph: dicts, lists, tuples, sets and object state. Iterative; each container once.
 */
export function scanScalars(ctx: Ctx, root: TorchValue): void {
  const seen = new Set<object>();
  const stack: { v: TorchValue; path: KeyPath }[] = [{ v: root, path: [] }];
  let found = 0;
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v !== "object" || v === null || seen.has(v) || isTensor(v)) continue;
    seen.add(v);
    const kind = pyKind(v) ?? (v as { kind?: string }).kind;
    if (kind === "float" || kind === "complex") {
      const values = kind === "float" ? [(v as { value: number }).value] : [(v as { real: number }).real, (v as { imag: number }).imag];
      const last = path[path.length - 1];
      // ±inf under a best/min/max key is the usual "nothing seen yet" sentinel (best_loss = inf).
      const sentinel = typeof last === "string" && SENTINEL_KEY.test(last);
      const bad = values.filter((x) => Number.isNaN(x) || (!Number.isFinite(x) && !sentinel));
      if (bad.length === 0) continue;
      found++;
      if (found <= MAX_SCALAR_FINDINGS) {
        report(ctx, "scalar-non-finite", `a Python ${kind} is ${bad.map((x) => (Number.isNaN(x) ? "NaN" : x > 0 ? "inf" : "-inf")).join(" and ")}`, { keyPath: path });
      }
      continue;
    }
    const children: [string | number, TorchValue][] = [];
    if (kind === "dict") {
      const d = v as PyDict<TorchHost>;
      for (const [k, x] of d.entries) children.push([typeof k === "string" || typeof k === "number" ? k : String(k), x]);
      if (d.state !== undefined) children.push(["$state", d.state]);
    } else if (kind === "list" || kind === "tuple" || kind === "set" || kind === "frozenset") {
      (v as { items: TorchValue[] }).items.forEach((x, i) => children.push([i, x]));
    } else if (kind === "object") {
      const o = v as PyObject<TorchHost>;
      children.push(["$args", o.args]);
      if (o.state !== undefined) children.push(["$state", o.state]);
      for (const [i, x] of (o.listItems ?? []).entries()) children.push([i, x]);
      for (const [k, x] of o.dictItems ?? []) children.push([typeof k === "string" || typeof k === "number" ? k : String(k), x]);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ v: children[i]![1], path: [...path, children[i]![0]] });
  }
  if (found > MAX_SCALAR_FINDINGS) report(ctx, "scalar-non-finite", `${found - MAX_SCALAR_FINDINGS} more Python floats are NaN or infinite`, {});
}
