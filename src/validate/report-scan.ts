/**
 * Turning pickle scans into findings: every imported global classified and listed, unresolved or
 * confused STACK_GLOBALs, extension codes, unusual persistent ids, expansion structures, nested
 * pickles (validated in turn, to a bounded depth), several pickles in one stream, trailing bytes,
 * and pickles carved out of bytes where the format has none (polyglots).
 */
import { classifyGlobal, type GlobalVerdict } from "./classify-global.js";
import { recordName, report, nestedContext, type Ctx } from "./context.js";
import type { FindingLocation } from "./finding.js";
import { looksLikePickle, scanPickle, type PickleScan } from "./scan-pickle.js";

/** How persistent ids are judged: torch zip data.pkl, a legacy main pickle, or any other pickle. */
export type PersistentIdContext = "zip" | "legacy" | "tar" | "any";

/** Where a scanned pickle lives and how its persistent ids are judged. */
export interface ScanOptions {
  /** The record the pickle lives in (offsets below are relative to it). */
  readonly record?: string;
  /** Offset of `bytes[0]` in the record. Default 0. */
  readonly baseOffset?: number;
  readonly persistentIds?: PersistentIdContext;
  /** Report the scan's error (truncated/malformed pickle). Default true. */
  readonly reportError?: boolean;
  /** Non-opcode data to step over (joblib's arrays), as `scanPickle`'s `skipAfterBuild`. */
  readonly skipAfterBuild?: ReadonlyMap<number, number>;
}

/** Expansion heuristics: fickling's InterpreterLimits uses a GET:PUT ratio of 50. */
const EXPANSION_MIN_REFS = 10_000;
const EXPANSION_RATIO = 50;
/** Nesting beyond which recursive consumers (repr, deepcopy, json) overflow. */
const DEEP_MARKS = 1_000;

/** Scans one pickle at `start` of `bytes` within the run's budget, and reports what it finds. */
export function scanAndReport(ctx: Ctx, bytes: Uint8Array, start: number, options: ScanOptions = {}): PickleScan {
  const base = options.baseOffset ?? 0;
  const scan = scanPickle(bytes, start, {
    baseOffset: base, maxOps: Math.max(0, ctx.budget.opsLeft), ...(options.skipAfterBuild === undefined ? {} : { skipAfterBuild: options.skipAfterBuild }),
  });
  ctx.budget.opsLeft -= scan.ops;
  if (scan.limitReached) budgetExhausted(ctx, { byteOffset: scan.end, ...recordOf(options.record) });
  reportScan(ctx, bytes, scan, options);
  return scan;
}

