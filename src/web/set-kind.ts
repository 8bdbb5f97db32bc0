/**
 * Which checkpoint layout a set of relative paths spells (DCP, Hugging Face shards, DeepSpeed).
 * Names only: the page imports this without the readers. DOM-free.
 */

export type SetKind = { readonly kind: "dcp" } | { readonly kind: "shards"; readonly index: string } | { readonly kind: "deepspeed" };

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
  if (names.has("latest") || (paths.some((p) => p.endsWith("_model_states.pt")) && paths.some((p) => p.endsWith("_optim_states.pt")))) return { kind: "deepspeed" };
  return undefined;
}
