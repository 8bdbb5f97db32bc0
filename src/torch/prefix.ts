/** The `module.` prefix DataParallel/DDP adds to every parameter name: strip it or add it. */
import type { PyDict } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { TorchHost, TorchValue } from "./model.js";

/**
 * Returns a copy of `root` in which every dict whose keys are all strings starting with `prefix`
 * has that prefix removed (a DDP state_dict, wherever it sits in a checkpoint). Other values are
 * shared, not copied; `dicts`/`keys` say what changed. Dicts nested deeper than 1,000 levels are
 * left as they are.
 */
export function stripPrefix(root: TorchValue, prefix = "module."): { value: TorchValue; dicts: number; keys: number } {
  return rewriteKeys(root, (d) => d.entries.length > 0 && d.entries.every(([k]) => typeof k === "string" && k.startsWith(prefix)), (k) => k.slice(prefix.length));
}

/**
 * Adds `prefix` to every key of the dicts that look like state_dicts: all keys strings and every
 * value a tensor (so optimizer state and configs are left alone).
 */
export function addPrefix(root: TorchValue, prefix = "module."): { value: TorchValue; dicts: number; keys: number } {
  return rewriteKeys(
    root,
    (d) => d.entries.length > 0 && d.entries.every(([k, v]) => typeof k === "string" && typeof v === "object" && v !== null && (v as { kind?: string }).kind === "tensor"),
    (k) => prefix + k,
  );
}

function rewriteKeys(
  root: TorchValue,
  matches: (d: PyDict<TorchHost>) => boolean,
  rename: (k: string) => string,
): { value: TorchValue; dicts: number; keys: number } {
  let dicts = 0;
  let keys = 0;
  const seen = new Map<object, TorchValue>();
  const visit = (v: TorchValue, depth: number): TorchValue => {
    if (typeof v !== "object" || v === null || depth > 1_000) return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    const kind = pyKind(v);
    if (kind === "dict") {
      const d = v as PyDict<TorchHost>;
      const rename_ = matches(d);
      const copy: PyDict<TorchHost> = { ...d, entries: [] };
      seen.set(v, copy);
      if (rename_) dicts++;
      for (const [k, val] of d.entries) {
        const key = rename_ && typeof k === "string" ? (keys++, rename(k)) : k;
        copy.entries.push([key, visit(val, depth + 1)]);
      }
      if (d.state !== undefined) copy.state = visit(d.state, depth + 1);
      return copy;
    }
    if (kind === "list" || kind === "tuple") {
      const items: TorchValue[] = [];
      const copy = { ...(v as { kind: "list" }), items } as TorchValue;
      seen.set(v, copy);
      for (const item of (v as { items: TorchValue[] }).items) items.push(visit(item, depth + 1));
      return copy;
    }
    if (kind === "object") {
      const o = v as { state?: TorchValue };
      if (o.state === undefined) return v;
      const copy = { ...(v as object) } as { state?: TorchValue };
      seen.set(v, copy as TorchValue);
      copy.state = visit(o.state, depth + 1);
      return copy as TorchValue;
    }
    return v;
  };
  return { value: visit(root, 0), dicts, keys };
}
