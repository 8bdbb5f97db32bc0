/**
 * Resolving a global's name as Python does before classifying it. `pickle.Unpickler.find_class`
 * imports the module, then walks the name by attribute access, one dotted component at a time
 * (every protocol is treated alike here: CPython 3.14 walks dotted names at every protocol, and a
 * scanner must assume the loader that does). A component can be a module another module imported
 * under an alias: `argparse._os` is `os`, `collections._sys` is `sys`,
 * `torch.nn.modules.module.torch` is `torch`. So `("argparse", "_os.system")` is `os.system`.
 *
 * Aliases come from a short table of known ones (stdlib modules that `import os as _os`), and one
 * rule for the rest: an attribute component named like a well-known module, with or without
 * leading underscores, is taken to be that module (a module imports others under their own names).
 * The rule can only make a name resolve to something stricter; whatever it leaves unresolved is
 * still "not on the allow-list".
 */
import { python3Name } from "./compat-names.js";
import { DANGEROUS_MODULE_NAMES } from "./dangerous-globals.js";

/** Known module attributes that are other modules (`import os as _os` and friends). */
export const MODULE_ALIASES: ReadonlyMap<string, string> = new Map([
  ["argparse._os", "os"], ["argparse._sys", "sys"], ["random._os", "os"], ["collections._sys", "sys"],
  ["pprint._sys", "sys"], ["tempfile._os", "os"], ["tempfile._shutil", "shutil"], ["shutil._os", "os"],
  ["subprocess._os", "os"], ["uuid._os", "os"], ["logging._os", "os"], ["logging.os", "os"], ["logging.sys", "sys"],
  ["glob._os", "os"], ["ntpath._os", "os"], ["posixpath._os", "os"], ["os.sys", "sys"], ["os.path.os", "os"],
  ["os.path.sys", "sys"], ["pickle._sys", "sys"], ["copyreg._sys", "sys"], ["functools._sys", "sys"],
  ["torch.nn.modules.module.torch", "torch"], ["torch.serialization.os", "os"], ["torch.serialization.sys", "sys"],
  ["torch.serialization.pickle", "pickle"], ["torch._utils.torch", "torch"], ["numpy.os", "os"], ["numpy.sys", "sys"],
]);

/** Well-known modules an attribute component may name (besides the dangerous ones). */
const KNOWN_MODULES: ReadonlySet<string> = new Set([
  ...DANGEROUS_MODULE_NAMES, "torch", "numpy", "io", "yaml", "builtins", "collections", "functools", "types", "copyreg",
  "random", "argparse", "pprint", "json", "re", "string", "math", "typing", "abc", "enum", "weakref", "copy",
]);

/** A global after Python 2 name mapping and alias resolution. */
export interface ResolvedGlobal {
  /** The module the attribute path finally starts from. */
  readonly module: string;
  /** The attribute path below it. */
  readonly name: string;
  /** `module.name`. */
  readonly key: string;
  /** The alias components walked ("argparse._os = os"), when any. */
  readonly via: readonly string[];
}

/** Resolves `module` + `name` as written in a pickle (see the module comment). */
export function resolveGlobal(rawModule: string, rawName: string): ResolvedGlobal {
  const py3 = python3Name(rawModule, rawName);
  let module = py3.module;
  const parts = py3.name.split(".");
  const via: string[] = [];
  // Walk every component but the last: each may switch to another module.
  for (const comp of parts.slice(0, -1)) {
    const here = `${module}.${comp}`;
    const alias = MODULE_ALIASES.get(here) ?? aliasByName(comp);
    if (alias !== undefined) via.push(`${here} = ${alias}`);
    module = alias ?? here;
  }
  const name = parts[parts.length - 1]!;
  return { module, name, key: `${module}.${name}`, via };
}

function aliasByName(component: string): string | undefined {
  if (component.startsWith("__")) return undefined; // dunders are judged on their own
  const bare = component.replace(/^_+/, "");
  if (KNOWN_MODULES.has(component)) return component;
  if (bare !== component && KNOWN_MODULES.has(bare) && !KNOWN_MODULES.has(component)) return bare;
  return undefined;
}
