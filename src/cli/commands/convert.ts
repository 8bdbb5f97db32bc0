/**
 * `torchsave convert IN OUT`: any checkpoint, safetensors, JSON or msgpack file to any format
 * torchsave writes, optionally gzipped. The input format comes from content; the output from
 * `--to` or OUT's extension. Writes are atomic; storages stream one at a time.
 */
import { basename } from "node:path";
import type { ConvertFormat, ConvertOptions } from "../../convert/index.js";
import { CONVERT_FORMATS, formatFromName, isConvertFormat, PLAIN_JSON_DTYPES, planConversion } from "../../convert/index.js";
import { openFileSource, writeFileAtomic } from "../../node/index.js";
import { archiveNameFor, nodeCrc32 } from "../../node/write-checkpoint.js";
import type { DTypeName, TorchValue } from "../../torch/index.js";
import { dtypeByName } from "../../torch/index.js";
import type { LocationMap } from "../../torch/map-location.js";
import { sanitize } from "../../validate/index.js";
import type { Command, CommandContext } from "../command.js";
import { formatBytes } from "../describe.js";
import { UsageError } from "../errors.js";

/** Writes kept pending while the next chunks are produced (see `writeFileAtomic`). */
const CONVERT_IN_FLIGHT = 4;

/** Below this many storage bytes no progress bar is drawn (the work is quick). */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;

/** The `convert` command, for `src/cli/main.ts` to register. */
export const convertCommand: Command = {
  name: "convert",
  summary: "convert between .pt, JSON, plain JSON, msgpack, safetensors and pickle (± gzip)",
  usage:
    "torchsave convert IN OUT [--to json|json-plain|msgpack|safetensors|pt|pt-legacy|pickle] [--gzip] [--quiet] " +
    "[--dtype D] [--strip-prefix P] [--add-prefix P] [--map-location M] [--sanitize]",
  options: {
    to: { type: "string" },
    gzip: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    dtype: { type: "string" },
    "strip-prefix": { type: "string" },
    "add-prefix": { type: "string" },
    "map-location": { type: "string" },
    sanitize: { type: "boolean" },
  },
  minPositionals: 2,
  maxPositionals: 2,
  async run(ctx) {
    const [inPath, outPath] = ctx.positionals as [string, string];
    const options = parseOptions(ctx, outPath);
    const quiet = ctx.values.quiet === true;
    const note = (line: string) => {
      if (!quiet) ctx.err(`torchsave: ${line}`);
    };
    const source = openFileSource(inPath);
    try {
      const plan = planConversion(source, {
        ...options,
        ...(ctx.values.sanitize === true ? { transform: (root: TorchValue) => sanitizeRoot(root, note) } : {}),
      });
      if (options.dtype !== undefined && plan.input.format !== "json-plain") note(`--dtype applies to plain JSON input only; ${plan.input.format} input keeps its dtypes`);
      for (const line of plan.notes) note(line);
      const progress = !quiet && ctx.interactive && plan.storageBytes >= PROGRESS_MIN_BYTES ? progressBar(plan.storageBytes, options.to) : undefined;
      // Chunks come coalesced (about 1 MiB) and are each their own bytes, so a few writes can be pending.
      await writeFileAtomic(outPath, progress === undefined ? plan.chunks : progress.wrap(plan.chunks), { inFlight: CONVERT_IN_FLIGHT });
      progress?.done();
      note(`${plan.input.gzip ? "gzip+" : ""}${plan.input.format} → ${options.gzip === true ? "gzip+" : ""}${options.to}: wrote ${outPath}`);
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
  const map = str("map-location");
  const strip = str("strip-prefix");
  const add = str("add-prefix");
  return {
    to,
    gzip,
    ...(dtype === undefined ? {} : { dtype }),
    ...(strip === undefined ? {} : { stripPrefix: strip }),
    ...(add === undefined ? {} : { addPrefix: add }),
    ...(map === undefined ? {} : { mapLocation: parseLocationMap(map) }),
    // A .pt written for a file gets torch's archive name for it; CRCs from zlib when Node has it.
    write: { archiveName: archiveNameFor(outPath.replace(/\.gz$/i, "")), ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }) },
  };
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
function sanitizeRoot(root: TorchValue, note: (line: string) => void): TorchValue {
  const result = sanitize(root);
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

