// sanitize for a torch target: what that torch cannot rebuild is refused with the reason, sparse
// rebuild calls are turned into the target's form, and the default target changes nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pyKind, type PyDict } from "../../../src/pickle/value.js";
import { readCheckpoint, type Tensor, type TorchValue } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { sanitize, validateCheckpoint } from "../../../src/validate/index.js";
import { tensorForTarget } from "../../../src/validate/sanitize-target.js";
import { REPO } from "../../helpers/corpus.js";

const read = (dir: string, name: string) => readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures", dir, name)))).root;
const entry = (root: TorchValue, key: string): Tensor => (root as PyDict<never>).entries.find(([k]) => k === key)![1] as unknown as Tensor;

describe("sanitize --torch", () => {
  it("refuses uint16/32/64 and float8 tensors for torch 1.13, naming the dtype, the rebuild call and the torch that has it", () => {
    const r = sanitize(read("torch2", "uint-limits.pt"), { target: "1.13" });
    expect(r.refused.map((x) => x.global).sort()).toEqual(["torch.uint16", "torch.uint32", "torch.uint32", "torch.uint64", "torch.uint64"].sort());
    const msg = r.refused.find((x) => x.global === "torch.uint32")!.reason;
    expect(msg).toMatch(/torch 1\.13 has no uint32 dtype/);
    expect(msg).toMatch(/_rebuild_tensor_v3/);
    expect(msg).toMatch(/torch >= 2\.3/);
    const f8 = sanitize(read("torch2", "float8.pt"), { target: "1.13" });
    expect(f8.refused).toHaveLength(4);
    expect(f8.refused[0]!.reason).toMatch(/torch >= 2\.1/);
  });

  it("keeps them for 2.6 and current", () => {
    for (const target of ["2.6", "current"] as const) {
      const r = sanitize(read("torch2", "dtypes.pt"), { target });
      expect(r.refused).toEqual([]);
    }
    expect(sanitize(read("torch2", "dtypes.pt")).refused).toEqual([]);
  });

  it("turns torch 1.13's _rebuild_sparse_csr_tensor into _rebuild_sparse_tensor for 2.x, and keeps it for 1.13", () => {
    const root = read("torch", "sparse.pt");
    const csr = entry(root, "csr");
    expect(csr.origin).toBeDefined();
    const for26 = tensorForTarget(csr, "2.6");
    expect("tensor" in for26 && for26.tensor.origin === undefined && for26.change).toMatch(/_rebuild_sparse_tensor/);
    const for113 = tensorForTarget(csr, "1.13");
    expect("tensor" in for113 && for113.tensor).toBe(csr);
    // Written for 2.6, the file passes torch 2.6's rules; written for 1.13 unchanged, torch 1.13's.
    const out26 = writeCheckpoint(sanitize(root, { target: "2.6" }).value);
    expect(validateCheckpoint(out26, { weightsOnly: "2.6" }).weightsOnly!.accepted).toBe(true);
    const out113 = writeCheckpoint(sanitize(root, { target: "1.13" }).value, { weightsOnly: false });
    expect(validateCheckpoint(out113, { weightsOnly: "1.13" }).weightsOnly!.accepted).toBe(true);
  });

  it("writes torch 2.x sparse COO in 1.13's three-part form, refuses CSR/CSC made by 2.x", () => {
    const root = read("torch2", "sparse.pt");
    const r = sanitize(root, { target: "1.13" });
    expect(r.changes.filter((c) => c.from === "sparse_coo")).toHaveLength(1);
    expect(r.refused.map((x) => x.path[0]).sort()).toEqual(["csc", "csr"]);
    expect(r.refused.find((x) => x.path[0] === "csr")!.reason).toMatch(/_rebuild_sparse_csr_tensor/);
    const coo = (r.value as PyDict<never>).entries.find(([k]) => k === "coo")![1] as unknown as Tensor;
    expect(coo.sparse!.isCoalesced).toBeUndefined();
    expect(pyKind(r.value)).toBe("dict");
  });

  it("refuses numpy arrays of dtypes torch 1.13 lacks instead of making tensors of them", () => {
    const r = sanitize(read("torch2", "numpy2.pt"), { target: "1.13" });
    expect(r.refused.map((x) => x.path.join("."))).toContain("u16");
    expect(r.refused.find((x) => x.path.join(".") === "u16")!.reason).toMatch(/torch 1\.13 has no uint16 dtype/);
    expect(sanitize(read("torch2", "numpy2.pt"), { target: "2.6" }).refused).toEqual([]);
  });
});
