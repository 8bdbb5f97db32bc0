/** `torchsave inspect FILE`: a readable tree of what a checkpoint holds, with totals; `--json` for tools. */
import type { Checkpoint, Storage, TorchValue } from "../../torch/index.js";
import { findParts, numel, walkTensors } from "../../torch/index.js";
import type { ReadAnyResult } from "../../convert/index.js";
import { nodeCrc32 } from "../../node/write-checkpoint.js";
import { openInput } from "../input.js";
import type { CheckpointPart } from "../../torch/index.js";
import { formatKeyPath } from "../../errors.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";
import { childrenForTree, describeValue, formatBytes } from "../describe.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show the structure of a checkpoint: keys, types, tensor dtypes and shapes, totals",
  usage: "torchsave inspect FILE [--json] [--depth N] [--items N] [--ignore-crc]",
  options: {
    json: { type: "boolean", doc: "print the structure as one JSON object (format, layout, records, totals, dtypes, parts, every tensor) instead of a tree." },
    depth: { type: "string", arg: "N", doc: "show the tree N levels deep (default 6)." },
    items: { type: "string", arg: "N", doc: "show at most N children of each dict or list (default 30); the rest are counted." },
    "ignore-crc": { type: "boolean", doc: "open a zip checkpoint whose data.pkl or text records fail their CRC-32 check, or a gzip file whose trailer disagrees with what it inflates to (by default an error naming the record)." },
  },
  examples: [
    "torchsave inspect model.pt                  # tree of keys, types, dtypes and shapes, totals, parts found",
    "torchsave inspect ckpt.pt --depth 2         # only the top two levels",
    "torchsave inspect model.pt --json | jq .parts",
  ],
  async run({ positionals, values, out }) {
    const file = positionals[0]!;
    // Any format torchsave reads (torch layouts, safetensors, JSON, msgpack, npy), lazily for files;
    // also a DCP directory or an http(s) URL (see ../input.ts).
    const opened = await openInput(file, { verifyCrc: values["ignore-crc"] === true ? "none" : "metadata", ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }) });
    try {
      const { input } = opened;
      const summary = summarize(input);
      if (values.json) {
        out(JSON.stringify({ file, ...summary }, null, 2));
        return 0;
      }
      out(headline(file, input));
      printTree(input.root, out, countOption(values.depth, "depth", 6), countOption(values.items, "items", 30));
      out("");
      out(`totals: ${summary.tensors} tensors, ${summary.elements} elements, ${formatBytes(summary.storageBytes)} in ${summary.storages} storages`);
      const dtypes = Object.entries(summary.dtypes).map(([d, n]) => `${d} ×${n}`).join(", ");
      if (dtypes) out(`dtypes: ${dtypes}`);
      for (const line of partsLines(input.root)) out(line);
      return 0;
    } finally {
      opened.close();
    }
  },
};

