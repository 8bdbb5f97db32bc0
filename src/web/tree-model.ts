/**
 * The checkpoint tree the page shows: the value graph flattened into rows, depth first, each with
 * its key, a short label and the size of its subtree (so the page can fold a row by skipping its
 * descendants). Dicts, lists, tuples, sets and objects' arguments/state are entered; cycles are cut
 * and the row count is bounded, so a hostile graph cannot make the tree unbounded. DOM-free.
 */
import { formatKeyPath, type KeyPath } from "../errors.js";
import { floatRepr, globalKey, pyKind, type PyDict, type PyGlobal, type PyObject, type PyValue } from "../pickle/index.js";
import { findParts, isTensor, numel, type CheckpointPart, type Tensor, type TorchHost, type TorchValue } from "../torch/index.js";
import type { PartSummary, TreeNode } from "./protocol.js";
import { formatBytes } from "../bytes/format.js";
export { formatBytes };

/** Most rows a tree holds; deeper or wider graphs are cut (and say so). */
export const MAX_TREE_NODES = 250_000;
const MAX_LABEL = 80;

export interface CheckpointTree {
  readonly nodes: TreeNode[];
  /** The tensors in row order; a row's `tensor` indexes this list. */
  readonly tensors: Tensor[];
  /** The key path of each tensor (parallel to `tensors`). */
  readonly paths: KeyPath[];
  readonly truncated: boolean;
  readonly parts: PartSummary[];
  readonly tensorBytes: number;
}

/** Python's spelling of a key: 'fc.weight', 3, (1, 2). */
function keyText(k: PyValue<TorchHost>): string {
  if (typeof k === "string") return `'${k}'`;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  return describe(k);
}

