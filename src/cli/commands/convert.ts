/**
 * `torchsave convert IN OUT`: any checkpoint, safetensors, JSON or msgpack file to any format
 * torchsave writes, optionally gzipped. The input format comes from content; the output from
 * `--to` or OUT's extension. Writes are atomic; storages stream one at a time.
 */
import { basename } from "node:path";
import type { ConvertFormat, ConvertOptions } from "../../convert/index.js";
import { CONVERT_FORMATS, DEFAULT_GUNZIP_MAX_BYTES, formatFromName, isConvertFormat, PLAIN_JSON_DTYPES, planConversion } from "../../convert/index.js";
import { writeFileAtomic } from "../../node/index.js";
import { openFileSourceInflating } from "../../node/gunzip-file.js";
import { gzipStream } from "../../node/gzip-stream.js";
import { archiveNameFor, nodeCrc32 } from "../../node/write-checkpoint.js";
import type { DTypeName, TorchValue } from "../../torch/index.js";
import { dtypeByName } from "../../torch/index.js";
import type { LocationMap } from "../../torch/map-location.js";
import { sanitize } from "../../validate/index.js";
import type { Command, CommandContext } from "../command.js";
import { formatBytes } from "../describe.js";
import { UsageError } from "../errors.js";
import { writeCheckedForTarget } from "../sanitize-check.js";
import { parseTorchTarget } from "../torch-target.js";
import type { TorchTarget } from "../../validate/index.js";
import { isTorchsaveError } from "../../errors.js";
import { loadAllStorages, needsInputHelper, openInput, tempDirFor } from "../input.js";
import { writeShardedOutput } from "../shards-output.js";
import { writeDcpOutput } from "../dcp-output.js";

/** Writes kept pending while the next chunks are produced (see `writeFileAtomic`). */
const CONVERT_IN_FLIGHT = 4;
/**
 * Inputs up to this size are read whole (one read; storages are views of it, no read or copy per
 * storage: a file of 80,000 small storages costs one read instead of thousands). Larger ones are
 * read range by range, so a conversion's memory stays bounded whatever the input's size.
 */
const CONVERT_WHOLE_FILE_BYTES = 64 * 1024 * 1024;

/** Below this many storage bytes no progress bar is drawn (the work is quick). */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;

