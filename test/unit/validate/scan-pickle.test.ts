import { describe, expect, it } from "vitest";
import { scanPickle } from "../../../src/validate/scan-pickle.js";
import { asm, callPickle, memoStackGlobalPickle, op } from "./pickle-asm.js";

const names = (bytes: Uint8Array) => scanPickle(bytes, 0).globals.map((g) => `${g.module}.${g.name}`);

describe("scanPickle: finding every import", () => {
  it("finds a literal GLOBAL", () => {
    const scan = scanPickle(callPickle("os", "system"), 0);
    expect(scan.complete).toBe(true);
    expect(scan.globals).toMatchObject([{ module: "os", name: "system", opcode: "GLOBAL", spelling: "literal", offset: 2 }]);
  });

  it("resolves STACK_GLOBAL built from memo'd strings", () => {
    const scan = scanPickle(memoStackGlobalPickle("subprocess", "run"), 0);
    expect(scan.globals).toMatchObject([{ module: "subprocess", name: "run", opcode: "STACK_GLOBAL", spelling: "memo" }]);
    expect(scan.error).toBeUndefined();
  });

  it("resolves STACK_GLOBAL through BINPUT/BINGET in protocol 2 opcodes", () => {
    const bytes = asm(op.proto(4), op.unicode("posix"), op.put(7), op.pop, op.unicode("system"), op.put(9), op.pop,
      op.get(7), op.get(9), op.stackGlobal, op.stop);
    expect(names(bytes)).toEqual(["posix.system"]);
  });

  it("finds INST and the class OBJ builds", () => {
    const inst = asm(op.mark, op.unicode("ls"), op.inst("os", "system"), op.stop);
    expect(names(inst)).toEqual(["os.system"]);
    const obj = asm(op.mark, op.global("builtins", "eval"), op.unicode("1"), op.obj, op.stop);
    expect(names(obj)).toEqual(["builtins.eval"]);
  });

  it("reports STACK_GLOBAL from a computed value as unresolved", () => {
    // module = getattr(...)(...) result: not a string known before loading.
    const bytes = asm(op.proto(4), op.global("builtins", "str"), op.unicode("o"), op.tuple1, op.reduce,
      op.shortUnicode("system"), op.stackGlobal, op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.unresolved).toHaveLength(1);
    expect(scan.unresolved[0]!.message).toMatch(/module.*computed/);
  });

  it("reports STACK_GLOBAL on non-strings as type confusion and keeps walking", () => {
    const bytes = asm(op.proto(4), op.binint1(42), op.shortUnicode("os"), op.stackGlobal, op.pop,
      op.global("os", "system"), op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.typeConfusion).toHaveLength(1);
    expect(scan.error?.code).toBe("type-mismatch");
    expect(scan.globals.map((g) => g.name)).toEqual(["system"]);
    expect(scan.complete).toBe(true);
  });

  it("keeps walking after a stack underflow to list later imports", () => {
    const bytes = asm(op.proto(2), op.reduce, op.global("socket", "socket"), op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.error?.code).toBe("stack-underflow");
    expect(names(bytes)).toEqual(["socket.socket"]);
  });

  it("stops at an unknown opcode or the end of input, saying where", () => {
    const bad = scanPickle(asm(op.proto(2), [0x00]), 0);
    expect(bad.error).toMatchObject({ kind: "invalid", code: "unknown-opcode", offset: 2 });
    const cut = scanPickle(asm(op.proto(2), op.global("os", "system")).subarray(0, 8), 0);
    expect(cut.error?.kind).toBe("truncated");
    const noStop = scanPickle(asm(op.proto(2), op.none), 0);
    expect(noStop).toMatchObject({ complete: false, error: { kind: "truncated" } });
  });

  it("records EXT opcodes and adds baseOffset to every offset", () => {
    const scan = scanPickle(asm(op.proto(2), op.ext1(5), op.stop), 0, { baseOffset: 1000 });
    expect(scan.extensions).toEqual([{ offset: 1002, code: 5 }]);
    expect(scan.start).toBe(1000);
  });
});