/** A positive whole number option, or its default; anything else is a usage error. */
function countOption(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} takes a whole number of at least 1, not ${JSON.stringify(v)}`);
  return n;
}

function headline(file: string, input: ReadAnyResult): string {
  const c = input.checkpoint;
  if (input.format === "dcp") return `${file}: DCP directory (torch.distributed.checkpoint), consolidated`;
  if (input.format === "deepspeed") return `${file}: DeepSpeed ZeRO checkpoint, consolidated to fp32 (as zero_to_fp32.py)`;
  if (c === undefined) return `${file}: ${input.format}${input.gzip ? ", gzip-compressed" : ""}`;
  const layout =
    c.layout === "zip" ? `zip layout (archive "${c.archiveName}")`
    : c.layout === "legacy" ? "legacy layout (_use_new_zipfile_serialization=False)"
    : c.layout === "pickle" ? "plain pickle of tensors"
    : c.layout === "torchscript" ? "TorchScript archive"
    : c.layout === "tar" ? "tar layout (torch <= 0.1.9)"
    : `numpy ${c.layout} file`;
  const gz = c.compression === "gzip" ? ", gzip-compressed" : "";
  return `${file}: ${layout}${gz}, pickle protocol ${c.protocol}`;
}

export function summarize(input: ReadAnyResult) {
  const c: Checkpoint | undefined = input.checkpoint;
  const entries = walkTensors(input.root, { into: "all" });
  const storages = new Set<Storage>();
  for (const { tensor } of entries) if (tensor.storage !== undefined) storages.add(tensor.storage.view?.root ?? tensor.storage);
  const dtypes: Record<string, number> = {};
  let elements = 0;
  for (const { tensor } of entries) {
    dtypes[tensor.dtype] = (dtypes[tensor.dtype] ?? 0) + 1;
    elements += numel(tensor.shape);
  }
  const parts = findParts(input.root);
  return {
    format: input.format,
    layout: c?.layout ?? null,
    compression: input.gzip ? "gzip" : "none",
    protocol: c?.protocol ?? null,
    records: c?.records ?? {},
    storages: storages.size,
    storageBytes: [...storages].reduce((a, s) => a + s.byteLength, 0),
    tensors: entries.length,
    elements,
    dtypes,
    parts: Object.fromEntries(
      Object.entries({ ...parts, rng: undefined, ...Object.fromEntries(Object.entries(parts.rng).map(([k, v]) => [`rng.${k}`, v])) })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, (v as CheckpointPart).path]),
    ),
    tensorList: entries.map(({ path, tensor }) => ({
      path, dtype: tensor.dtype, shape: tensor.shape, stride: tensor.stride, offset: tensor.storageOffset,
      device: tensor.device, requiresGrad: tensor.requiresGrad, parameter: tensor.isParameter, layout: tensor.layout,
      storage: tensor.storage?.key ?? null,
    })),
  };
}

function printTree(root: TorchValue, out: (l: string) => void, maxDepth: number, maxItems: number): void {
  out(describeValue(root));
  // Iterative walk (deep files must not overflow the stack); ancestors cut cycles.
  type Frame = { label: string; value: TorchValue; prefix: string; last: boolean; depth: number; ancestors: Set<object> };
  const stack: Frame[] = [];
  const push = (value: TorchValue, prefix: string, depth: number, ancestors: Set<object>) => {
    const kids = childrenForTree(value);
    const shown = kids.slice(0, maxItems);
    const frames: Frame[] = shown.map(([label, v], i) => ({ label, value: v, prefix, last: i === shown.length - 1 && kids.length <= maxItems, depth, ancestors }));
    if (kids.length > maxItems) frames.push({ label: `… ${kids.length - maxItems} more`, value: undefined as never, prefix, last: true, depth, ancestors });
    for (let i = frames.length - 1; i >= 0; i--) stack.push(frames[i]!);
  };
  push(root, "", 1, new Set([root as object]));
  while (stack.length > 0) {
    const f = stack.pop()!;
    const branch = f.last ? "└─ " : "├─ ";
    if (f.value === undefined) {
      out(`${f.prefix}${branch}${f.label}`);
      continue;
    }
    const cyclic = typeof f.value === "object" && f.value !== null && f.ancestors.has(f.value);
    out(`${f.prefix}${branch}${f.label}: ${cyclic ? "(cycle: refers to an enclosing value)" : describeValue(f.value)}`);
    if (cyclic || f.depth >= maxDepth || typeof f.value !== "object" || f.value === null) continue;
    push(f.value, f.prefix + (f.last ? "   " : "│  "), f.depth + 1, new Set(f.ancestors).add(f.value));
  }
}

function partsLines(root: TorchValue): string[] {
  const p = findParts(root);
  const where = (x?: CheckpointPart) => (x === undefined ? undefined : formatKeyPath(x.path) || "(root)");
  const lines: string[] = [];
  const add = (name: string, x?: CheckpointPart) => {
    const w = where(x);
    if (w !== undefined) lines.push(`  ${name}: ${w}`);
  };
  add("model state_dict", p.model);
  add("optimizer", p.optimizer);
  add("lr scheduler", p.scheduler);
  add("grad scaler", p.scaler);
  add("torch rng", p.rng.torch);
  add("cuda rng", p.rng.cuda);
  add("numpy rng", p.rng.numpy);
  add("python rng", p.rng.python);
  add("epoch", p.epoch);
  add("step", p.step);
  add("loss", p.loss);
  add("gradients", p.grads);
  return lines.length ? ["parts found:", ...lines] : [];
}
