/**
 * joblib dumps in the validator. `joblib.dump` writes each numpy array as a
 * `NumpyArrayWrapper` whose BUILD is followed, inside the pickle stream, by the array's raw bytes
 * (or, for an object array, by a nested pickle). Those bytes are not opcodes: walking them gives
 * a false `unknown-opcode`. The reader's joblib layer (torch/read/joblib.ts, the one place that
 * knows the layout) decodes the stream inertly and says where each array's data lies; the
 * security walk then steps over raw data, and scans each nested pickle as a pickle of its own.
 */
import { mentions } from "../pickle/decode-fetches.js";
import { JOBLIB_MARKERS } from "../torch/read/joblib.js";
import { decodeTorchPickle } from "../torch/read/torch-unpickle.js";
import { report, type Ctx } from "./context.js";
import { reportScan, scanStream } from "./report-scan.js";
import { scanPickle } from "./scan-pickle.js";

interface Region {
  readonly start: number;
  readonly end: number;
}

/** Where a joblib stream's array data lies. */
export interface JoblibLayout {
  /** Position just after a wrapper's BUILD → where its data ends (the walk resumes there). */
  readonly skipAfterBuild: ReadonlyMap<number, number>;
  /** Nested pickles of object arrays, `[start, end)`. */
  readonly nested: readonly Region[];
  /** Raw array data, `[start, end)`. */
  readonly raw: readonly Region[];
  /** Raw array bytes stepped over. */
  readonly rawBytes: number;
  readonly arrays: number;
}

/**
 * The layout of a joblib stream, or undefined when the bytes mention no joblib wrapper. A decode
 * that fails part-way keeps what it learned before: the walk then stops where the reader did.
 */
export function joblibLayout(bytes: Uint8Array, name?: string): JoblibLayout | undefined {
  if (!JOBLIB_MARKERS.some((m) => mentions(bytes, 0, bytes.length, m))) return undefined;
  const skipAfterBuild = new Map<number, number>();
  const nested: Region[] = [];
  const raw: Region[] = [];
  let rawBytes = 0, arrays = 0;
  try {
    decodeTorchPickle(bytes, 0, name === undefined ? {} : { name }, {
      joblibData: (buildEnd, start, end, kind) => {
        skipAfterBuild.set(buildEnd, end);
        arrays++;
        if (kind === "pickle") nested.push({ start, end });
        else {
          raw.push({ start, end });
          rawBytes += end - start;
        }
      },
    });
  } catch {
    // The walk reports the first problem itself, at the offset where it meets it.
  }
  return { skipAfterBuild, nested, raw, rawBytes, arrays };
}

/** Scans a plain pickle that may be a joblib dump: array data stepped over, nested pickles scanned. */
export function scanMaybeJoblib(ctx: Ctx, bytes: Uint8Array): void {
  const layout = joblibLayout(bytes, ctx.options.name);
  if (layout === undefined || layout.arrays === 0) {
    scanStream(ctx, bytes, 0, { persistentIds: "any" });
    return;
  }
  report(ctx, "joblib-arrays", `a joblib dump: ${layout.arrays} array(s) follow their NumpyArrayWrapper's BUILD in the stream; ${layout.rawBytes} bytes of raw array data were stepped over${layout.nested.length === 0 ? "" : `, and ${layout.nested.length} object array(s)' nested pickles scanned`}`, { byteOffset: 0 });
  const skip = { persistentIds: "any" as const, skipAfterBuild: layout.skipAfterBuild };
  scanStream(ctx, bytes, 0, skip);
  for (const n of layout.nested) scanStream(ctx, bytes.subarray(0, n.end), n.start, { ...skip, trailing: "ignore" });
  for (const r of layout.raw) scanAsOpcodes(ctx, bytes, r);
}

/** Most opcodes walked per raw region: benign array data stops at its first non-opcode byte. */
const MAX_RAW_REGION_OPS = 1_000_000;

/**
 * `pickle.load` (rather than `joblib.load`) of the same file runs the bytes after the BUILD as
 * opcodes: array data that imports anything that way is reported with its imports, so stepping
 * over it hides nothing. A walk that imports nothing (the case of real array data) says nothing.
 */
function scanAsOpcodes(ctx: Ctx, bytes: Uint8Array, r: Region): void {
  if (ctx.budget.opsLeft <= 0) return;
  const probe = scanPickle(bytes.subarray(0, r.end), r.start, { maxOps: Math.min(MAX_RAW_REGION_OPS, ctx.budget.opsLeft) });
  ctx.budget.opsLeft -= probe.ops;
  if (probe.globals.length === 0 && probe.unresolved.length === 0) return;
  report(ctx, "embedded-pickle", `the ${r.end - r.start} bytes of joblib array data here parse as pickle opcodes that import ${probe.globals.length} global(s): pickle.load (not joblib.load) of this file runs them`, { byteOffset: r.start });
  reportScan(ctx, bytes, probe, { persistentIds: "any", reportError: false });
}