describe("scanPickle: nested pickles and persistent ids", () => {
  it("captures bytes handed to a loader, with their offset", () => {
    const inner = callPickle("os", "system");
    const bytes = asm(op.proto(3), op.global("pickle", "loads"), op.binbytes(inner), op.tuple1, op.reduce, op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.nested).toHaveLength(1);
    expect(scan.nested[0]).toMatchObject({ loader: "pickle.loads", format: "pickle", dataAt: 2 + 14 + 5 });
    expect(scan.nested[0]!.data).toEqual(inner);
  });

  it("rebuilds protocol-2 bytes spelled as _codecs.encode(str, 'latin1')", () => {
    const inner = callPickle("os", "system");
    const text = String.fromCharCode(...inner);
    const bytes = asm(op.proto(2), op.global("torch.storage", "_load_from_bytes"),
      op.global("_codecs", "encode"), op.unicode(text), op.unicode("latin1"), op.tuple2, op.reduce,
      op.tuple1, op.reduce, op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.nested).toHaveLength(1);
    expect(scan.nested[0]).toMatchObject({ loader: "torch.storage._load_from_bytes", format: "torch-file", dataAt: undefined });
    expect(scan.nested[0]!.data).toEqual(inner);
  });

  it("treats a pickle-looking bytes argument to any callable as nested", () => {
    const inner = callPickle("os", "system");
    const bytes = asm(op.proto(3), op.global("mymodule", "restore"), op.binbytes(inner), op.tuple1, op.reduce, op.stop);
    expect(scanPickle(bytes, 0).nested[0]?.loader).toBe("mymodule.restore");
  });

  it("parses storage persistent ids and keeps other ids apart", () => {
    const bytes = asm(op.proto(2), op.mark, op.unicode("storage"), op.global("torch", "FloatStorage"), op.unicode("0"),
      op.unicode("cpu"), op.binint(6), op.tuple, op.binpersid, op.pop,
      op.unicode("module"), op.tuple1, op.binpersid, op.stop);
    const scan = scanPickle(bytes, 0);
    expect(scan.storageRefs).toMatchObject([{ key: "0", storageClass: "torch.FloatStorage", location: "cpu", numel: 6 }]);
    expect(scan.otherPersistentIds).toMatchObject([{ tag: "module" }]);
  });

  it("counts memo traffic and marks for the expansion checks", () => {
    const parts = [op.proto(2), op.emptyList, op.put(0), op.mark];
    for (let i = 0; i < 20; i++) parts.push(op.get(0));
    parts.push(op.appends, op.stop);
    const scan = scanPickle(asm(...parts), 0);
    expect(scan).toMatchObject({ gets: 20, puts: 1, maxMarkDepth: 1, complete: true });
  });

  it("tells a bound-method getattr from a getattr on a module", () => {
    const bound = asm(op.proto(2), op.global("builtins", "getattr"), op.global("mod", "Cls"), op.emptyTuple, op.newobj,
      op.unicode("method"), op.tuple2, op.reduce, op.stop);
    expect(scanPickle(bound, 0).getattrCalls).toEqual([expect.objectContaining({ boundMethod: true, ownerClass: "mod.Cls" })]);
    const onModule = asm(op.proto(2), op.global("builtins", "getattr"), op.global("os", "path"), op.unicode("join"),
      op.tuple2, op.reduce, op.stop);
    expect(scanPickle(onModule, 0).getattrCalls[0]?.boundMethod).toBe(false);
  });

  it("never throws on arbitrary bytes", () => {
    for (let seed = 1; seed < 200; seed++) {
      const bytes = new Uint8Array(64).map((_, i) => (seed * 131 + i * 7919) & 0xff);
      expect(() => scanPickle(bytes, 0)).not.toThrow();
    }
  });

  it("stops at maxOps and says so", () => {
    const parts = [op.proto(2), op.emptyList];
    for (let i = 0; i < 100; i++) parts.push(op.none, op.append);
    parts.push(op.stop);
    const scan = scanPickle(asm(...parts), 0, { maxOps: 10 });
    expect(scan).toMatchObject({ limitReached: true, complete: false, ops: 10 });
  });
});
