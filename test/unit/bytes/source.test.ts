import { describe, expect, it } from "vitest";
import { thrown } from "../../helpers/errors.js";
import {
  blobSource,
  bytesSource,
  callbackSource,
  checkReadRange,
  runPlan,
  runPlanSync,
  type ByteSource,
  type ReadPlan,
} from "../../../src/bytes/source.js";
import { isTorchsaveError } from "../../../src/errors.js";

const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);


describe("checkReadRange", () => {
  it("accepts ranges inside the source, including empty ones at the end", () => {
    expect(() => checkReadRange(10, 0, 10)).not.toThrow();
    expect(() => checkReadRange(10, 10, 0)).not.toThrow();
    expect(() => checkReadRange(2 ** 40, 2 ** 40 - 5, 5)).not.toThrow();
  });
  it("reports truncated with the offset past the end", () => {
    const e = thrown(() => checkReadRange(10, 8, 3, "f.pt"));
    expect(e).toMatchObject({ name: "CheckpointError", code: "truncated", offset: 8, file: "f.pt", incomplete: true });
  });
  it("refuses negative, fractional and unsafe ranges as invalid-argument", () => {
    for (const [o, l] of [[-1, 1], [0, -1], [0.5, 1], [0, 2 ** 53], [Number.NaN, 1], [2 ** 53, 0]] as const) {
      expect(thrown(() => checkReadRange(10, o, l))).toMatchObject({ code: "invalid-argument" });
    }
  });
});

describe("bytesSource", () => {
  const src = bytesSource(bytes, "mem.bin");
  it("exposes size, name and the whole input", () => {
    expect(src.size).toBe(100);
    expect(src.name).toBe("mem.bin");
    expect(src.bytes).toBe(bytes);
  });
  it("readSync returns a view of the input, not a copy", () => {
    const v = src.readSync!(10, 5);
    expect([...v]).toEqual([10, 11, 12, 13, 14]);
    expect(v.buffer).toBe(bytes.buffer);
    expect(v.byteOffset).toBe(10);
  });
  it("read resolves to the same view", async () => {
    const v = await src.read(95, 5);
    expect([...v]).toEqual([95, 96, 97, 98, 99]);
    expect(v.buffer).toBe(bytes.buffer);
  });
  it("rejects past the end with truncated, asynchronously", async () => {
    const p = src.read(96, 5);
    await expect(p).rejects.toMatchObject({ code: "truncated", offset: 96 });
    expect(thrown(() => src.readSync!(200, 1))).toMatchObject({ code: "truncated" });
  });
  it("respects a subarray input's own bounds", () => {
    const sub = bytesSource(bytes.subarray(50, 60));
    expect(sub.size).toBe(10);
    expect([...sub.readSync!(0, 2)]).toEqual([50, 51]);
    expect(thrown(() => sub.readSync!(9, 2))).toMatchObject({ code: "truncated" });
    expect(sub.name).toBeUndefined();
  });
});

describe("blobSource", () => {
  it("reads ranges from a real Blob", async () => {
    const src = blobSource(new Blob([bytes]), "b");
    expect(src.size).toBe(100);
    expect(src.readSync).toBeUndefined();
    expect([...(await src.read(3, 4))]).toEqual([3, 4, 5, 6]);
    await expect(src.read(99, 2)).rejects.toMatchObject({ code: "truncated" });
  });
  it("turns a failing arrayBuffer into an io error with the cause", async () => {
    const boom = new Error("disk gone");
    const src = blobSource({ size: 10, slice: () => ({ arrayBuffer: () => Promise.reject(boom) }) });
    await expect(src.read(0, 1)).rejects.toMatchObject({ code: "io", offset: 0, cause: boom });
  });
  it("turns a short read into an io error", async () => {
    const src = blobSource({ size: 10, slice: () => ({ arrayBuffer: async () => new ArrayBuffer(1) }) });
    await expect(src.read(0, 4)).rejects.toMatchObject({ code: "io" });
  });
  it("refuses a bad size", () => {
    expect(thrown(() => blobSource({ size: -1, slice: () => ({ arrayBuffer: async () => new ArrayBuffer(0) }) }))).toMatchObject({ code: "invalid-argument" });
  });
});

