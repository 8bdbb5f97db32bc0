/**
 * DeepSpeed ZeRO checkpoint folders consolidated to fp32 weights, as DeepSpeed's
 * `deepspeed/utils/zero_to_fp32.py` (`get_fp32_state_dict_from_zero_checkpoint`) does: the state
 * dict holds the buffers of rank 0's `module` (as float32), then the frozen params, then the
 * trainable params cut out of the flat fp32 partitions in `param_shapes` order, then the tied
 * params of `shared_params` (the same tensor under both names). With `includeOptimizer`, the
 * optimizer moments over the same partitions (`exp_avg`, `exp_avg_sq`) come out named by parameter.
 *
 * The folder is the one holding `latest` (its text names the tag folder) or the tag folder itself.
 * Files are found by name, as DeepSpeed names them (see `zero-layout.ts`); every rank up to
 * `partition_count` must be there.
 */
import type { ByteSource } from "../bytes/source.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import type { PyDict } from "../pickle/index.js";
import type { ReadOptions, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { canConvertToFloat32, loadStorage, openCheckpoint, openCheckpointSync, tensor, tensorBytes, tensorToFloat32, walkTensors } from "../torch/index.js";
import type { DirectoryFiles } from "./dcp-read.js";
import { parseLatest, parseModelState, parseOptimState, ZERO_MODEL_FILE, zero3ModelFile, zeroOptimFile, type ZeroModelState, type ZeroOptimState } from "./zero-layout.js";
import { mergeZero2, mergeZero3, numelOf, type ZeroParam } from "./zero-merge.js";

export interface ZeroOptions {
  /** The tag folder to read (default: the one `latest` names; without `latest`, the folder itself). */
  readonly tag?: string;
  /** Also the optimizer moments: the root becomes `{model, exp_avg: {name: t}, exp_avg_sq: {...}}`. */
  readonly includeOptimizer?: boolean;
  /** Passed to the checkpoint reader for every file. */
  readonly read?: ReadOptions;
}

/** A DeepSpeed ZeRO folder consolidated. */
export interface ZeroCheckpoint {
  readonly format: "deepspeed";
  readonly name: string;
  /** The tag folder read ("" when the folder itself is the tag folder). */
  readonly tag: string;
  readonly zeroStage: number;
  readonly worldSize: number;
  readonly dsVersion?: string;
  /** The fp32 state dict (or, with `includeOptimizer`, `{model, <moment>: {...}}`). */
  readonly root: TorchValue;
}

/** What the plan asks the runner for: a file's text, or its decoded root (undefined when it cannot be opened). */
type Ask = { readonly file: string; readonly text?: true; readonly optional?: true };
type Answer = TorchValue | string | undefined;

/** Opens and consolidates a ZeRO folder from any files (async sources: Blobs, URLs). */
export async function openZero(dir: DirectoryFiles, options: ZeroOptions = {}): Promise<ZeroCheckpoint> {
  const plan = zeroPlan(dir.name, options);
  let step = plan.next(undefined);
  while (!step.done) {
    const ask = step.value;
    let src: ByteSource | undefined;
    try {
      src = await dir.open(ask.file);
    } catch (e) {
      if (!ask.optional) throw missing(e, dir.name, ask.file);
    }
    let answer: Answer;
    if (src !== undefined) {
      answer = await located(dir.name, ask.file, async () => {
        if (ask.text) return textOf(src.bytes ?? (await src.read(0, Math.min(src.size, 4096))));
        const root = (await openCheckpoint(src, { ...options.read, name: `${dir.name}/${ask.file}` })).root;
        for (const { tensor: t } of walkTensors(root, { into: "all" })) if (t.storage !== undefined) await loadStorage(t.storage.view?.root ?? t.storage);
        return root;
      });
    }
    step = plan.next(answer);
  }
  return step.value;
}

/** {@link openZero} over files that read synchronously (local folders). */
export function openZeroSync(dir: DirectoryFiles, options: ZeroOptions = {}): ZeroCheckpoint {
  const plan = zeroPlan(dir.name, options);
  let step = plan.next(undefined);
  while (!step.done) {
    const ask = step.value;
    let src: ByteSource | Promise<ByteSource> | undefined;
    try {
      src = dir.open(ask.file);
    } catch (e) {
      if (!ask.optional) throw missing(e, dir.name, ask.file);
    }
    if (src instanceof Promise || (src !== undefined && src.bytes === undefined && src.readSync === undefined)) {
      throw new CheckpointError("invalid-argument", "openZeroSync needs files that read synchronously; use openZero", { file: dir.name });
    }
    const s = src;
    const answer: Answer = s === undefined ? undefined : locatedSync(dir.name, ask.file, () =>
      ask.text ? textOf(s.bytes ?? s.readSync!(0, Math.min(s.size, 4096))) : openCheckpointSync(s, { ...options.read, name: `${dir.name}/${ask.file}` }).root,
    );
    step = plan.next(answer);
  }
  return step.value;
}

function* zeroPlan(name: string, options: ZeroOptions): Generator<Ask, ZeroCheckpoint, Answer> {
  let tag = options.tag;
  if (tag === undefined) {
    const latest = yield { file: "latest", text: true, optional: true };
    tag = typeof latest === "string" ? parseLatest(latest, `${name}/latest`) : "";
  } else tag = parseLatest(tag, name);
  const prefix = tag === "" ? "" : `${tag}/`;
  const full = (f: string): string => `${name}/${prefix}${f}`;

  let modelFile = ZERO_MODEL_FILE;
  let modelRoot = yield { file: prefix + modelFile, optional: true };
  if (modelRoot === undefined) {
    modelFile = zero3ModelFile(0);
    modelRoot = yield { file: prefix + modelFile, optional: true };
  }
  if (modelRoot === undefined) {
    throw new CheckpointError("missing-record", `no ${ZERO_MODEL_FILE} or ${zero3ModelFile(0)}: not a DeepSpeed checkpoint folder${tag === "" ? "" : ` (tag ${JSON.stringify(tag)})`}`, { file: full(ZERO_MODEL_FILE) });
  }
  const models: ZeroModelState[] = [parseModelState(modelRoot as TorchValue, full(modelFile))];

  let bf16 = true;
  let optimRoot = yield { file: prefix + zeroOptimFile(0, true), optional: true };
  if (optimRoot === undefined) {
    bf16 = false;
    optimRoot = yield { file: prefix + zeroOptimFile(0, false) };
  }
  const optims: ZeroOptimState[] = [parseOptimState(optimRoot as TorchValue, full(zeroOptimFile(0, bf16)))];
  const { worldSize, zeroStage } = optims[0]!;
  for (let r = 1; r < worldSize; r++) {
    const file = zeroOptimFile(r, bf16);
    const o = parseOptimState((yield { file: prefix + file }) as TorchValue, full(file));
    if (o.zeroStage !== zeroStage || o.worldSize !== worldSize) {
      throw new CheckpointError("invalid-data", `rank ${r} says zero stage ${o.zeroStage} over ${o.worldSize} ranks, rank 0 zero stage ${zeroStage} over ${worldSize}`, { file: full(file) });
    }
    optims.push(o);
  }
  if (zeroStage === 3 && models[0]!.frozen.length > 0) {
    if (modelFile !== zero3ModelFile(0)) throw new CheckpointError("missing-record", `ZeRO-3 frozen params need each rank's ${zero3ModelFile(0)}`, { file: full(zero3ModelFile(0)) });
    for (let r = 1; r < worldSize; r++) models.push(parseModelState((yield { file: prefix + zero3ModelFile(r) }) as TorchValue, full(zero3ModelFile(r))));
  }
  const root = consolidate(models, optims, options.includeOptimizer === true);
  const ds = models[0]!.dsVersion;
  return { format: "deepspeed", name, tag, zeroStage, worldSize, root, ...(ds === undefined ? {} : { dsVersion: ds }) };
}

function consolidate(models: readonly ZeroModelState[], optims: readonly ZeroOptimState[], includeOptimizer: boolean): TorchValue {
  const m0 = models[0]!;
  const { worldSize, zeroStage } = optims[0]!;
  const sd = new Map<string, Tensor>();
  for (const [k, t] of m0.buffers) {
    if (!canConvertToFloat32(t.dtype)) throw new CheckpointError("invalid-data", `buffer ${JSON.stringify(k)} of dtype ${t.dtype} cannot be made float32`, { file: m0.file, path: ["module", k] });
    sd.set(k, tensor(tensorToFloat32(t), { shape: t.shape }));
  }
  for (const p of m0.frozen) sd.set(p.name, zeroStage <= 2 ? frozen2(m0, p) : frozen3(models, p));
  const flat = (pick: (o: ZeroOptimState) => readonly Tensor[]) => optims.map((o) => ({ file: o.file, groups: pick(o).map((t) => tensorToFloat32(t)) }));
  const merge = (ranks: ReturnType<typeof flat>, what: string): Map<string, Float32Array> =>
    zeroStage <= 2 ? mergeZero2(worldSize, ranks, m0.paramGroups, what) : mergeZero3(worldSize, ranks, m0.paramGroups.flat(), what);
  const shapes = new Map(m0.paramGroups.flat().map((p) => [p.name, p.shape]));
  const asTensors = (values: Map<string, Float32Array>): Map<string, Tensor> => new Map([...values].map(([k, v]) => [k, tensor(v, { shape: shapes.get(k)! })]));
  for (const [k, t] of asTensors(merge(flat((o) => o.groups), "fp32 partitions"))) sd.set(k, t);
  for (const [tied, source] of m0.shared) {
    const t = sd.get(source);
    if (t !== undefined) sd.set(tied, t);
  }
  if (!includeOptimizer) return dict(sd);
  const out = new Map<string, TorchValue>([["model", dict(sd)]]);
  for (const key of optims[0]!.moments.keys()) {
    if (!optims.every((o) => o.moments.has(key))) continue;
    out.set(key, dict(asTensors(merge(flat((o) => o.moments.get(key)!), `optimizer ${key}`))));
  }
  return dict(out);
}

function frozen2(m: ZeroModelState, p: ZeroParam): Tensor {
  const t = m.frozenFragments.get(p.name);
  if (t === undefined) throw new CheckpointError("missing-record", `frozen param ${JSON.stringify(p.name)} has no fragment`, { file: m.file, path: ["frozen_param_fragments", p.name] });
  return t;
}

/** ZeRO-3 frozen params: every rank's fragment, concatenated, cut to numel (dtype kept, as torch.cat keeps it). */
function frozen3(models: readonly ZeroModelState[], p: ZeroParam): Tensor {
  const frags = models.map((m) => frozen2(m, p));
  const dtype = frags[0]!.dtype;
  const parts = frags.map((t, i) => {
    if (t.dtype !== dtype) throw new CheckpointError("invalid-data", `frozen param ${JSON.stringify(p.name)} is ${t.dtype} here, ${dtype} on rank 0`, { file: models[i]!.file, path: ["frozen_param_fragments", p.name] });
    return tensorBytes(t);
  });
  const n = numelOf(p.shape);
  const count = frags.reduce((a, t) => a + numelOf(t.shape), 0);
  if (count < n) throw new CheckpointError("invalid-data", `frozen param ${JSON.stringify(p.name)}: the ranks' fragments hold ${count} numels, its shape needs ${n}`, { file: models[models.length - 1]!.file, path: ["frozen_param_fragments", p.name] });
  const item = parts[0]!.length / Math.max(1, numelOf(frags[0]!.shape));
  const bytes = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const b of parts) {
    bytes.set(b, at);
    at += b.length;
  }
  return tensor(bytes.slice(0, n * item), { dtype, shape: p.shape });
}

function dict(m: ReadonlyMap<string, TorchValue>): PyDict<TorchHost> {
  return { kind: "dict", entries: [...m] } as PyDict<TorchHost>;
}

function missing(e: unknown, dir: string, file: string): unknown {
  return new CheckpointError("missing-record", `cannot open ${file}: ${String((e as Error)?.message ?? e)}`, { file: `${dir}/${file}`, cause: e });
}

async function located<T>(dir: string, file: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw isTorchsaveError(e) && e.file === undefined ? e.withLocation({ file: `${dir}/${file}` }) : e;
  }
}

function locatedSync<T>(dir: string, file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw isTorchsaveError(e) && e.file === undefined ? e.withLocation({ file: `${dir}/${file}` }) : e;
  }
}

function textOf(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(b);
}