const short = (s: string): string => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL)}…` : s);


/** Bytes a tensor's elements take (what `numel * element_size` is in torch). */
export function tensorByteSize(t: Tensor): number {
  if (t.storage === undefined) return 0;
  const per = t.storage.declaredNumel > 0 ? t.storage.byteLength / t.storage.declaredNumel : 0;
  return Math.round(numel(t.shape) * per);
}

function describeTensor(t: Tensor): string {
  const parts = [`${t.isParameter ? "Parameter " : ""}${t.dtype} [${t.shape.join(", ")}]`];
  if (t.layout !== "strided") parts.push(t.layout);
  else if (t.storage !== undefined) parts.push(formatBytes(tensorByteSize(t)));
  if (t.device !== "cpu") parts.push(t.device);
  return parts.join(" · ");
}

/** The label of one value without its children. */
export function describe(v: PyValue<TorchHost>): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number" || typeof v === "bigint") return `int ${v}`;
  if (typeof v === "string") return `str ${short(JSON.stringify(v))}`;
  if (isTensor(v)) return describeTensor(v);
  switch (pyKind(v)) {
    case "float":
      return `float ${floatRepr((v as { value: number }).value)}`;
    case "complex": {
      const c = v as { real: number; imag: number };
      return `complex (${floatRepr(c.real)}${c.imag < 0 || Object.is(c.imag, -0) ? "-" : "+"}${floatRepr(Math.abs(c.imag))}j)`;
    }
    case "bytes":
    case "bytearray":
      return `${pyKind(v)} · ${formatBytes((v as { data: Uint8Array }).data.length)}`;
    case "dict": {
      const d = v as PyDict<TorchHost>;
      const type = d.type === undefined ? "dict" : d.type.name;
      return `${type} · ${d.entries.length} key${d.entries.length === 1 ? "" : "s"}`;
    }
    case "list":
    case "tuple":
    case "set":
    case "frozenset": {
      const n = (v as { items: unknown[] }).items.length;
      return `${pyKind(v)} · ${n} item${n === 1 ? "" : "s"}`;
    }
    case "global":
      return `global ${globalKey(v as { kind: "global"; module: string; name: string })}`;
    case "object":
    {
      const c = (v as PyObject<TorchHost>).callable;
      return `${pyKind(c) === "global" ? globalKey(c as PyGlobal) : "call"} object`;
    }
    case "storage":
      return `Storage ${(v as { dtype: string }).dtype} ${formatBytes((v as { byteLength: number }).byteLength)}`;
    case "ndarray": {
      const a = v as { descr: string; shape: number[]; scalar?: boolean };
      return a.scalar === true ? `numpy scalar ${a.descr}` : `ndarray ${a.descr} [${a.shape.join(", ")}]`;
    }
    default:
      return pyKind(v) ?? typeof v;
  }
}

type Child = readonly [key: string, step: string | number, value: PyValue<TorchHost>];

/** The children a row shows, with the key text and the key-path step. */
function childrenOf(v: PyValue<TorchHost>): Child[] | undefined {
  switch (pyKind(v)) {
    case "dict":
      return (v as PyDict<TorchHost>).entries.map(([k, x]) => [keyText(k), typeof k === "string" || typeof k === "number" ? k : keyText(k), x] as const);
    case "list":
    case "tuple":
    case "set":
    case "frozenset":
      return (v as { items: PyValue<TorchHost>[] }).items.map((x, i) => [`[${i}]`, i, x] as const);
    case "object": {
      const o = v as PyObject<TorchHost>;
      const out: Child[] = [];
      if (o.args !== undefined && o.args !== null) out.push(["$args", "$args", o.args]);
      if (o.listItems !== undefined) out.push(["$items", "$items", { kind: "list", items: o.listItems }]);
      if (o.dictItems !== undefined) out.push(["$dictItems", "$dictItems", { kind: "dict", entries: o.dictItems }]);
      if (o.state !== undefined) out.push(["$state", "$state", o.state]);
      return out.length > 0 ? out : undefined;
    }
    default:
      return undefined;
  }
}

function partOf(parts: ReturnType<typeof findParts>): Map<string, string> {
  const byPath = new Map<string, string>();
  const add = (name: string, p: CheckpointPart | undefined) => {
    if (p !== undefined && !byPath.has(formatKeyPath(p.path))) byPath.set(formatKeyPath(p.path), name);
  };
  add("model", parts.model);
  add("optimizer", parts.optimizer);
  add("scheduler", parts.scheduler);
  add("scaler", parts.scaler);
  add("rng", parts.rng.torch);
  add("rng (cuda)", parts.rng.cuda);
  add("rng (numpy)", parts.rng.numpy);
  add("rng (python)", parts.rng.python);
  add("epoch", parts.epoch);
  add("step", parts.step);
  add("loss", parts.loss);
  return byPath;
}

/** Flattens a checkpoint's root into tree rows (depth first, insertion order). */
export function buildTree(root: TorchValue, maxNodes = MAX_TREE_NODES): CheckpointTree {
  const nodes: TreeNode[] = [];
  const tensors: Tensor[] = [];
  const paths: KeyPath[] = [];
  const partNames = partOf(findParts(root));
  let truncated = false;
  let tensorBytes = 0;
  const path: (string | number)[] = [];
  const onPath = new Set<object>();
  // Mutable row fields filled in when the subtree is done.
  const descendants: number[] = [];
  interface Frame { row: number; children: Child[]; next: number; container: object }
  const stack: Frame[] = [];
  const visit = (key: string, value: PyValue<TorchHost>, depth: number, parent: number): void => {
    const row = nodes.length;
    const p = formatKeyPath(path);
    const part = partNames.get(p);
    const base = { key, label: describe(value), depth, parent, descendants: 0, path: p, ...(part === undefined ? {} : { part }) };
    if (isTensor(value)) {
      nodes.push({ ...base, kind: "tensor", tensor: tensors.length });
      tensors.push(value);
      paths.push([...path]);
      tensorBytes += tensorByteSize(value);
    } else {
      const children = typeof value === "object" && value !== null && !onPath.has(value) ? childrenOf(value) : undefined;
      nodes.push({ ...base, kind: children === undefined ? (pyKind(value) === "object" ? "object" : "value") : "container" });
      if (children !== undefined && children.length > 0) {
        onPath.add(value as object);
        stack.push({ row, children, next: 0, container: value as object });
      }
    }
    descendants.push(0);
  };
  visit("", root, 0, -1);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.children.length || nodes.length >= maxNodes) {
      if (top.next < top.children.length) truncated = true;
      stack.pop();
      onPath.delete(top.container);
      descendants[top.row] = nodes.length - top.row - 1;
      if (stack.length > 0) path.pop();
      continue;
    }
    const [key, step, value] = top.children[top.next++]!;
    if (top.next > 1) path.pop();
    path.push(step);
    visit(key, value, stack.length, top.row);
  }
  const rows = nodes.map((n, i) => (descendants[i] === 0 ? n : { ...n, descendants: descendants[i]! }));
  const parts: PartSummary[] = [];
  for (const [i, n] of rows.entries()) {
    if (n.part === undefined) continue;
    const tensorsBelow = rows.slice(i, i + n.descendants + 1).filter((r) => r.kind === "tensor").length;
    parts.push({ name: n.part, path: n.path === "" ? "(root)" : n.path, row: i, detail: n.kind === "container" ? `${n.label}${tensorsBelow > 0 ? `, ${tensorsBelow} tensors` : ""}` : n.label });
  }
  return { nodes: rows, tensors, paths, truncated, parts, tensorBytes };
}

/** The first tensor whose key path ends with `name` (`fc.weight`, `'fc.weight'`, or a whole path). */
export function findTensorRow(nodes: readonly TreeNode[], name: string): number {
  const quoted = `[${JSON.stringify(name)}]`;
  const i = nodes.findIndex((n) => n.kind === "tensor" && (n.path.endsWith(quoted) || n.path === name || n.path.endsWith(name)));
  return i;
}