/** The `convert` command, for `src/cli/main.ts` to register. */
export const convertCommand: Command = {
  name: "convert",
  summary: "convert between .pt, JSON, plain JSON, msgpack, safetensors and pickle (± gzip)",
  usage:
    "torchsave convert IN OUT [--to FORMAT] [--gzip] [--quiet] [--json] [--ignore-crc] [--dtype D] [--tensors auto|all|none] " +
    "[--keep-list PATH]... [--state-dict] [--strip-prefix P] [--add-prefix P] [--map-location M] [--sanitize [--torch 1.13|2.6|current]] [--max-shard-size SIZE] [--include-optimizer]",
  options: {
    to: { type: "string", arg: "FORMAT", doc: `output format: ${CONVERT_FORMATS.join(", ")}, or dcp (OUT is a torch.distributed.checkpoint folder). Default: from OUT's extension (.json, .msgpack, .safetensors, .pt/.pth/.bin/.ckpt, .pkl, plus .gz).` },
    gzip: { type: "boolean", doc: "gzip the output (implied by an OUT ending in .gz)." },
    quiet: { type: "boolean", short: "q", doc: "print no notes and no progress bar on stderr (errors are still printed)." },
    json: { type: "boolean", doc: "print what was done as one JSON object on stdout: input and output formats, notes, bytes written." },
    "ignore-crc": { type: "boolean", doc: "read zip records, and gzip streams, whose CRC-32 does not match (by default a damaged record is an error, so convert never launders damage into a file with fresh CRCs)." },
    dtype: { type: "string", arg: "D", doc: `plain JSON input only: the dtype of every tensor made from lists (${PLAIN_JSON_DTYPES.join(", ")}). Default: inferred as torch.tensor does (bool, int64, float32).` },
    tensors: { type: "string", arg: "auto|all|none", doc: "plain JSON input only: which lists of numbers become tensors. auto (default): every rectangular list, except where a recognized optimizer, LR scheduler or GradScaler state_dict needs a list or tuple (params, betas, base_lrs); all: every rectangular list; none: no tensors." },
    "keep-list": { type: "string", multiple: true, arg: "PATH", doc: "plain JSON input only: the list at this dotted key path stays a list of numbers (* matches one key; repeatable), e.g. --keep-list 'history.*'." },
    "state-dict": { type: "boolean", doc: "the input is a whole pickled module (torch.save(model)) or a dict holding one: write model.state_dict() instead (names, order, buffers, _metadata as torch makes them)." },
    "strip-prefix": { type: "string", arg: "P", doc: "remove P from the keys of every state_dict (e.g. module. from DataParallel); an error when no key starts with P." },
    "add-prefix": { type: "string", arg: "P", doc: "add P in front of the keys of every state_dict." },
    "map-location": { type: "string", arg: "M", doc: "rewrite storage locations: one device for all (cpu) or a table FROM=TO,... (cuda:1=cuda:0)." },
    sanitize: { type: "boolean", doc: "rewrite plain data in disguise (numpy scalars, argparse.Namespace ...) to types torch.load(weights_only=True) accepts; what it cannot rewrite is reported." },
    torch: { type: "string", arg: "1.13|2.6|current", doc: "with --sanitize: the torch the output must load in with weights_only=True (default current); what that torch cannot hold is refused with the reason, and the written file is checked with its rules before it replaces OUT." },
    "include-optimizer": { type: "boolean", doc: "DeepSpeed ZeRO input only: also write the optimizer moments, named by parameter (OUT holds {model, exp_avg, exp_avg_sq})." },
    "max-shard-size": { type: "string", arg: "SIZE", doc: "write OUT as a folder of Hugging Face shards (model-00001-of-0000N.safetensors, or .bin with --to pt) plus the index, each at most SIZE (5GB, 500MB, bytes)." },
  },
  examples: [
    "torchsave convert model.pt model.json                 # lossless JSON; `convert model.json back.pt` gives the same tensors",
    "torchsave convert ckpt.pt w.safetensors               # nested checkpoints keep their skeleton in __metadata__",
    "torchsave convert ddp.pt plain.pt --strip-prefix module. --map-location cpu",
    "torchsave convert optim.json optim.pt                 # a json.dump'd optimizer state_dict, back in the shape load_state_dict needs",
    "torchsave convert old.pt safe.pt --sanitize --json    # report as JSON",
    "torchsave convert model.pt sd.pt --state-dict         # torch.save(model) → model.state_dict()",
    "torchsave convert dcp_ckpt/ model.safetensors          # a torch.distributed.checkpoint folder, consolidated",
    "torchsave convert model.pt out/ --max-shard-size 5GB  # Hugging Face shards + model.safetensors.index.json",
    "torchsave convert model.pt out_dcp/ --to dcp           # a DCP folder torch.distributed.checkpoint.load reads",
    "torchsave convert ds_ckpt/ model.pt                    # a DeepSpeed ZeRO folder (latest + global_stepN/), fp32 as zero_to_fp32.py",
  ],
  minPositionals: 2,
  maxPositionals: 2,
  async run(ctx) {
    const [inPath, outPath] = ctx.positionals as [string, string];
    if (ctx.values.to === "dcp") return writeDcpOutput(ctx, inPath, outPath);
    const shardSize = ctx.values["max-shard-size"];
    if (typeof shardSize === "string") {
      const ext = ctx.values.to === "pt" ? "bin" : "safetensors";
      return writeShardedOutput(ctx, inPath, outPath, shardSize, (file) => parseOptions({ ...ctx, values: { ...ctx.values, to: ext === "bin" ? "pt" : "safetensors" } }, file));
    }
    const options = parseOptions(ctx, outPath);
    const quiet = ctx.values.quiet === true;
    const json = ctx.values.json === true;
    const notes: string[] = [];
    const note = (line: string) => {
      notes.push(line);
      if (!quiet) ctx.err(`torchsave: ${line}`);
    };
    const sanitizing = ctx.values.sanitize === true;
    if (ctx.values.torch !== undefined && !sanitizing) throw new UsageError("--torch applies to --sanitize (the torch the sanitized file must load in)");
    const target = parseTorchTarget(ctx.values.torch);
    // Only a torch file can be checked against torch.load(weights_only=True) (torch.load reads no gzip).
    const checked = sanitizing && (options.to === "pt" || options.to === "pt-legacy") && options.gzip !== true;
    if (sanitizing && !checked) note(`--sanitize: ${options.gzip === true ? "gzip" : options.to} output is not loaded by torch.load, so it is not checked against torch ${target}`);
    // torch 1.13's rules are not the writer's (current torch's): write the target's own calls (such as
    // 1.13's _rebuild_sparse_csr_tensor) and let the check against torch 1.13 decide.
    const writeOptions = checked && target === "1.13" ? { write: { ...options.write, weightsOnly: false } } : {};
    // A DCP directory, shard index or URL is read through ../input.ts (remote storages are loaded first: the writers read synchronously).
    const includeOptimizer = ctx.values["include-optimizer"] === true;
    const other = needsInputHelper(inPath) ? await openInput(inPath, {}, { includeOptimizer }) : undefined;
    if (other !== undefined) await loadAllStorages(other);
    if (includeOptimizer && other?.input.format !== "deepspeed") {
      other?.close();
      throw new UsageError("--include-optimizer applies to DeepSpeed ZeRO folders only");
    }
    // gzip input is inflated as it is read (node:zlib), to memory when small, else to a temp file
    // beside OUT (not the system's, often held in memory) that is read in place and then removed.
    const file = other === undefined
      ? await openFileSourceInflating(inPath, {
        wholeUpTo: CONVERT_WHOLE_FILE_BYTES, maxBytes: DEFAULT_GUNZIP_MAX_BYTES, verifyCrc: ctx.values["ignore-crc"] !== true, tempDir: tempDirFor(outPath),
      })
      : undefined;
    const source = file?.source ?? { close: () => other?.close() };
    try {
      const plan = namingOutput(outPath, () =>
        planConversion(file === undefined ? other!.input : file.source, {
          ...options,
          // gzip output is node:zlib's, below (native, on the thread pool), not the core's fflate.
          gzip: false,
          ...(file?.gzip === true ? { gunzipped: true } : {}),
          ...writeOptions,
          ...(sanitizing ? { transform: (root: TorchValue) => sanitizeRoot(root, note, target) } : {}),
        }),
      );
      const progress = !quiet && !json && ctx.interactive && plan.storageBytes >= PROGRESS_MIN_BYTES ? progressBar(plan.storageBytes, options.to) : undefined;
      let written = 0;
      const countedSync = function* (chunks: Iterable<Uint8Array>): Generator<Uint8Array> {
        for (const c of chunks) {
          written += c.length;
          yield c;
        }
      };
      const counted = async function* (chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
        for await (const c of chunks) {
          written += c.length;
          yield c;
        }
      };
      const produced = progress === undefined ? plan.chunks : progress.wrap(plan.chunks);
      if (checked) await writeCheckedForTarget(outPath, countedSync(produced), target);
      // Chunks come coalesced (about 1 MiB) and are each their own bytes, so a few writes can be pending.
      else if (options.gzip === true) await writeFileAtomic(outPath, counted(gzipStream(produced)), { inFlight: CONVERT_IN_FLIGHT });
      else await writeFileAtomic(outPath, countedSync(produced), { inFlight: CONVERT_IN_FLIGHT });
      progress?.done();
      // Notes after the write: a storage found damaged while it is written (CRC-32) is the only message.
      if (plan.input.format !== "json-plain") {
        for (const flag of ["dtype", "tensors", "keep-list"]) {
          if (ctx.values[flag] !== undefined) note(`--${flag} applies to plain JSON input only; ${plan.input.format} input keeps its tensors`);
        }
      }
      for (const line of plan.notes) note(line);
      const from = `${plan.input.gzip ? "gzip+" : ""}${plan.input.format}`;
      const to = `${options.gzip === true ? "gzip+" : ""}${options.to}`;
      if (json) {
        ctx.out(JSON.stringify({ input: inPath, output: outPath, from, to, bytes: written, storageBytes: plan.storageBytes, notes, ...(checked ? { checkedFor: `torch ${target}` } : {}) }, null, 2));
      } else note(`${from} → ${to}: wrote ${outPath}${checked ? ` (torch ${target}'s torch.load(weights_only=True) accepts it)` : ""}`);
    } finally {
      source.close();
    }
    return 0;
  },
};

function parseOptions(ctx: CommandContext, outPath: string): ConvertOptions & { readonly to: ConvertFormat; readonly dtype?: DTypeName } {
  const v = ctx.values;
  const str = (name: string): string | undefined => (typeof v[name] === "string" ? (v[name] as string) : undefined);
  const fromName = formatFromName(outPath);
  const toFlag = str("to");
  if (toFlag !== undefined && !isConvertFormat(toFlag)) throw new UsageError(`--to must be one of ${CONVERT_FORMATS.join(", ")}, not ${JSON.stringify(toFlag)}`);
  const to = toFlag ?? fromName?.format;
  if (to === undefined) throw new UsageError(`cannot tell the output format from ${JSON.stringify(basename(outPath))}; pass --to ${CONVERT_FORMATS.join("|")}`);
  const gzip = v.gzip === true || fromName?.gzip === true;
  let dtype: DTypeName | undefined;
  const dtypeFlag = str("dtype");
  if (dtypeFlag !== undefined) {
    const info = dtypeByName(dtypeFlag);
    if (info === undefined || !PLAIN_JSON_DTYPES.includes(info.name)) throw new UsageError(`--dtype must be one of ${PLAIN_JSON_DTYPES.join(", ")}`);
    dtype = info.name;
  }
  const tensorsFlag = str("tensors");
  if (tensorsFlag !== undefined && !["auto", "all", "none"].includes(tensorsFlag)) throw new UsageError(`--tensors must be auto, all or none, not ${JSON.stringify(tensorsFlag)}`);
  const keep = (Array.isArray(v["keep-list"]) ? v["keep-list"] : []).map(String);
  const plain = plainOptions(tensorsFlag ?? "auto", keep);
  const map = str("map-location");
  const strip = str("strip-prefix");
  const add = str("add-prefix");
  return {
    to,
    gzip,
    ...(dtype === undefined ? {} : { dtype }),
    plain,
    ...(strip === undefined ? {} : { stripPrefix: strip }),
    ...(v["state-dict"] === true ? { stateDict: true } : {}),
    ...(add === undefined ? {} : { addPrefix: add }),
    ...(map === undefined ? {} : { mapLocation: parseLocationMap(map) }),
    verifyCrc: v["ignore-crc"] === true ? "none" : "all",
    ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }),
    // A .pt written for a file gets torch's archive name for it; CRCs from zlib when Node has it.
    write: { archiveName: archiveNameFor(outPath.replace(/\.gz$/i, "")), ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }) },
  };
}

