// The writer's direct path for plain tensors (write-tensor-direct.ts, EncodeOptions.writeHost)
// writes the same bytes as the general path (reduceHost's call objects through the encoder's
// frames), at every protocol (protocol-4 frame boundaries included), in both layouts, with and
// without the weights-only rules, beside every tensor it leaves to the general path, and up to
// the depth limit.
import { describe, expect, it } from "vitest";
import { isTorchsaveError } from "../../../../src/errors.js";
import { encodePickle } from "../../../../src/pickle/encoder.js";
import type { PyValue } from "../../../../src/pickle/value.js";
import { parameter, stateDict, tensor, tensorView, toTorchValue } from "../../../../src/torch/builder.js";
import type { Tensor, TorchHost, TorchValue } from "../../../../src/torch/model.js";
import { torchPickleHooks } from "../../../../src/torch/write/write-pickle-tensor.js";

type Layout = "zip" | "legacy";

/** The pickle both ways (or the error code and path each way gives), and how many tensors went directly. */
function both(root: TorchValue, layout: Layout, protocol: 2 | 3 | 4 | 5, maxDepth?: number) {
  const run = (direct: boolean) => {
    const hooks = torchPickleHooks(root, { layout, weightsOnly: false });
    let count = 0;
    try {
      const bytes = encodePickle<TorchHost>(root as PyValue<TorchHost>, {
        protocol, reduceHost: hooks.reduceHost, persistentId: hooks.persistentId,
        ...(maxDepth === undefined ? {} : { maxDepth }),
        ...(direct ? { writeHost: (h: TorchHost, w: Parameters<typeof hooks.writeHost>[1]) => (hooks.writeHost(h, w) ? (count++, true) : false) } : {}),
      });
      return { out: Buffer.from(bytes).toString("hex"), keys: hooks.records.map((r) => r.key).join(), count };
    } catch (e) {
      if (!isTorchsaveError(e)) throw e;
      return { out: `${e.code} at ${JSON.stringify(e.path)}`, keys: "", count };
    }
  };
  return { direct: run(true), general: run(false) };
}

function expectSame(root: TorchValue, layout: Layout, protocol: 2 | 3 | 4 | 5, maxDepth?: number): number {
  const { direct, general } = both(root, layout, protocol, maxDepth);
  expect(direct.out === general.out, `${layout}, protocol ${protocol}`).toBe(true);
  expect(direct.keys).toBe(general.keys);
  return direct.count;
}

/** Many small tensors of every shape the direct path takes, and some it leaves alone. */
function mixed(n: number, layout: Layout): TorchValue {
  const entries: Record<string, TorchValue | Tensor> = {};
  const shared = tensor(new Float32Array(64), { shape: [8, 8] });
  for (let i = 0; i < n; i++) {
    const shape = [[], [3], [2, 2], [1, 2, 1, 2], [1, 1, 1, 1, 1]][i % 5]!;
    const size = shape.reduce((a, b) => a * b, 1);
    const base = tensor(new Float32Array(size + (i % 3)).fill(i), { device: i % 11 === 0 ? "cuda:0" : "cpu" });
    entries[`t${i}`] = { ...tensorView(base, shape, { offset: i % 3 }), requiresGrad: i % 7 === 0 };
  }
  entries.big = tensor(new Uint8Array(70_000), { dtype: "uint8" });
  entries.far = tensorView(entries.big as Tensor, [2], { offset: 69_000 });
  entries.again = entries.t1!;
  entries.sharedA = shared;
  entries.sharedB = tensorView(shared, [8], { offset: 8 });
  entries.param = parameter(new Float32Array([1, 2]));
  // A storage viewed with two dtypes is written untyped, which only the zip layout has.
  if (layout === "zip") entries.retyped = { ...(entries.t2 as Tensor), dtype: "int32" };
  entries.double = tensor(new Float64Array([1.5]));
  entries.bf16 = tensor(new Uint16Array([1, 2]), { dtype: "bfloat16" });
  entries.nested = toTorchValue({ list: [entries.t3!, [entries.t4!, entries.t4!]] });
  return stateDict(entries);
}

describe("plain tensors written directly", () => {
  for (const layout of ["zip", "legacy"] as const) {
    for (const protocol of [2, 3, 4, 5] as const) {
      it(`give the general path's bytes: ${layout} layout, protocol ${protocol}`, () => {
        // Over 64 KiB of pickle, so protocol 4's frames are cut while tensors are being written.
        const root = mixed(3000, layout);
        const count = expectSame(root, layout, protocol);
        expect(count).toBeGreaterThan(3000);
      });
    }
  }

  it("cut protocol-4 frames where the general path does, wherever the 64 KiB mark falls", () => {
    // About 80 KiB of pickle (one cut), after a str of every length up to a tensor's share
    // (52 bytes): the cut moves through every opcode of the rebuild calls.
    const tensors = Array.from({ length: 1500 }, (_, i) => [`t${i}`, tensorView(tensor(new Float32Array(6)), [2, 3])] as const);
    for (let pad = 0; pad < 64; pad++) {
      const root = stateDict(Object.fromEntries([["pad", "x".repeat(pad)], ...tensors]));
      expectSame(root, "zip", 4);
    }
  });

  it("leave what is not a plain tensor to the general path", () => {
    const t = tensor(new Float32Array([1]));
    const cases: Tensor[] = [
      parameter(new Float32Array([1])),
      { ...t, origin: { kind: "object", via: "reduce", callable: { kind: "global", module: "torch._utils", name: "_rebuild_tensor_v2" }, args: { kind: "tuple", items: [] } } },
      { ...t, device: "cuda:0" },
      { ...t, subclass: { kind: "global", module: "m", name: "Sub" } },
      { ...t, dtype: "int32" },
    ];
    for (const c of cases) {
      const root = stateDict({ c });
      expect(torchPickleHooks(root, { layout: "zip", weightsOnly: false }).isDirect(c)).toBe(false);
      expectSame(root, "zip", 2);
    }
    expect(torchPickleHooks(stateDict({ t }), { layout: "zip", weightsOnly: false }).isDirect(t)).toBe(true);
    expect(both(stateDict({ t }), "zip", 2).direct.count).toBe(1);
  });

  it("fail or succeed as the general path does at the depth limit", () => {
    const t = tensor(new Float32Array([1, 2]), { shape: [2] });
    for (let depth = 1; depth <= 12; depth++) {
      let v: unknown = t;
      for (let i = 0; i < depth; i++) v = [v];
      for (const maxDepth of [depth + 1, depth + 2, depth + 3, depth + 4, depth + 5, depth + 6]) {
        expectSame(toTorchValue(v as Tensor), "zip", 2, maxDepth);
      }
    }
  });
});