/** Reports a scan already made (see {@link scanAndReport}). */
export function reportScan(ctx: Ctx, bytes: Uint8Array, scan: PickleScan, options: ScanOptions = {}): void {
  const record = options.record;
  const where = (byteOffset: number): FindingLocation => ({ byteOffset, ...recordOf(record) });
  const fullRecord = recordName(ctx, record) ?? "";

  for (const g of scan.globals) {
    const mapKey = `${fullRecord}\0${g.module}\0${g.name}`;
    const existing = ctx.imports.get(mapKey);
    if (existing !== undefined) {
      existing.count++;
      if (!existing.opcodes.includes(g.opcode)) existing.opcodes.push(g.opcode);
      if (!existing.spellings.includes(g.spelling)) existing.spellings.push(g.spelling);
      continue;
    }
    const verdict = provenPattern(scan, classifyGlobal(g.module, g.name, ctx.options.allow), ctx);
    ctx.imports.set(mapKey, {
      module: g.module, name: g.name, key: verdict.key, class: verdict.class, reason: verdict.reason,
      ...(verdict.kind === undefined ? {} : { kind: verdict.kind }),
      ...(verdict.sources === undefined ? {} : { sources: verdict.sources }),
      ...(verdict.rule === undefined ? {} : { rule: verdict.rule }),
      count: 1, where: { byteOffset: g.offset, ...recordOf(fullRecord === "" ? undefined : fullRecord) },
      opcodes: [g.opcode], spellings: [g.spelling],
    });
    const shown = `${g.module}.${g.name}` === verdict.key ? verdict.key : `${g.module}.${g.name} (= ${verdict.key})`;
    const how = g.spelling === "override" ? ` via ${g.opcode} through an attribute a BUILD planted` : g.opcode === "GLOBAL" ? "" : g.spelling === "memo" ? ` via ${g.opcode} from memo'd strings` : ` via ${g.opcode}`;
    switch (verdict.class) {
      case "dangerous":
        report(ctx, "global-dangerous", `imports ${shown}${how}: ${verdict.kind ?? "dangerous"} — ${verdict.reason} (flagged by ${(verdict.sources ?? []).join(", ")})`, where(g.offset));
        break;
      case "unknown":
        report(ctx, "global-unknown", `imports ${shown}${how}: ${verdict.reason}`, where(g.offset));
        break;
      case "plain-data":
        report(ctx, "global-plain-data", `imports ${shown}${how}: ${verdict.reason}, which weights_only refuses (admitted by the plain-data rule)`, where(g.offset));
        break;
      case "allowed":
        if (verdict.rule !== undefined && !verdict.rule.startsWith("weights_only")) report(ctx, "global-allowed-by-user", `imports ${shown}${how}: admitted by ${verdict.rule}`, where(g.offset));
        break;
      default:
        break;
    }
  }
  for (const m of scan.globalMutations) {
    const attrs = m.attrs.length > 0 ? ` (sets ${m.attrs.slice(0, 8).join(", ")})` : "";
    report(ctx, "global-mutation", `${m.op} on the imported ${m.key} itself${attrs}: it changes the module or class in the loading process, so later lookups return what the pickle planted`, where(m.offset));
  }
  for (const u of scan.unresolved) report(ctx, "global-unresolved", u.message, where(u.offset));
  for (const c of scan.typeConfusion) report(ctx, "global-type-confusion", c.message, where(c.offset));
  const firstExt = scan.extensions[0];
  if (firstExt !== undefined) {
    const codes = [...new Set(scan.extensions.map((e) => e.code))].slice(0, 10).join(", ");
    report(ctx, "ext-opcode", `${scan.extensions.length} EXT opcode(s) load extension code(s) ${codes} from the loading process's copyreg registry`, where(firstExt.offset));
  }
  const pidContext = options.persistentIds ?? "any";
  for (const p of scan.otherPersistentIds) {
    if (pidContext === "legacy" && p.tag === "module") continue; // a whole-module save; its class is reported as an import
    if (pidContext === "tar") continue; // tar pickles name tensors by key
    report(ctx, "persistent-id-unusual", `persistent id ${p.tag === undefined ? "that is not a tuple" : `tagged ${JSON.stringify(p.tag)}`}: what it loads is up to the loader`, where(p.offset));
  }
  if (pidContext === "any" && scan.storageRefs.length > 0 && ctx.depth === 0) {
    report(ctx, "persistent-id-unusual", `${scan.storageRefs.length} storage persistent id(s) in a pickle that is not a torch checkpoint record`, where(scan.storageRefs[0]!.offset));
  }
  const refs = scan.gets + scan.dups;
  if (refs >= EXPANSION_MIN_REFS && refs > EXPANSION_RATIO * Math.max(1, scan.puts)) {
    report(ctx, "expansion-attack", `${scan.gets} GET and ${scan.dups} DUP against ${scan.puts} memo stores: shared references that multiply when copied`, where(scan.start));
  }
  if (scan.maxMarkDepth > DEEP_MARKS) {
    report(ctx, "deep-nesting", `MARKs nest ${scan.maxMarkDepth} deep`, where(scan.start));
  }
  if (scan.error !== undefined && options.reportError !== false) {
    const e = scan.error;
    const op = e.opcode === undefined ? "" : ` (opcode ${e.opcode})`;
    report(ctx, e.kind === "truncated" ? "pickle-truncated" : "pickle-invalid", `${e.code}${op}: ${e.message}`, where(e.offset));
  }
  for (const n of scan.nested) {
    const at = n.dataAt ?? n.offset;
    const nestedRecord = `${record ?? "pickle"} bytes@${at}`;
    report(ctx, "nested-pickle", `${n.data.length} bytes passed to ${n.loader} hold a ${n.format === "torch-file" ? "torch file" : "pickle"}; scanned as record ${JSON.stringify(recordName(ctx, nestedRecord))}`, where(n.offset));
    if (ctx.depth + 1 > ctx.options.maxNestedDepth) {
      report(ctx, "nested-depth-exceeded", `pickles nest deeper than ${ctx.options.maxNestedDepth} levels; the innermost was not scanned`, where(n.offset));
      continue;
    }
    ctx.validateNested(nestedContext(ctx, recordName(ctx, nestedRecord)!), n.data, n.format);
  }
}

