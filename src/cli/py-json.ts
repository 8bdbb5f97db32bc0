/**
 * JSON text exactly as Python's `json.dumps(obj)` writes it (", " and ": " separators, ASCII only),
 * so our lines can be compared byte for byte with what torch-side tools print.
 */
export type PyJson = null | boolean | number | string | readonly PyJson[] | { readonly [k: string]: PyJson };

export function pyJsonDumps(v: PyJson): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "Infinity" : v < 0 ? "-Infinity" : "NaN";
  if (typeof v === "string") return pyJsonString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(", ")}]`;
  const entries = Object.entries(v as Record<string, PyJson>);
  return `{${entries.map(([k, x]) => `${pyJsonString(k)}: ${pyJsonDumps(x)}`).join(", ")}}`;
}

const ESCAPES: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    const e = ESCAPES[ch];
    if (e !== undefined) out += e;
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