describe("callbackSource", () => {
  it("accepts sync and async callbacks and trims extra bytes", async () => {
    const sync = callbackSource(100, (o, l) => bytes.subarray(o, o + l));
    expect([...(await sync.read(1, 2))]).toEqual([1, 2]);
    const longer = callbackSource(100, async (o) => bytes.subarray(o));
    expect([...(await longer.read(97, 2))]).toEqual([97, 98]);
    expect(sync.readSync).toBeUndefined();
  });
  it("checks the range before calling back", async () => {
    let calls = 0;
    const src = callbackSource(10, (o, l) => {
      calls++;
      return new Uint8Array(l);
    });
    await expect(src.read(8, 5)).rejects.toMatchObject({ code: "truncated" });
    await expect(src.read(-1, 1)).rejects.toMatchObject({ code: "invalid-argument" });
    expect(calls).toBe(0);
  });
  it("wraps foreign errors as io, passes torchsave errors through", async () => {
    const plain = callbackSource(10, () => {
      throw new TypeError("nope");
    }, "x");
    await expect(plain.read(0, 1)).rejects.toMatchObject({ name: "CheckpointError", code: "io", file: "x" });
    const inner = bytesSource(new Uint8Array(2));
    const passing = callbackSource(10, (o, l) => inner.readSync!(o, l));
    await expect(passing.read(5, 1)).rejects.toMatchObject({ code: "truncated", offset: 5 });
  });
  it("refuses short answers and non-bytes as io", async () => {
    await expect(callbackSource(10, () => new Uint8Array(1)).read(0, 2)).rejects.toMatchObject({ code: "io" });
    await expect(callbackSource(10, () => [1, 2] as unknown as Uint8Array).read(0, 2)).rejects.toMatchObject({ code: "io" });
  });
  it("accepts sizes beyond 4 GiB", async () => {
    const huge = callbackSource(2 ** 40, (_o, l) => new Uint8Array(l));
    expect((await huge.read(2 ** 40 - 8, 8)).length).toBe(8);
    expect(thrown(() => callbackSource(2 ** 53, () => new Uint8Array(0)))).toMatchObject({ code: "invalid-argument" });
  });
});

describe("read plans", () => {
  function* sumPlan(): ReadPlan<number> {
    const a: Uint8Array = yield { offset: 0, length: 2 };
    const b: Uint8Array = yield { offset: a[1]!, length: 1 };
    return a[0]! + b[0]!;
  }
  it("runs the same plan sync and async", async () => {
    const src = bytesSource(bytes);
    expect(runPlanSync(sumPlan(), src)).toBe(0 + 1);
    expect(await runPlan(sumPlan(), src)).toBe(1);
    expect(await runPlan(sumPlan(), callbackSource(100, (o, l) => bytes.subarray(o, o + l)))).toBe(1);
  });
  it("refuses to run synchronously over an async-only source", () => {
    const src: ByteSource = callbackSource(100, (o, l) => bytes.subarray(o, o + l), "remote");
    const e = thrown(() => runPlanSync(sumPlan(), src));
    expect(isTorchsaveError(e)).toBe(true);
    expect(e).toMatchObject({ code: "invalid-argument", file: "remote" });
  });
  it("lets source errors escape from the plan", async () => {
    function* far(): ReadPlan<number> {
      yield { offset: 99, length: 5 };
      return 0;
    }
    expect(thrown(() => runPlanSync(far(), bytesSource(bytes)))).toMatchObject({ code: "truncated" });
    await expect(runPlan(far(), bytesSource(bytes))).rejects.toMatchObject({ code: "truncated" });
  });
});
