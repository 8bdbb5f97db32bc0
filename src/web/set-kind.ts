/**
 * Which checkpoint layout a set of relative paths spells (DCP, Hugging Face shards, DeepSpeed).
 * Names only: the page imports this without the readers. A safetensors-based DCP folder (no
 * `.metadata`: DCP_SHARDING_INFO in each file's header) is told by the names DCP gives its files,
 * so that loose Hugging Face `.safetensors` files stay files of their own. DOM-free.
 */

export type SetKind =
  | { readonly kind: "dcp" }
  | { readonly kind: "dcp-safetensors"; readonly files: readonly string[] }
  | { readonly kind: "shards"; readonly index: string }
  | { readonly kind: "deepspeed" };

/** The names torch's DCP Hugging Face storage writer gives a rank's file (`shard-00001-model-00001-of-00001.safetensors`). */
const DCP_SAFETENSORS_NAME = /^shard-\d+-model-\d+-of-\d+\.safetensors$/;

/** Paths without the folder every one of them sits in (`ckpt/.metadata` → `.metadata`). */
export function relativePaths(paths: readonly string[]): string[] {
  let out = paths.map((p) => p.replace(/^\/+/, ""));
  for (;;) {
    const first = out[0]?.split("/")[0];
    if (first === undefined || out.some((p) => !p.startsWith(`${first}/`))) return out;
    out = out.map((p) => p.slice(first.length + 1));
  }
}

/** The layout the relative paths spell, or undefined when they are not one checkpoint. */
export function setKind(paths: readonly string[]): SetKind | undefined {
  const names = new Set(paths);
  if (names.has(".metadata")) return { kind: "dcp" };
  const index = paths.find((p) => !p.includes("/") && /\.index\.json$/i.test(p));
  if (index !== undefined) return { kind: "shards", index };
  const st = paths.filter((p) => DCP_SAFETENSORS_NAME.test(p));
  if (st.length > 0) return { kind: "dcp-safetensors", files: st };
  if (names.has("latest") || (paths.some((p) => p.endsWith("_model_states.pt")) && paths.some((p) => p.endsWith("_optim_states.pt")))) return { kind: "deepspeed" };
  return undefined;
}