/**
 * Two imports scanners flag are also how CPython itself pickles ordinary objects, and are proven
 * benign here when every use in the pickle follows that pattern:
 * - builtins.getattr: `getattr(instance, "method")` is a bound method (the instance built by this
 *   pickle, a literal non-dunder name), and `getattr(C, "__new__")` is protocol 2-3's way to reach
 *   C's constructor; neither result may be called directly;
 * - functools.partial: `partial(getattr(C, "__new__"), ...)` is copyreg's protocol 2-3
 *   spelling of NEWOBJ_EX (the class it creates is another import, classified on its own).
 * The classes involved must not be dangerous; they are classified on their own (usually unknown).
 * Any other use keeps the import dangerous.
 */
function provenPattern(scan: PickleScan, verdict: GlobalVerdict, ctx: Ctx): GlobalVerdict {
  const notDangerous = (key: string | undefined): boolean => key !== undefined && classifyGlobal(...splitKey(key), ctx.options.allow).class !== "dangerous";
  if (verdict.key === "builtins.getattr") {
    if (scan.getattrCalls.length === 0 || scan.getattrResultCalls.length > 0) return verdict;
    if (!scan.getattrCalls.every((c) => c.boundMethod && notDangerous(c.ownerClass))) return verdict;
    const owners = [...new Set(scan.getattrCalls.map((c) => c.ownerClass))].join(", ");
    return { class: "unknown", key: verdict.key, reason: `not on the allow-list; used only as Python pickles bound methods and constructors of ${owners}; those classes need their code` };
  }
  if (verdict.key === "functools.partial") {
    if (scan.partialCalls.length === 0 || !scan.partialCalls.every((c) => notDangerous(c.newOf))) return verdict;
    const classes = [...new Set(scan.partialCalls.map((c) => c.newOf))].join(", ");
    return { class: "unknown", key: verdict.key, reason: `not on the allow-list; used only as copyreg's protocol 2-3 spelling of NEWOBJ_EX (wrapping ${classes}.__new__); the classes it creates need their code` };
  }
  return verdict;
}

function splitKey(key: string): [string, string] {
  const dot = key.lastIndexOf(".");
  return dot < 0 ? ["", key] : [key.slice(0, dot), key.slice(dot + 1)];
}

/** Reports that the opcode budget ran out (once per run). */
export function budgetExhausted(ctx: Ctx, where: FindingLocation): void {
  if (ctx.budget.reported) return;
  ctx.budget.reported = true;
  report(ctx, "validation-limit", "the scan's opcode budget (maxScanOps) ran out; the rest of the file was not scanned", where);
}

function recordOf(record: string | undefined): { record?: string } {
  return record === undefined ? {} : { record };
}

/** The pickles of a stream and where the last one ended. */
export interface StreamResult {
  readonly scans: PickleScan[];
  /** Where the last pickle ended. */
  readonly end: number;
}

/**
 * Scans a stream holding one pickle (or `expected` pickles, as a legacy file's five), then reports
 * what follows: more pickles (each scanned) or trailing bytes (carved for embedded pickles).
 */
