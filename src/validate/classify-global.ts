/**
 * Classifying one imported global. Nothing is imported or executed; the verdict comes from the
 * tables alone, in this order:
 * 1. dangerous: a row of the dangerous-globals table, or an attribute path that walks through a
 *    dunder (`__globals__`, `__builtins__`, ...) or reaches a dangerous module by attribute
 *    (`torch.serialization` + `os.system`);
 * 2. allowed: torch's current weights_only allow-list;
 * 3. loader: `torch.storage._load_from_bytes`, torch's own nested-file loader (its bytes are scanned);
 * 4. plain-data: known value holders weights_only refuses;
 * 5. unknown: everything else (a custom class, a whole pickled nn.Module): loading needs its code.
 */
import { python3Name } from "./compat-names.js";
import { DANGEROUS_MODULE_NAMES, findDangerous, type DangerKind, type ScannerSource } from "./dangerous-globals.js";
import { PLAIN_DATA_BY_KEY } from "./plain-data-globals.js";
import { WEIGHTS_ONLY_ALLOWED } from "./weights-only-policy.js";

/** What loading an imported global means, from harmless to code execution. */
export type GlobalClass = "allowed" | "plain-data" | "loader" | "unknown" | "dangerous";

/** The class of one global, with the reason and (when dangerous) its sources. */
export interface GlobalVerdict {
  readonly class: GlobalClass;
  /** "module.name" in its Python 3 spelling (what the verdict is about). */
  readonly key: string;
  /** Why, in a few words (what the global does, or what loading it needs). */
  readonly reason: string;
  /** For dangerous globals: what it can do and which scanners flag it. */
  readonly kind?: DangerKind;
  readonly sources?: readonly ScannerSource[];
}

/** The nested-file loader torch itself emits for plain pickles of storages. */
export const TORCH_LOAD_FROM_BYTES = "torch.storage._load_from_bytes";

const DUNDER = /^__.+__$/;

/** Classifies `module.name` (as written in the pickle; Python 2 names are mapped first). */
export function classifyGlobal(module: string, name: string): GlobalVerdict {
  const py3 = python3Name(module, name);
  const key = `${py3.module}.${py3.name}`;
  const row = findDangerous(py3.module, py3.name);
  if (row !== undefined) {
    return { class: "dangerous", key, reason: row.note, kind: row.kind, sources: row.sources };
  }
  const parts = py3.name.split(".");
  if (parts.length > 1) {
    const dunder = parts.find((p) => DUNDER.test(p));
    if (dunder !== undefined) {
      return { class: "dangerous", key, reason: `walks the attribute ${dunder}, a way to reach any object`, kind: "import", sources: ["fickling"] };
    }
    const reached = parts.slice(0, -1).find((p) => DANGEROUS_MODULE_NAMES.has(p));
    if (reached !== undefined) {
      return { class: "dangerous", key, reason: `reaches the ${reached} module through an attribute path`, kind: "import", sources: ["fickling"] };
    }
  }
  if (WEIGHTS_ONLY_ALLOWED.has(key)) return { class: "allowed", key, reason: "in torch's weights_only allow-list" };
  if (key === TORCH_LOAD_FROM_BYTES) {
    return { class: "loader", key, reason: "torch's loader for a storage pickled as a whole legacy torch file (the bytes are scanned)" };
  }
  const plain = PLAIN_DATA_BY_KEY.get(key);
  if (plain !== undefined) return { class: "plain-data", key, reason: plain.what };
  return { class: "unknown", key, reason: unknownReason(py3.module) };
}

function unknownReason(module: string): string {
  const top = module.split(".")[0] ?? module;
  if (top === "__main__") return "a class defined in the saving script (__main__): loading needs that script's code";
  if (top === "__torch__") return "a TorchScript class: it runs the archive's compiled code";
  if (top === "torch") return "a torch class outside weights_only's allow-list (e.g. part of a whole pickled nn.Module): loading constructs it";
  if (top === "builtins") return "a builtin outside fickling's safe list";
  return `loading needs the code of module ${module}, and runs whatever it does`;
}
