import { describe, expect, it } from "vitest";
import { scanPickle } from "../../../src/validate/scan-pickle.js";
import { weightsOnlyBlockers, weightsOnlyVerdict, type PersistentIdStyle } from "../../../src/validate/weights-only.js";
import { WEIGHTS_ONLY_POLICIES, type WeightsOnlyVersion } from "../../../src/validate/weights-only-policy.js";
import { asm, op, type Part } from "./pickle-asm.js";

const blockers = (bytes: Uint8Array, version: WeightsOnlyVersion, style: PersistentIdStyle = "zip") =>
  weightsOnlyBlockers({ scan: scanPickle(bytes, 0), record: "r", persistentIds: style }, WEIGHTS_ONLY_POLICIES[version]);
const codes = (bytes: Uint8Array, version: WeightsOnlyVersion, style?: PersistentIdStyle) => blockers(bytes, version, style).map((b) => b.code);

/** `{"w": _rebuild_tensor_v2(storage, 0, (2,), (1,), False, OrderedDict())}` as torch.save writes it. */
function stateDict(extra: Part[] = []): Uint8Array {
  return asm(
    op.proto(2), op.emptyDict, op.put(0), op.unicode("w"), op.global("torch._utils", "_rebuild_tensor_v2"), op.put(1),
    op.mark, op.mark, op.unicode("storage"), op.global("torch", "FloatStorage"), op.unicode("0"), op.unicode("cpu"),
    op.binint1(2), op.tuple, op.binpersid, op.binint1(0), op.binint1(2), op.tuple1, op.binint1(1), op.tuple1, op.false,
    op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.tuple, op.reduce, op.setitem, ...extra, op.stop,
  );
}

describe("weights_only emulation", () => {
  it("accepts a plain state_dict under both versions", () => {
    expect(blockers(stateDict(), "1.13")).toEqual([]);
    expect(blockers(stateDict(), "current")).toEqual([]);
  });

  it("refuses BINFLOAT in torch 1.13 only", () => {
    const withFloat = stateDict([op.unicode("lr"), op.binfloat(), op.setitem]);
    expect(codes(withFloat, "1.13")).toEqual(["weights-only-opcode"]);
    expect(codes(withFloat, "current")).toEqual([]);
  });

  it("refuses opcodes outside the restricted set, naming them", () => {
    const b = blockers(asm(op.proto(4), op.shortUnicode("x"), op.memoize, op.stop), "current");
    expect(b.map((x) => x.message).join(" ")).toMatch(/SHORT_BINUNICODE.*|MEMOIZE/);
    expect(b.every((x) => x.code === "weights-only-opcode")).toBe(true);
  });

  it("refuses globals outside the allow-list, and blocked modules by name", () => {
    const os = asm(op.proto(2), op.global("os", "system"), op.unicode("x"), op.tuple1, op.reduce, op.stop);
    const current = blockers(os, "current");
    expect(current.map((b) => b.code)).toEqual(["weights-only-global", "weights-only-call"]);
    expect(current[0]!.message).toMatch(/module os is blocked/);
    expect(blockers(os, "1.13")[0]!.message).toMatch(/not an allowed global/);
  });

  it("maps Python 2 names only where torch does", () => {
    const set = asm(op.proto(2), op.global("__builtin__", "set"), op.emptyList, op.tuple1, op.reduce, op.stop);
    expect(codes(set, "current")).toEqual([]);
    expect(codes(set, "1.13")).toContain("weights-only-global");
  });

  it("allows NEWOBJ of Parameter everywhere and of other allowed classes only in current torch", () => {
    const param = asm(op.proto(2), op.global("torch.nn.parameter", "Parameter"), op.emptyTuple, op.newobj, op.stop);
    expect(codes(param, "1.13")).toEqual([]);
    const counter = asm(op.proto(2), op.global("collections", "Counter"), op.emptyTuple, op.newobj, op.stop);
    expect(codes(counter, "current")).toEqual([]);
    expect(codes(counter, "1.13")).toEqual(["weights-only-global", "weights-only-call"]);
  });

  it("refuses BUILD on a plain dict, APPEND on a non-list and non-storage persistent ids", () => {
    expect(codes(asm(op.proto(2), op.emptyDict, op.emptyDict, op.build, op.stop), "current")).toEqual(["weights-only-call"]);
    const append = asm(op.proto(2), op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.none, op.append, op.stop);
    expect(codes(append, "1.13")).toEqual(["weights-only-call"]);
    const pid = asm(op.proto(2), op.unicode("module"), op.tuple1, op.binpersid, op.stop);
    expect(codes(pid, "current")).toEqual(["weights-only-persistent-id"]);
    expect(codes(asm(op.proto(2), op.unicode("7"), op.binpersid, op.stop), "1.13", "tar")).toEqual([]);
    expect(codes(asm(op.proto(2), op.unicode("7"), op.binpersid, op.stop), "current", "tar")).toEqual(["weights-only-persistent-id"]);
  });

  it("refuses a damaged pickle and reports format refusals first", () => {
    const cut = stateDict().subarray(0, 30);
    expect(codes(cut, "current")).toContain("weights-only-format");
    const verdict = weightsOnlyVerdict([], WEIGHTS_ONLY_POLICIES.current, { code: "weights-only-format", message: "gzip" });
    expect(verdict).toMatchObject({ accepted: false, version: "current", blockers: [{ code: "weights-only-format" }] });
    expect(weightsOnlyVerdict([], WEIGHTS_ONLY_POLICIES["1.13"], undefined).accepted).toBe(true);
  });
});
