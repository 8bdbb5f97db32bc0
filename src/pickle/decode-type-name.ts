/** Python-style type names of decoded values, for error messages ("found int", "unhashable type: 'list'"). */
import type { PyGlobal, PyValue } from "./value.js";

/**
 * The Python type a decoded value stands for: `NoneType`, `bool`, `int`, `str`, `float`, `tuple`,
 * ... A dict subclass gives its class (`collections.OrderedDict`), a global `global module.name`,
 * an inert object `module.name object`, and anything else (a host value) `host value`.
 */
export function pyTypeName(v: PyValue<unknown>): string {
  if (v === null) return "NoneType";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
    case "bigint":
      return "int";
    case "string":
      return "str";
    case "object":
      break;
    default:
      return "host value";
  }
  const tagged = v as { kind?: unknown; type?: PyGlobal; callable?: unknown; module?: string; name?: string };
  switch (tagged.kind) {
    case "float":
    case "complex":
    case "bytes":
    case "bytearray":
    case "tuple":
    case "list":
    case "set":
    case "frozenset":
      return tagged.kind;
    case "dict":
      return tagged.type === undefined ? "dict" : `${tagged.type.module}.${tagged.type.name}`;
    case "global":
      return `global ${tagged.module}.${tagged.name}`;
    case "object": {
      const c = tagged.callable as { kind?: unknown; module?: string; name?: string } | null;
      return c !== null && typeof c === "object" && c.kind === "global" ? `${c.module}.${c.name} object` : "object";
    }
    case "persid":
      return "persistent id";
    case "buffer":
      return "PickleBuffer";
    case "ext":
      return "extension";
    default:
      return "host value";
  }
}
