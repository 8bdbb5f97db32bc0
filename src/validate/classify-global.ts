/**
 * Classifying one imported global. Nothing is imported or executed; the verdict comes from the
 * tables alone. The name is first resolved as Python would (`resolve-name.ts`: Python 2 names,
 * dotted attribute paths, module aliases such as `argparse._os`), then, in this order:
 * 1. dangerous: a row of the dangerous-globals table (before or after resolution), or an
 *    attribute path that walks through a dunder (`__globals__`, `__builtins__`, ...);
 * 2. on the allow-list (`allow-list.ts`): torch's weights_only allow-list for the target
 *    ("allowed"), the plain-data list ("plain-data"), torch's nested-file loader ("loader"), or a
 *    user rule ("allowed", naming the rule);
 * 3. unknown: everything else is not on the allow-list (a custom class, a whole pickled
 *    nn.Module): loading needs its code, and the verdict is an error.
 */
import { admittedBy, DEFAULT_ALLOW_LIST, TORCH_LOAD_FROM_BYTES, type AllowList } from "./allow-list.js";
import { findDangerous, type DangerKind, type ScannerSource } from "./dangerous-globals.js";
import { python3Name } from "./compat-names.js";
import { resolveGlobal } from "./resolve-name.js";

export { TORCH_LOAD_FROM_BYTES };

/** What loading an imported global means, from harmless to code execution. */
export type GlobalClass = "allowed" | "plain-data" | "loader" | "unknown" | "dangerous";

/** The class of one global, with the reason and (when dangerous) its sources. */
export interface GlobalVerdict {
  readonly class: GlobalClass;
  /** "module.name" in its Python 3 spelling, aliases resolved (what the verdict is about). */
  readonly key: string;
  /** Why, in a few words (what the global does, or what loading it needs). */
  readonly reason: string;
  /** For dangerous globals: what it can do and which scanners flag it. */
  readonly kind?: DangerKind;
  readonly sources?: readonly ScannerSource[];
  /** The allow-list rule that admitted it ("weights_only (torch current)", "plain-data", "--allow mypkg.*"). */
  readonly rule?: string;
  /** Module aliases walked to resolve the name ("argparse._os = os"). */
  readonly via?: readonly string[];
}

const DUNDER = /^__.+__$/;

/** Classifies `module.name` as written in the pickle against `allow` (default: torch current, no user rules). */
export function classifyGlobal(module: string, name: string, allow: AllowList = DEFAULT_ALLOW_LIST): GlobalVerdict {
  const py3 = python3Name(module, name);
  const r = resolveGlobal(module, name);
  const key = r.key;
  const via = r.via.length > 0 ? { via: r.via } : {};
  const through = r.via.length > 0 ? ` (reached through ${r.via.join(", ")})` : "";
  const row = findDangerous(py3.module, py3.name) ?? findDangerous(r.module, r.name);
  if (row !== undefined) {
    return { class: "dangerous", key, reason: `${row.note}${through}`, kind: row.kind, sources: row.sources, ...via };
  }
  const parts = py3.name.split(".");
  const dunder = parts.length > 1 ? parts.find((p) => DUNDER.test(p)) : undefined;
  if (dunder !== undefined) {
    return { class: "dangerous", key, reason: `walks the attribute ${dunder}, a way to reach any object`, kind: "import", sources: ["fickling"], ...via };
  }
  const admitted = admittedBy(r.module, r.name, allow);
  if (admitted !== undefined) {
    const cls: GlobalClass = admitted.rule === "plain-data" ? "plain-data" : admitted.rule === "loader" ? "loader" : "allowed";
    return { class: cls, key, reason: `${admitted.what}${through}`, rule: admitted.rule, ...via };
  }
  return { class: "unknown", key, reason: `not on the allow-list: ${unknownReason(r.module)}${through}`, ...via };
}

function unknownReason(module: string): string {
  const top = module.split(".")[0] ?? module;
  if (top === "__main__") return "a class defined in the saving script (__main__): loading needs that script's code";
  if (top === "__torch__") return "a TorchScript class: it runs the archive's compiled code";
  if (top === "torch") return "a torch class outside weights_only's allow-list (e.g. part of a whole pickled nn.Module): loading constructs it";
  if (top === "builtins") return "a builtin outside the plain-data list (only value constructors such as int, str, dict are on it)";
  return `loading needs the code of module ${module}, and runs whatever it does`;
}
