/** The formats `convert` writes, and how a file name says which one it wants. */

/** An output format of {@link convertBytes}. */
export type ConvertFormat = "json" | "json-plain" | "msgpack" | "safetensors" | "pt" | "pt-legacy" | "pickle";

/** Every output format, in the order the CLI lists them. */
export const CONVERT_FORMATS: readonly ConvertFormat[] = ["json", "json-plain", "msgpack", "safetensors", "pt", "pt-legacy", "pickle"];

/** File extensions and the format each means (lower case, without the dot). */
export const FORMAT_EXTENSIONS: Readonly<Record<string, ConvertFormat>> = Object.freeze({
  json: "json",
  msgpack: "msgpack",
  mpk: "msgpack",
  safetensors: "safetensors",
  pt: "pt",
  pth: "pt",
  bin: "pt",
  ckpt: "pt",
  pkl: "pickle",
  pickle: "pickle",
});

/** True for the names {@link CONVERT_FORMATS} lists. */
export const isConvertFormat = (v: string): v is ConvertFormat => (CONVERT_FORMATS as readonly string[]).includes(v);

/**
 * The format a file name asks for (`model.safetensors`, `state.json.gz`), and whether it wants
 * gzip around it; undefined when the extension says nothing.
 */
export function formatFromName(name: string): { readonly format: ConvertFormat; readonly gzip: boolean } | undefined {
  let base = name.toLowerCase();
  const gzip = base.endsWith(".gz");
  if (gzip) base = base.slice(0, -3);
  const dot = base.lastIndexOf(".");
  const slash = Math.max(base.lastIndexOf("/"), base.lastIndexOf("\\"));
  if (dot <= slash + 1) return undefined;
  const format = Object.hasOwn(FORMAT_EXTENSIONS, base.slice(dot + 1)) ? FORMAT_EXTENSIONS[base.slice(dot + 1)] : undefined;
  return format === undefined ? undefined : { format, gzip };
}
