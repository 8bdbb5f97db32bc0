/** One-line descriptions of values for `inspect`: Python type names, tensor geometry, sizes. */
import { floatRepr } from "../pickle/index.js";
import type { PyGlobal, PyObject } from "../pickle/index.js";
import { pyKind } from "../pickle/index.js";
import type { NdArray, NdField, Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, isContiguous, numel } from "../torch/index.js";
import { formatBytes } from "../bytes/format.js";
export { formatBytes };


const short = (s: string, max = 60) => (s.length > max ? `${s.slice(0, max)}…` : s);
const globalName = (g: PyGlobal) => `${g.module}.${g.name}`;

export function describeTensor(t: Tensor): string {
  const parts = [t.isParameter ? "Parameter" : "Tensor", t.dtype, `[${t.shape.join(", ")}]`];
  if (t.layout !== "strided") parts.push(t.layout);
  if (t.storage !== undefined && t.layout === "strided") {
    parts.push(formatBytes(tensorByteSize(t)));
    if (!isContiguous(t.shape, t.stride)) parts.push(`stride [${t.stride.join(", ")}]`);
    if (t.storageOffset !== 0) parts.push(`offset ${t.storageOffset}`);
  }
  if (t.device !== "cpu") parts.push(`on ${t.device}`);
  if (t.requiresGrad) parts.push("requires_grad");
  if (t.quantization !== undefined) parts.push(t.quantization.scheme);
  if (t.subclass !== undefined) parts.push(`subclass ${globalName(t.subclass)}`);
  return parts.join(" ");
}

function describeNdArray(a: NdArray): string {
  const fields = a.fields === undefined ? "" : ` ${describeFields(a.fields)}`;
  return `${a.scalar ? "numpy scalar" : "ndarray"} ${a.descr}${fields}${a.scalar ? "" : ` [${a.shape.join(", ")}]`}${a.data ? ` ${formatBytes(a.data.length)}` : ""}`;
}

/** A structured dtype's fields as numpy lists them: `{x: <f4, pos: <f4 (3), rec: {...}}`. */
function describeFields(fields: readonly NdField[]): string {
  const one = (f: NdField): string =>
    `${f.name}: ${f.fields === undefined ? f.descr : describeFields(f.fields)}${f.shape === undefined ? "" : ` (${f.shape.join(", ")})`}`;
  return `{${fields.map(one).join(", ")}}`;
}

function describeStorage(s: Storage): string {
  return `Storage ${s.key} ${s.dtype} ${formatBytes(s.byteLength)} on ${s.location}`;
}

/**
 * The bytes a tensor's elements take: from its own dtype (a storage may be untyped, counting bytes,
 * or hold another dtype), packed dtypes (quint4x2, quint2x4) rounded up to whole bytes.
 */
export function tensorByteSize(t: Tensor): number {
  const info = dtypeByName(t.dtype);
  if (info === undefined) return numel(t.shape);
  // Only quantized packed dtypes count logical elements; float4_e2m1fn_x2 counts its bytes.
  const packing = info.kind === "quantized" ? (info.packing ?? 1) : 1;
  return Math.ceil((numel(t.shape) * info.itemSize) / packing);
}

/** The label of one value, without its children. */
export function describeValue(v: TorchValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number" || typeof v === "bigint") return `int ${v}`;
  if (typeof v === "string") return `str ${JSON.stringify(short(v))}`;
  const kind = (v as { kind: string }).kind;
  switch (kind) {
    case "tensor":
      return describeTensor(v as Tensor);
    case "ndarray":
      return describeNdArray(v as NdArray);
    case "storage":
      return describeStorage(v as Storage);
    case "float":
      return `float ${floatRepr((v as { value: number }).value)}`;
    case "complex":
      return `complex (${(v as { real: number }).real}, ${(v as { imag: number }).imag})`;
    case "bytes":
    case "bytearray":
      return `${kind} ${formatBytes((v as { data: Uint8Array }).data.length)}`;
    case "list":
    case "tuple":
    case "set":
    case "frozenset": {
      const n = (v as { items: unknown[] }).items.length;
      return `${kind} ${n} item${n === 1 ? "" : "s"}`;
    }
    case "dict": {
      const d = v as { entries: unknown[]; type?: PyGlobal };
      const n = d.entries.length;
      return `${d.type ? `${d.type.name} (dict)` : "dict"} ${n} key${n === 1 ? "" : "s"}`;
    }
    case "global":
      return `global ${globalName(v as PyGlobal)}`;
    case "object": {
      const o = v as PyObject<TorchHost>;
      const c = pyKind(o.callable) === "global" ? globalName(o.callable as PyGlobal) : "?";
      return `object ${c} (not executed)`;
    }
    case "persid":
      return "persistent id";
    case "buffer":
      return `buffer ${formatBytes((v as { data: Uint8Array }).data.length)}`;
    case "ext":
      return `extension ${(v as { code: number }).code}`;
    default:
      return kind;
  }
}

/** The children `inspect` shows under a value: [label, child]. */
export function childrenForTree(v: TorchValue): [string, TorchValue][] {
  switch (pyKind(v)) {
    case "dict": {
      const d = v as { entries: [TorchValue, TorchValue][]; state?: TorchValue };
      const out: [string, TorchValue][] = d.entries.map(([k, x]) => [keyLabel(k), x]);
      if (d.state !== undefined) out.push(["(state)", d.state]);
      return out;
    }
    case "list":
    case "tuple":
    case "set":
    case "frozenset":
      return (v as { items: TorchValue[] }).items.map((x, i) => [`[${i}]`, x]);
    case "object": {
      const o = v as PyObject<TorchHost>;
      const out: [string, TorchValue][] = [];
      const args = o.args;
      if (pyKind(args) !== "tuple" || (args as { items: unknown[] }).items.length > 0) out.push(["(args)", args]);
      if (o.listItems?.length) out.push(["(items)", { kind: "list", items: o.listItems }]);
      if (o.dictItems?.length) out.push(["(dict items)", { kind: "dict", entries: o.dictItems }]);
      if (o.state !== undefined) out.push(["(state)", o.state]);
      return out;
    }
    default:
      return [];
  }
}

function keyLabel(k: TorchValue): string {
  if (typeof k === "string") return JSON.stringify(k);
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  return `(${describeValue(k)})`;
}