/** `--tensors` and `--keep-list` as the plain JSON import's options. */
function plainOptions(mode: string, keep: readonly string[]): { stateDicts: boolean; isTensor?: (path: readonly (string | number)[]) => boolean } {
  const patterns = keep.map((p) => {
    if (p.length === 0) throw new UsageError("--keep-list needs a dotted key path, e.g. metrics.history");
    return p.split(".");
  });
  const kept = (path: readonly (string | number)[]) =>
    patterns.some((pat) => pat.length === path.length && pat.every((k, i) => k === "*" || k === String(path[i])));
  if (mode === "none") return { stateDicts: true, isTensor: () => false };
  if (mode === "all") return { stateDicts: false, ...(patterns.length === 0 ? {} : { isTensor: (p) => !kept(p) }) };
  return { stateDicts: true, ...(patterns.length === 0 ? {} : { isTensor: (p) => !kept(p) }) };
}

/** Runs `make`; a torchsave error that names no file (the output's encoders do not know it) gets OUT's name. */
function namingOutput<T>(outPath: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (isTorchsaveError(e) && e.file === undefined) throw e.withLocation({ file: outPath });
    throw e;
  }
}

/** `cpu`, or a table `cuda:1=cuda:0,cuda:2=cpu`. */
export function parseLocationMap(text: string): LocationMap {
  if (!text.includes("=")) {
    if (text.length === 0) throw new UsageError("--map-location needs a device, e.g. cpu");
    return text;
  }
  const table: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of text.split(",")) {
    const [from, to, extra] = pair.split("=");
    if (from === undefined || to === undefined || extra !== undefined || from === "" || to === "") {
      throw new UsageError(`--map-location: ${JSON.stringify(pair)} is not FROM=TO (e.g. cuda:1=cuda:0)`);
    }
    Object.defineProperty(table, from, { value: to, enumerable: true });
  }
  return table;
}

