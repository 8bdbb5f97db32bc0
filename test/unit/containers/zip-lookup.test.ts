// Record lookup as torch (miniz) does it: ASCII case-insensitive, the first of duplicate names wins,
// and storages come back in key order whatever order the archive lists them in.
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../../src/bytes/source.js";
import { encodePickle } from "../../../src/pickle/encoder.js";
import { pyDict, pyGlobal, pyTuple } from "../../../src/pickle/value.js";
import type { PyValue } from "../../../src/pickle/value.js";
import { openZipSync, readCheckpoint, readEntrySync, zipRecordsSync } from "../../../src/torch/index.js";

const text = (s: string) => new TextEncoder().encode(s);

/** A state_dict pickle whose tensors name the given storage keys (one float each). */
function dataPkl(keys: string[]): Uint8Array {
  const rebuild = pyGlobal("torch._utils", "_rebuild_tensor_v2");
  const entries: [PyValue, PyValue][] = keys.map((k) => [
    `t${k}`,
    { kind: "object", via: "reduce", callable: rebuild, args: pyTuple([{ kind: "persid", binary: true, pid: pyTuple(["storage", pyGlobal("torch", "FloatStorage"), k, "cpu", 1]) }, 0, pyTuple([1]), pyTuple([1]), false, pyDict([], pyGlobal("collections", "OrderedDict"))]) },
  ]);
  return encodePickle(pyDict(entries), { protocol: 2 });
}

const float = (x: number) => new Uint8Array(new Float32Array([x]).buffer);

describe("zip record lookup", () => {
  it("finds records case-insensitively under an upper-case archive folder", () => {
    const zip = openZipSync(bytesSource(zipRecordsSync([{ name: "MODEL/DATA.PKL", data: text("x") }, { name: "MODEL/version", data: text("3") }])));
    expect(zip.prefix).toBe("MODEL/");
    expect(readEntrySync(zip, zip.get("data.pkl")!)).toEqual(text("x"));
  });

  it("the first of two duplicate names wins, and the duplicate is reported", () => {
    // Our writer refuses duplicate names, so write a distinct one and rename it in place.
    const bytes = zipRecordsSync([
      { name: "a/data.pkl", data: text("first") },
      { name: "a/data.pkX", data: text("second") },
      { name: "a/DATA.PKL", data: text("third") },
    ]);
    const from = text("a/data.pkX");
    for (let i = 0; i + from.length <= bytes.length; i++) {
      if (from.every((b, j) => bytes[i + j] === b)) bytes[i + from.length - 1] = 0x6c; // "X" → "l"
    }
    const zip = openZipSync(bytesSource(bytes));
    expect(readEntrySync(zip, zip.get("data.pkl")!)).toEqual(text("first"));
    expect(zip.quirks.map((q) => q.code)).toEqual(expect.arrayContaining(["duplicate-name", "case-duplicate"]));
  });

  it("storages come back in key order whatever the archive order", () => {
    const keys = ["10", "2", "1", "b", "a", "007"];
    const records = [{ name: "ck/data.pkl", data: dataPkl(keys) }, ...keys.map((k, i) => ({ name: `ck/data/${k}`, data: float(i) }))];
    const ckpt = readCheckpoint(zipRecordsSync(records));
    expect(ckpt.storages.map((s) => s.key)).toEqual(["1", "2", "007", "10", "a", "b"]);
    const t10 = ckpt.storages.find((s) => s.key === "10")!;
    expect(Array.from(new Float32Array(t10.data!.slice().buffer))).toEqual([0]);
  });

  it("tensors naming one key share one storage, whatever mix of torch's numbers and other keys the pickle uses", () => {
    for (const keys of [["0", "1", "0", "2", "1"], ["0", "x", "1", "0", "x", "1", "2", "5", "5"], ["3", "0", "1", "3", "0"], ["a", "0", "a", "0"]]) {
      const distinct = [...new Set(keys)];
      const records = [{ name: "ck/data.pkl", data: dataPkl(keys) }, ...distinct.map((k, i) => ({ name: `ck/data/${k}`, data: float(i) }))];
      const ckpt = readCheckpoint(zipRecordsSync(records));
      expect(ckpt.storages.length, keys.join()).toBe(distinct.length);
      const byKey = new Map(ckpt.storages.map((s) => [s.key, s]));
      // dataPkl names its tensors t<key>: a repeated key gives the dict one entry, so check the storages by value.
      const tensors = (ckpt.root as { entries: [string, { storage: { key: string } }][] }).entries;
      for (const [name, t] of tensors) expect(t.storage, name).toBe(byKey.get(name.slice(1)));
      for (const [k, s] of byKey) expect(Array.from(new Float32Array(s.data!.slice().buffer)), k).toEqual([distinct.indexOf(k)]);
    }
  });

  it("a storage record missing from the archive is a typed error naming it", () => {
    const bytes = zipRecordsSync([{ name: "ck/data.pkl", data: dataPkl(["0", "1"]) }, { name: "ck/data/0", data: float(1) }]);
    expect(() => readCheckpoint(bytes)).toThrow(/missing-record: storage 1 is referenced but ck\/data\/1 is missing/);
  });
});
