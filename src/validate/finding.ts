/**
 * The validator's output model: findings (severity, code, message, where) and the sink that
 * collects them with a per-code cap, so a hostile file with a million bad entries yields a
 * bounded report.
 */
import type { KeyPath } from "../errors.js";
import type { FindingCode } from "./rules.js";
import { RULES_BY_CODE } from "./rules.js";

/** How much a finding matters. The CLI fails on "error" (or on "warning" with `--strict`). */
export type Severity = "info" | "warning" | "error";

/** Severities in increasing order, for comparisons. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

/**
 * Where a finding is. `byteOffset` counts from the start of `record` when a record is named (a
 * zip entry, a legacy storage, a nested pickle), and from the start of the file otherwise.
 */
export interface FindingLocation {
  readonly byteOffset?: number;
  readonly record?: string;
  readonly keyPath?: KeyPath;
}

/** One thing the validator found: how much it matters, what it is, and where. */
export interface Finding {
  readonly severity: Severity;
  readonly code: FindingCode;
  readonly message: string;
  readonly where: FindingLocation;
}

/** Default most findings of one code a report keeps; the rest collapse into one `findings-omitted`. */
export const DEFAULT_MAX_FINDINGS_PER_CODE = 100;

/** Collects findings for one report. Severity always comes from the rules table. */
export interface FindingSink {
  readonly items: Finding[];
  add(code: FindingCode, message: string, where?: FindingLocation): void;
}

/** A fresh sink keeping at most `maxPerCode` findings of each code (default {@link DEFAULT_MAX_FINDINGS_PER_CODE}). */
export function createFindingSink(maxPerCode: number = DEFAULT_MAX_FINDINGS_PER_CODE): FindingSink {
  const items: Finding[] = [];
  const counts = new Map<FindingCode, number>();
  const omitted = new Map<FindingCode, Finding>();
  return {
    items,
    add(code, message, where = {}) {
      const n = (counts.get(code) ?? 0) + 1;
      counts.set(code, n);
      if (n <= maxPerCode) {
        items.push({ severity: RULES_BY_CODE[code].severity, code, message, where: cleanLocation(where) });
        return;
      }
      const note = `${n - maxPerCode} more "${code}" findings are not listed`;
      const existing = omitted.get(code);
      const finding: Finding = { severity: RULES_BY_CODE["findings-omitted"].severity, code: "findings-omitted", message: note, where: {} };
      if (existing === undefined) items.push(finding);
      else items[items.indexOf(existing)] = finding;
      omitted.set(code, finding);
    },
  };
}

/** Drops undefined fields so `where` serialises cleanly. */
function cleanLocation(where: FindingLocation): FindingLocation {
  const out: { byteOffset?: number; record?: string; keyPath?: KeyPath } = {};
  if (where.byteOffset !== undefined) out.byteOffset = where.byteOffset;
  if (where.record !== undefined) out.record = where.record;
  if (where.keyPath !== undefined && where.keyPath.length > 0) out.keyPath = where.keyPath;
  return out;
}

/** Counts per severity. */
export interface SeverityCounts {
  readonly error: number;
  readonly warning: number;
  readonly info: number;
}

/** How many findings of each severity. */
export function countSeverities(findings: readonly Finding[]): SeverityCounts {
  let error = 0, warning = 0, info = 0;
  for (const f of findings) {
    if (f.severity === "error") error++;
    else if (f.severity === "warning") warning++;
    else info++;
  }
  return { error, warning, info };
}

/** True when any finding is at or above `threshold`. */
export function hasFindingsAtOrAbove(findings: readonly Finding[], threshold: Severity): boolean {
  const min = SEVERITY_RANK[threshold];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= min);
}