/** `--sanitize`: validate's rewrite of plain data in disguise; what it refuses is reported, not dropped. */
function sanitizeRoot(root: TorchValue, note: (line: string) => void, target: TorchTarget): TorchValue {
  const result = sanitize(root, { target });
  for (const c of result.changes) note(`sanitize: ${pathText(c.path)}: ${c.from} → ${c.to}`);
  for (const r of result.refused) note(`sanitize: ${pathText(r.path)}: left as is (${r.global}: ${r.reason})`);
  return result.value;
}

const pathText = (path: readonly (string | number)[]): string => (path.length === 0 ? "(root)" : path.map(String).join("."));

/** A one-line progress bar on stderr, redrawn at most every 100 ms. */
function progressBar(storageBytes: number, to: ConvertFormat) {
  // Output bytes per storage byte, roughly: base64 in JSON, digits in plain JSON.
  const factor = to === "json" ? 4 / 3 : to === "json-plain" ? 5 : 1;
  const expected = storageBytes * factor;
  let written = 0;
  let last = 0;
  const draw = (final: boolean) => {
    const now = Date.now();
    if (!final && now - last < 100) return;
    last = now;
    const fraction = final ? 1 : Math.min(0.99, written / expected);
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${formatBytes(written)}${final ? "\n" : ""}`);
  };
  return {
    *wrap(chunks: Iterable<Uint8Array>): Generator<Uint8Array> {
      for (const c of chunks) {
        written += c.length;
        draw(false);
        yield c;
      }
    },
    done: () => draw(true),
  };
}

