import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pyDict, pyList } from "../../../src/pickle/index.js";
import { readCheckpoint, walkTensors, type TorchValue } from "../../../src/torch/index.js";
import { formatKeyPath } from "../../../src/errors.js";
import { buildTree, findTensorRow } from "../../../src/web/tree-model.js";
import { REPO } from "../../helpers/corpus.js";

const fixture = (name: string) => readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name))));

describe("buildTree", () => {
  it("lists every tensor the library walks, in the same order and with the same paths", () => {
    for (const name of ["full-checkpoint.pt", "optim-adamw.pt", "dtypes.pt", "dataparallel-state-dict.pt"]) {
      const ckpt = fixture(name);
      const tree = buildTree(ckpt.root);
      expect(tree.paths.map(formatKeyPath), name).toEqual(walkTensors(ckpt.root).map((e) => formatKeyPath(e.path)));
      expect(tree.truncated).toBe(false);
      for (const [i, n] of tree.nodes.entries()) {
        if (n.tensor !== undefined) expect(tree.paths[n.tensor]!.length === 0 ? "" : formatKeyPath(tree.paths[n.tensor]!)).toBe(n.path);
        // A row's subtree is exactly the rows after it that are deeper, up to the next row at its depth or above.
        let end = i + 1;
        while (end < tree.nodes.length && tree.nodes[end]!.depth > n.depth) end++;
        expect(n.descendants, `${name} row ${i}`).toBe(end - i - 1);
        if (i > 0) expect(tree.nodes[n.parent]!.depth).toBe(n.depth - 1);
      }
    }
  });

  it("names the parts of a training checkpoint and labels values as Python would", () => {
    const tree = buildTree(fixture("full-checkpoint.pt").root);
    expect(tree.parts.map((p) => `${p.name} ${p.path}`)).toEqual(expect.arrayContaining([
      'model ["model_state_dict"]', 'optimizer ["optimizer_state_dict"]', 'scheduler ["scheduler_state_dict"]', 'scaler ["scaler_state_dict"]', 'epoch ["epoch"]',
    ]));
    const byKey = new Map(tree.nodes.filter((n) => n.depth === 1).map((n) => [n.key, n.label]));
    expect(byKey.get("'epoch'")).toBe("int 3");
    expect(byKey.get("'best_metric'")).toBe("float inf");
    expect(byKey.get("'loss_tensor'")).toBe("float32 [] · 4 B");
    expect(byKey.get("'args'")).toBe("argparse.Namespace object");
  });

  it("cuts cycles and stops at the row limit, saying so", () => {
    const inner = pyList<never>([1, 2]);
    const cyclic = pyDict<never>([["self", null]]);
    cyclic.entries[0]![1] = cyclic;
    const t1 = buildTree(cyclic as TorchValue);
    expect(t1.nodes.map((n) => n.key)).toEqual(["", "'self'"]);
    expect(t1.nodes[1]!.kind).toBe("value");
    const wide = pyList<never>(Array.from({ length: 1000 }, () => inner));
    const t2 = buildTree(wide as TorchValue, 100);
    expect(t2.nodes.length).toBe(100);
    expect(t2.truncated).toBe(true);
    expect(t2.nodes[0]!.descendants).toBe(99);
  });

  it("finds a tensor by the end of its key path, as ?tensor= asks", () => {
    const tree = buildTree(fixture("full-checkpoint.pt").root);
    const nodes = tree.nodes;
    const first = nodes.findIndex((n) => n.kind === "tensor" && n.path.startsWith('["model_state_dict"]'));
    const key = JSON.parse(nodes[first]!.path.slice('["model_state_dict"]'.length + 1, -1)) as string;
    expect(findTensorRow(nodes, key)).toBe(first);
    expect(findTensorRow(nodes, nodes[first]!.path)).toBe(first);
    expect(findTensorRow(nodes, "no-such-tensor")).toBe(-1);
  });
});
