/**
 * What `sanitize` does for one torch target beyond making values plain data: a tensor whose dtype
 * or sparse form the target's torch cannot rebuild is refused with the reason (torch 1.13 has no
 * uint16/32/64 or float8, which torch.save writes with `_rebuild_tensor_v3`; it rebuilds sparse
 * COO from three parts and CSR only through `_rebuild_sparse_csr_tensor`), or rewritten into the
 * form the target loads when that loses nothing (a sparse tensor's rebuild call).
 */
import type { PyGlobal } from "../pickle/value.js";
import { isPyGlobal } from "../pickle/value.js";
import type { Tensor } from "../torch/index.js";
import { torchHasDtype, WEIGHTS_ONLY_POLICIES, type TorchTarget } from "./weights-only-policy.js";

/** A tensor as the target needs it, or why it cannot be written for that target. */
export type TargetTensor = { readonly tensor: Tensor; readonly change?: string } | { readonly refuse: string };

/** When torch first had a dtype torch 1.13 lacks (for the refusal message). */
function since(dtype: string): string {
  if (dtype.startsWith("float8")) return "torch >= 2.1";
  if (dtype === "uint16" || dtype === "uint32" || dtype === "uint64") return "torch >= 2.3";
  return "a newer torch";
}

const originName = (t: Tensor): string | undefined => {
  const c = t.origin?.callable;
  return c !== undefined && isPyGlobal(c) ? `${(c as PyGlobal).module}.${(c as PyGlobal).name}` : undefined;
};

/** Checks (and where lossless, rewrites) one tensor for `target`. */
export function tensorForTarget(t: Tensor, target: TorchTarget): TargetTensor {
  if (!torchHasDtype(t.dtype, target)) {
    const how = t.layout === "strided" && t.storage !== undefined ? ", which torch.save writes with _rebuild_tensor_v3 over an untyped storage" : "";
    return { refuse: `a ${t.dtype} tensor: torch ${target} has no ${t.dtype} dtype${how}; ${since(t.dtype)} loads it (pick --torch 2.6 or current)` };
  }
  if (t.sparse === undefined) return { tensor: t };
  const policy = WEIGHTS_ONLY_POLICIES[target];
  const origin = originName(t);
  if (policy.sparseCooOnly) {
    // torch 1.13: COO as (indices, values, size); CSR only as the file's own _rebuild_sparse_csr_tensor call.
    if (t.layout === "sparse_coo") {
      if (t.sparse.isCoalesced === undefined || t.sparse.isCoalesced === null) return { tensor: t };
      const { origin: _dropped, ...rest } = t;
      const { isCoalesced: _flag, ...parts } = t.sparse;
      return { tensor: { ...rest, sparse: parts }, change: "sparse COO written as (indices, values, size), the form torch 1.13 rebuilds (is_coalesced dropped)" };
    }
    if (t.layout === "sparse_csr" && origin === "torch._utils._rebuild_sparse_csr_tensor") return { tensor: t };
    return {
      refuse: `a ${t.layout} tensor${t.layout === "sparse_csr" ? " not read from a torch 1.13 file" : ""}: torch 1.13 rebuilds sparse CSR only through ` +
        `_rebuild_sparse_csr_tensor and has no ${t.layout === "sparse_csr" ? "other form" : `${t.layout} rebuild`}; torch >= 2.0 loads it (pick --torch 2.6 or current)`,
    };
  }
  if (origin !== undefined && !policy.rebuilds.has(origin)) {
    // A torch 1.13 CSR call: torch 2.x rebuilds every sparse layout through _rebuild_sparse_tensor.
    const { origin: _dropped, ...rest } = t;
    return { tensor: rest, change: `${t.layout} written with _rebuild_sparse_tensor (torch ${target} has no ${origin.slice("torch._utils.".length)})` };
  }
  return { tensor: t };
}
