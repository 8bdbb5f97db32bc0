/** Checked access to the arguments of a rebuild call, with errors that say which argument was wrong. */
import { CheckpointError } from "../../errors.js";
import type { PyGlobal, PyValue } from "../../pickle/value.js";
import { isPyGlobal, pyKind } from "../../pickle/value.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../model.js";
import { isStorage, isTensor } from "../model.js";

/** The value-model tag of `v` ("tuple", "list", ...), undefined for primitives; cheaper than pyKind on hot paths. */
function tag(v: unknown): unknown {
  return typeof v === "object" && v !== null ? (v as { kind?: unknown }).kind : undefined;
}

/** Positional arguments of a call: the tuple's items, or a typed error. */
export function argTuple(args: TorchValue, fn: string, min: number, offset: number): TorchValue[] {
  const kind = tag(args);
  if (kind !== "tuple" && kind !== "list") throw mismatch(fn, "an argument tuple", args, offset);
  const items = (args as { items: TorchValue[] }).items;
  if (items.length < min) {
    throw new CheckpointError("type-mismatch", `${fn} takes at least ${min} arguments, got ${items.length}`, { offset });
  }
  return items;
}

export function argInt(v: TorchValue | undefined, fn: string, what: string, offset: number): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  throw mismatch(fn, `an int for ${what}`, v, offset);
}

export function argFloat(v: TorchValue | undefined, fn: string, what: string, offset: number): number {
  if (typeof v === "number") return v;
  if (pyKind(v) === "float") return (v as { value: number }).value;
  throw mismatch(fn, `a float for ${what}`, v, offset);
}

export function argBool(v: TorchValue | undefined, fn: string, what: string, offset: number): boolean {
  if (typeof v === "boolean") return v;
  if (v === 0 || v === 1) return v === 1;
  throw mismatch(fn, `a bool for ${what}`, v, offset);
}

export function argStr(v: TorchValue | undefined, fn: string, what: string, offset: number): string {
  if (typeof v === "string") return v;
  throw mismatch(fn, `a str for ${what}`, v, offset);
}

/** A shape or stride: a tuple/list of ints, or a `torch.Size(...)` object wrapping one. */
export function argInts(v: TorchValue | undefined, fn: string, what: string, offset: number): number[] {
  let inner = v;
  let kind = tag(inner);
  if (kind === "object") {
    const o = inner as { callable: TorchValue; args: TorchValue };
    if (isPyGlobal(o.callable) && o.callable.name === "Size") {
      const a = o.args;
      inner = tag(a) === "tuple" ? (a as { items: TorchValue[] }).items[0] : undefined;
      kind = tag(inner);
    }
  }
  if (kind !== "tuple" && kind !== "list") throw mismatch(fn, `a tuple of ints for ${what}`, v, offset);
  const items = (inner as { items: TorchValue[] }).items;
  const out: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    // The element's name is only spelled out for the error.
    out.push(typeof x === "number" && Number.isInteger(x) ? x : argInt(x, fn, `${what}[${i}]`, offset));
  }
  return out;
}

export function argStorage(v: TorchValue | undefined, fn: string, offset: number): Storage {
  if (isStorage(v)) return v;
  throw mismatch(fn, "a storage", v, offset);
}

export function argTensor(v: TorchValue | undefined, fn: string, what: string, offset: number): Tensor {
  if (isTensor(v)) return v;
  throw mismatch(fn, `a tensor for ${what}`, v, offset);
}

export function argGlobal(v: TorchValue | undefined, fn: string, what: string, offset: number): PyGlobal {
  if (isPyGlobal(v)) return v;
  throw mismatch(fn, `a global for ${what}`, v, offset);
}

/** A short description of a value's Python type, for messages. */
export function describe(v: PyValue<TorchHost> | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  const kind = (v as { kind: string }).kind;
  if (kind === "global") return `global ${(v as PyGlobal).module}.${(v as PyGlobal).name}`;
  if (kind === "object") {
    const c = (v as { callable: TorchValue }).callable;
    return isPyGlobal(c) ? `object of ${c.module}.${c.name}` : "object";
  }
  return kind;
}

function mismatch(fn: string, expected: string, got: TorchValue | undefined, offset: number): CheckpointError {
  return new CheckpointError("type-mismatch", `${fn} expects ${expected}, got ${describe(got)}`, { offset });
}