export function scanStream(
  ctx: Ctx, bytes: Uint8Array, start: number, options: ScanOptions & { readonly expected?: number; readonly trailing?: "report" | "ignore" } = {},
): StreamResult {
  const expected = options.expected ?? 1;
  const scans: PickleScan[] = [];
  let pos = start;
  for (let i = 0; i < expected; i++) {
    const scan = scanAndReport(ctx, bytes, pos, options);
    scans.push(scan);
    if (!scan.complete) return { scans, end: scan.end - (options.baseOffset ?? 0) };
    pos = scan.end - (options.baseOffset ?? 0);
  }
  if (options.trailing === "ignore") return { scans, end: pos };
  let extra = 0;
  const firstExtra = pos;
  while (pos < bytes.length && ctx.budget.opsLeft > 0) {
    if (!startsPickle(bytes, pos)) break;
    const probe = scanPickle(bytes, pos, { baseOffset: options.baseOffset ?? 0, maxOps: Math.min(ctx.budget.opsLeft, 10_000_000) });
    if (!probe.complete || probe.ops < 2) break;
    ctx.budget.opsLeft -= probe.ops;
    reportScan(ctx, bytes, probe, options);
    scans.push(probe);
    extra++;
    pos = probe.end - (options.baseOffset ?? 0);
  }
  const where = (at: number): FindingLocation => ({ byteOffset: at + (options.baseOffset ?? 0), ...recordOf(options.record) });
  if (extra > 0) report(ctx, "pickle-multiple", `${extra} more pickle(s) follow the ${expected === 1 ? "first" : `${expected} expected`}`, where(firstExtra));
  if (pos < bytes.length) {
    report(ctx, "pickle-trailing-bytes", `${bytes.length - pos} bytes follow the last pickle's STOP`, where(pos));
    carve(ctx, bytes, pos, bytes.length, options.record, options.baseOffset ?? 0);
  }
  return { scans, end: pos };
}

/** A plausible pickle start: PROTO 0..5, or a protocol 0/1 GLOBAL/MARK/EMPTY opcode. */
function startsPickle(b: Uint8Array, at: number): boolean {
  const c = b[at];
  if (c === 0x80) return b[at + 1] !== undefined && b[at + 1]! <= 5;
  return c === 0x28 || c === 0x63 || c === 0x5d || c === 0x7d || c === 0x29;
}

/** Most carving attempts per region, and most bytes searched. */
const MAX_CARVE_ATTEMPTS = 10_000;
/** Most bytes of one region searched for embedded pickles: 256 MiB. */
export const MAX_CARVE_BYTES = 256 * 2 ** 20;
const GLOBAL_LINE = /^[A-Za-z_][\w.]{0,200}\n[A-Za-z_][\w.]{0,200}\n/;

/**
 * Searches `bytes[from, to)` for embedded pickles (PROTO 2..5 or a protocol 0 GLOBAL that runs to
 * STOP and imports something) and reports each with its imports. Offsets are reported relative
 * to the record (`baseOffset` added).
 */
export function carve(ctx: Ctx, bytes: Uint8Array, from: number, to: number, record: string | undefined, baseOffset = 0): number {
  let found = 0;
  let attempts = 0;
  const end = Math.min(to, from + MAX_CARVE_BYTES);
  if (to - from > MAX_CARVE_BYTES) {
    report(ctx, "validation-limit", `only the first ${MAX_CARVE_BYTES} of ${to - from} bytes were searched for embedded pickles`, { byteOffset: from + baseOffset, ...recordOf(record) });
  }
  for (let i = from; i < end - 2 && attempts < MAX_CARVE_ATTEMPTS && ctx.budget.opsLeft > 0; i++) {
    const b = bytes[i]!;
    let candidate = false;
    if (b === 0x80) candidate = bytes[i + 1]! >= 2 && bytes[i + 1]! <= 5;
    else if (b === 0x63) candidate = GLOBAL_LINE.test(asciiPeek(bytes, i + 1, 420));
    if (!candidate) continue;
    attempts++;
    const scan = scanPickle(bytes.subarray(0, end), i, { baseOffset, maxOps: Math.min(1_000_000, ctx.budget.opsLeft) });
    ctx.budget.opsLeft -= scan.ops;
    if (!scan.complete || scan.globals.length === 0 || scan.error !== undefined) continue;
    found++;
    report(ctx, "embedded-pickle", `a ${scan.end - scan.start}-byte pickle importing ${scan.globals.length} global(s) is hidden at this offset`, { byteOffset: i + baseOffset, ...recordOf(record) });
    reportScan(ctx, bytes, scan, { ...recordOf(record), baseOffset, persistentIds: "any" });
    i = scan.end - baseOffset - 1;
  }
  if (attempts >= MAX_CARVE_ATTEMPTS) {
    report(ctx, "validation-limit", `stopped searching for embedded pickles after ${MAX_CARVE_ATTEMPTS} candidates`, { byteOffset: from + baseOffset, ...recordOf(record) });
  }
  return found;
}

function asciiPeek(b: Uint8Array, at: number, n: number): string {
  let s = "";
  const stop = Math.min(b.length, at + n);
  for (let i = at; i < stop; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export { looksLikePickle };
