/**
 * THE allow-list behind the security verdict. A global a pickle imports is admitted only by one of
 * these rules, checked in order, and the report names the rule that admitted it:
 * 1. `weights_only (torch TARGET)`: what torch's restricted unpickler accepts for the chosen
 *    `--torch` target (through {@link weightsOnlyAllows}, the one adapter to the weights_only policy);
 * 2. `plain-data`: the short, documented list of value holders seen in real checkpoints
 *    (`plain-data-globals.ts`: numpy arrays, dtypes and RandomState, argparse.Namespace, paths, ...);
 * 3. `loader`: `torch.storage._load_from_bytes`, torch's own nested-file loader, whose bytes are
 *    scanned in turn;
 * 4. `--allow PATTERN` / `--allow-file FILE`: rules the user adds.
 * Everything else is "not on the allow-list". A row of the dangerous table is never admitted,
 * not even by a user rule: known gadgets stay named with their sources.
 */
import { TorchsaveError } from "../errors.js";
import { PLAIN_DATA_BY_KEY } from "./plain-data-globals.js";
import { weightsOnlyAllows, type TorchTarget } from "./weights-only-policy.js";

/** The torch versions a user can pick with `--torch` (the weights_only policy's targets). */
export type AllowTarget = TorchTarget;

/**
 * `torch.UntypedStorage`/`torch.TypedStorage`: the very classes weights_only allows as
 * `torch.storage.*`, spelled by their top-level alias (hand-built and older files). Harmless, so
 * the security verdict admits them, though torch's weights_only refuses the alias.
 */
const STORAGE_CLASS_ALIASES: ReadonlySet<string> = new Set(["torch.UntypedStorage", "torch.TypedStorage"]);

/** The nested-file loader torch itself emits for plain pickles of storages. */
export const TORCH_LOAD_FROM_BYTES = "torch.storage._load_from_bytes";

/** One user rule: an exact `module.name` or a glob, and where it came from. */
export interface AllowRule {
  /** As the user wrote it ("mypkg.*", "mypkg.models.Net"). */
  readonly pattern: string;
  /** "--allow" or "FILE:LINE". */
  readonly origin: string;
  readonly test: (key: string) => boolean;
}

/** The allow-list of one run: the torch target and the user's rules. */
export interface AllowList {
  readonly target: AllowTarget;
  readonly rules: readonly AllowRule[];
}

/** The default allow-list: torch's current weights_only policy, plain data, no user rules. */
export const DEFAULT_ALLOW_LIST: AllowList = { target: "current", rules: [] };

const PATTERN = /^[A-Za-z_*][\w.*]*$/;

/**
 * A user rule from its text. `*` matches within one dotted component, `**` across components:
 * `mypkg.*` admits `mypkg.Net` but not `mypkg.sub.Net` nor the attribute path `mypkg.os.system`;
 * `mypkg.**` admits everything below mypkg. Throws an `invalid-argument` TorchsaveError on malformed text.
 */
export function parseAllowRule(pattern: string, origin = "--allow"): AllowRule {
  const p = pattern.trim();
  if (!PATTERN.test(p) || p.includes("..") || p.endsWith(".")) {
    throw new TorchsaveError("invalid-argument", `${origin}: ${JSON.stringify(pattern)} is not a module.name pattern (letters, digits, _, dots, * and **)`);
  }
  if (!p.includes("*")) return { pattern: p, origin, test: (key) => key === p };
  const source = p.split(/(\*\*|\*)/).map((part) => part === "**" ? ".*" : part === "*" ? "[^.]*" : part.replace(/[.]/g, "\\.")).join("");
  const re = new RegExp(`^${source}$`);
  return { pattern: p, origin, test: (key) => re.test(key) };
}

/** Rules from the text of an allow file: one pattern per line; `#` starts a comment. */
export function parseAllowFile(text: string, fileName: string): AllowRule[] {
  const rules: AllowRule[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const body = line.replace(/#.*$/, "").trim();
    if (body !== "") rules.push(parseAllowRule(body, `${fileName}:${i + 1}`));
  });
  return rules;
}

/** Which rule admits `module.name` (Python 3 spelling, aliases resolved), or undefined. */
export function admittedBy(module: string, name: string, list: AllowList): { rule: string; what: string } | undefined {
  const key = `${module}.${name}`;
  if (weightsOnlyAllows(module, name, list.target)) {
    return { rule: `weights_only (torch ${list.target})`, what: "in torch's weights_only allow-list" };
  }
  if (STORAGE_CLASS_ALIASES.has(key)) {
    return { rule: `weights_only (torch ${list.target})`, what: "torch's storage class under its top-level name (weights_only admits it as torch.storage.*)" };
  }
  const plain = PLAIN_DATA_BY_KEY.get(key);
  if (plain !== undefined) return { rule: "plain-data", what: plain.what };
  if (key === TORCH_LOAD_FROM_BYTES) {
    return { rule: "loader", what: "torch's loader for a storage pickled as a whole legacy torch file (the bytes are scanned)" };
  }
  const user = list.rules.find((r) => r.test(key));
  if (user !== undefined) return { rule: `${user.origin} ${user.pattern}`, what: "admitted by a user rule" };
  return undefined;
}
