/**
 * Writing a state dict as Hugging Face shards: which tensors go in which file, the file names
 * (`model-00001-of-00003.safetensors`, `pytorch_model-00001-of-00003.bin`) and the index JSON,
 * as `huggingface_hub.split_torch_state_dict_into_shards` and transformers' `save_pretrained` make
 * them: tensors in order fill a shard until the next would pass the limit; a tensor larger than the
 * limit gets a shard of its own; tensors sharing a storage go where the first of them went; sizes
 * are storage sizes; one shard is written as `model.safetensors` / `pytorch_model.bin` without an
 * index. The index is `json.dumps(index, indent=2, sort_keys=True) + "\n"`, as save_pretrained writes it.
 */
import { CheckpointError } from "../errors.js";
import type { Tensor, TorchValue } from "../torch/index.js";
import { dtypeByName, isTensor, numel } from "../torch/index.js";

export interface ShardFile {
  readonly name: string;
  /** The state dict keys it holds, in order. */
  readonly keys: readonly string[];
  /** Bytes of its tensors. */
  readonly bytes: number;
}

export interface ShardPlan {
  readonly files: readonly ShardFile[];
  /** The index file's name and text; absent for a single shard. */
  readonly index?: { readonly name: string; readonly text: string };
  /** key → tensor, for building each shard's dict. */
  readonly tensors: ReadonlyMap<string, Tensor>;
}

const NAMES = {
  safetensors: { stem: "model", ext: "safetensors", index: "model.safetensors.index.json" },
  pt: { stem: "pytorch_model", ext: "bin", index: "pytorch_model.bin.index.json" },
} as const;

/**
 * Parses a shard size as Hugging Face writes it: `5GB` (10^9), `500MB`, `100KB`, `2GiB` (2^30),
 * `512MiB`, or a plain number of bytes.
 * @throws CheckpointError `invalid-argument` for anything else or a size under 1 byte.
 */
export function parseShardSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(text);
  if (m === null) throw new CheckpointError("invalid-argument", `shard size ${JSON.stringify(text)} is not like 5GB, 500MB or 2GiB`);
  const unit = (m[2] ?? "B").toUpperCase();
  const pow = "BKMGT".indexOf(unit[0]!);
  const base = unit.length === 3 ? 1024 : 1000;
  const n = Math.floor(Number(m[1]) * base ** pow);
  if (!Number.isSafeInteger(n) || n < 1) throw new CheckpointError("invalid-argument", `shard size ${JSON.stringify(text)} is out of range`);
  return n;
}

/**
 * Plans the shards of `root`, a flat dict of string keys to tensors.
 * @throws CheckpointError `invalid-argument` when `root` is not such a dict (nested checkpoints are
 *   not sharded: convert their model state dict).
 */
export function planShards(root: TorchValue, maxBytes: number, format: "safetensors" | "pt"): ShardPlan {
  const entries = (root as { kind?: unknown; entries?: [TorchValue, TorchValue][] } | null)?.kind === "dict" ? (root as { entries: [TorchValue, TorchValue][] }).entries : undefined;
  if (entries === undefined) throw new CheckpointError("invalid-argument", "sharded output takes a flat state dict of tensors; this input is not a dict");
  const tensors = new Map<string, Tensor>();
  // huggingface_hub's split_state_dict_into_shards_factory: a tensor over the limit is a shard of
  // its own (placed before the shard being filled); tensors sharing a storage follow the first one.
  const done: { keys: string[]; bytes: number }[] = [];
  let current = { keys: [] as string[], bytes: 0 };
  const sharing = new Map<object, string[]>();
  let total = 0;
  for (const [k, v] of entries) {
    if (typeof k !== "string" || !isTensor(v)) {
      throw new CheckpointError("invalid-argument", "sharded output takes a flat state dict of tensors (string keys, tensor values)", { path: [typeof k === "string" || typeof k === "number" ? k : "?"] });
    }
    if (tensors.has(k)) throw new CheckpointError("invalid-argument", `duplicate key ${JSON.stringify(k)}`, { path: [k] });
    tensors.set(k, v);
    const storage = v.storage?.view?.root ?? v.storage;
    if (storage !== undefined) {
      const group = sharing.get(storage);
      if (group !== undefined) {
        group.push(k);
        continue;
      }
      sharing.set(storage, [k]);
    }
    const size = storage?.byteLength ?? numel(v.shape) * (dtypeByName(v.dtype)?.itemSize ?? 1);
    total += size;
    if (size > maxBytes) {
      done.push({ keys: [k], bytes: size });
      continue;
    }
    if (current.bytes + size > maxBytes) {
      done.push(current);
      current = { keys: [], bytes: 0 };
    }
    current.keys.push(k);
    current.bytes += size;
  }
  if (current.keys.length > 0) done.push(current);
  for (const keys of sharing.values()) {
    if (keys.length < 2) continue;
    const home = done.find((g) => g.keys.includes(keys[0]!));
    home?.keys.push(...keys.slice(1));
  }
  const groups = done.length > 0 ? done : [{ keys: [], bytes: 0 }];
  const n = NAMES[format];
  if (groups.length === 1) return { files: [{ name: `${n.stem}.${n.ext}`, keys: [...tensors.keys()], bytes: total }], tensors };
  const pad = (i: number) => String(i).padStart(5, "0");
  const files = groups.map((g, i) => ({ name: `${n.stem}-${pad(i + 1)}-of-${pad(groups.length)}.${n.ext}`, ...g }));
  const sorted = files.flatMap((f) => f.keys.map((k) => [k, f.name] as const)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const map = sorted.map(([k, f]) => `    ${pyStr(k)}: ${pyStr(f)}`).join(",\n");
  const text = `{\n  "metadata": {\n    "total_size": ${total}\n  },\n  "weight_map": {${sorted.length > 0 ? `\n${map}\n  ` : ""}}\n}\n`;
  return { files, tensors, index: { name: n.index, text } };
}

/** A string as Python's `json.dumps` writes it (ensure_ascii: non-ASCII as \\uXXXX). */
function pyStr(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => (c === "\u007f" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}
