// The per-target weights_only API helper code builds on: weightsOnlyAllows, targets, defaults.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_TORCH_TARGET, isTorchTarget, TORCH_TARGETS, torchHasDtype, WEIGHTS_ONLY_POLICIES, weightsOnlyAllows,
} from "../../../src/validate/index.js";

describe("torch targets", () => {
  it("names three targets, default current", () => {
    expect(TORCH_TARGETS).toEqual(["1.13", "2.6", "current"]);
    expect(DEFAULT_TORCH_TARGET).toBe("current");
    expect(isTorchTarget("2.6")).toBe(true);
    expect(isTorchTarget("2.5")).toBe(false);
  });

  it("weightsOnlyAllows answers per target", () => {
    expect(weightsOnlyAllows("torch._utils", "_rebuild_tensor_v2", "1.13")).toBe(true);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_tensor_v3", "1.13")).toBe(false);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_tensor_v3", "2.6")).toBe(true);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_sparse_csr_tensor", "1.13")).toBe(true);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_sparse_csr_tensor", "2.6")).toBe(false);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_nested_tensor", "2.6")).toBe(true);
    expect(weightsOnlyAllows("torch._utils", "_rebuild_nested_tensor", "current")).toBe(false);
    expect(weightsOnlyAllows("torch", "uint16", "2.6")).toBe(true);
    expect(weightsOnlyAllows("torch", "uint3", "2.6")).toBe(false);
    expect(weightsOnlyAllows("torch", "uint3", "current")).toBe(true);
    expect(weightsOnlyAllows("torch", "device")).toBe(true);
    expect(weightsOnlyAllows("torch", "device", "1.13")).toBe(false);
  });

  it("maps Python 2 names only where torch does", () => {
    expect(weightsOnlyAllows("__builtin__", "set", "2.6")).toBe(true);
    expect(weightsOnlyAllows("__builtin__", "set", "1.13")).toBe(false);
    expect(weightsOnlyAllows("builtins", "set", "1.13")).toBe(false);
  });

  it("never allows a blocked module, whatever the allow-list", () => {
    for (const t of TORCH_TARGETS) expect(weightsOnlyAllows("os", "system", t)).toBe(false);
    expect(WEIGHTS_ONLY_POLICIES["2.6"].blockedModules.has("posix")).toBe(true);
  });

  it("knows which dtypes each torch has", () => {
    expect(torchHasDtype("uint32", "1.13")).toBe(false);
    expect(torchHasDtype("uint32", "2.6")).toBe(true);
    expect(torchHasDtype("float8_e4m3fn", "2.6")).toBe(true);
    expect(torchHasDtype("float8_e8m0fnu", "2.6")).toBe(false);
    expect(torchHasDtype("float8_e8m0fnu", "current")).toBe(true);
  });

  it("2.6 differs from current where upstream changed", () => {
    const p26 = WEIGHTS_ONLY_POLICIES["2.6"];
    const cur = WEIGHTS_ONLY_POLICIES.current;
    expect([p26.checksSetItemTarget, cur.checksSetItemTarget]).toEqual([false, true]);
    expect([p26.intPersistentId, cur.intPersistentId]).toEqual([false, true]);
    expect(p26.globals.size).toBe(128);
    expect(WEIGHTS_ONLY_POLICIES["1.13"].globals.size).toBe(90);
  });
});
