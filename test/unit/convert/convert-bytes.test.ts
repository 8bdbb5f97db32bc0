// convertBytes: the input format from content, every output format, gzip both ways, and the
// rewrites (prefixes, locations, a caller's transform) on the way.
import { describe, expect, it } from "vitest";
import {
  convertBytes, formatFromName, fromJson, fromMsgpack, fromSafetensors, gzip, readAnySync, toJson, toMsgpack, toPlainJson,
  toSafetensors, CONVERT_FORMATS,
} from "../../../src/convert/index.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { ORDERED_DICT, pyDict } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { torchDiff } from "./torch-equal.js";
import { f32, storage, tensor, thrown } from "./values.js";

const sd = (): TorchValue => pyDict<TorchHost>([
  ["module.fc.weight", tensor(storage("float32", f32(1, 2, 3, 4), { location: "cuda:0" }), [2, 2])],
  ["module.fc.bias", tensor(storage("float32", f32(5, 6), { key: "1", location: "cuda:0" }), [2])],
], ORDERED_DICT);


describe("convertBytes", () => {
  it("detects every input format from content", () => {
    const v = sd();
    const pt = writeCheckpoint(v);
    const cases: [Uint8Array, string, boolean][] = [
      [pt, "zip", false],
      [writeCheckpoint(v, { layout: "legacy" }), "legacy", false],
      [new TextEncoder().encode(toJson(v)), "json", false],
      [new TextEncoder().encode(toPlainJson(v)), "json-plain", false],
      [toMsgpack(v), "msgpack", false],
      [toSafetensors(v), "safetensors", false],
      [gzip(toMsgpack(v)), "msgpack", true],
      [gzip(pt), "zip", true],
    ];
    for (const [bytes, format, gz] of cases) {
      const r = readAnySync(bytesSource(bytes));
      expect([r.format, r.gzip]).toEqual([format, gz]);
      // Plain JSON keeps numbers only (the devices and the OrderedDict are gone).
      if (format !== "json-plain") expect(torchDiff(v, r.root, { tensors: "logical" })).toBeUndefined();
    }
    expect(thrown(() => readAnySync(bytesSource(new Uint8Array([1, 2, 3])))).code).toBe("unsupported");
  });

  it("writes every output format, gzipped or not, that reads back the same", () => {
    const input = writeCheckpoint(sd());
    for (const to of CONVERT_FORMATS) {
      for (const gz of [false, true]) {
        const out = convertBytes(input, { to, gzip: gz });
        const back = readAnySync(bytesSource(out));
        expect(back.gzip).toBe(gz);
        if (to === "json-plain") {
          const w = (back.root as { entries: [string, Tensor][] }).entries[0]![1];
          expect(w.dtype).toBe("float32");
          expect(w.device).toBe("cpu"); // plain JSON keeps numbers, not devices
        } else {
          expect(torchDiff(readCheckpoint(input).root, back.root, { tensors: "logical" })).toBeUndefined();
        }
      }
    }
  });

  it("applies the transform, then prefixes, then the location map", () => {
    const out = convertBytes(writeCheckpoint(sd()), { to: "msgpack", stripPrefix: "module.", mapLocation: "cpu" });
    const back = fromMsgpack(out);
    const root = back as { entries: [string, Tensor][] };
    expect(root.entries.map(([k]) => k)).toEqual(["fc.weight", "fc.bias"]);
    expect(root.entries.map(([, t]) => [t.device, t.storage!.location])).toEqual([["cpu", "cpu"], ["cpu", "cpu"]]);
    const added = fromJson(new TextDecoder().decode(convertBytes(toMsgpack(back), { to: "json", addPrefix: "net." }))) as { entries: [string, Tensor][] };
    expect(added.entries.map(([k]) => k)).toEqual(["net.fc.weight", "net.fc.bias"]);
    const seen: TorchValue[] = [];
    convertBytes(toMsgpack(back), { to: "json", transform: (r) => (seen.push(r), pyDict([["replaced", 1]])) });
    expect(seen).toHaveLength(1);
    expect(fromJson(new TextDecoder().decode(convertBytes(toMsgpack(back), { to: "json", transform: () => pyDict([["replaced", 1]]) })))).toEqual(pyDict([["replaced", 1]]));
  });

  it("imports plain JSON with the dtype asked for, and can be told how to read JSON", () => {
    const text = new TextEncoder().encode('{"w": [1, 2]}');
    const st = fromSafetensors(convertBytes(text, { to: "safetensors", dtype: "float16" }));
    expect(st.header.entries.map((e) => e.dtype)).toEqual(["F16"]);
    const asValue = fromMsgpack(convertBytes(text, { to: "msgpack", jsonAs: "json" }));
    expect(asValue).toEqual(pyDict([["w", { kind: "list", items: [1, 2] }]]));
  });

  it("falls back to a non-weights-only pickle for values torch's weights_only refuses, and says so", () => {
    const odd = pyDict<TorchHost>([["obj", { kind: "object", via: "reduce", callable: { kind: "global", module: "mylib", name: "Thing" }, args: { kind: "tuple", items: [] } }]]);
    const out = convertBytes(toMsgpack(odd), { to: "pt" });
    expect(torchDiff(odd, readCheckpoint(out).root)).toBeUndefined();
  });

  it("reads output format and gzip from file names", () => {
    expect(formatFromName("model.safetensors")).toEqual({ format: "safetensors", gzip: false });
    expect(formatFromName("dir.v2/state.JSON.gz")).toEqual({ format: "json", gzip: true });
    expect(formatFromName("x.pth")).toEqual({ format: "pt", gzip: false });
    expect(formatFromName("x.ckpt.gz")).toEqual({ format: "pt", gzip: true });
    expect(formatFromName("x.pkl")).toEqual({ format: "pickle", gzip: false });
    expect(formatFromName("x.msgpack")).toEqual({ format: "msgpack", gzip: false });
    expect(formatFromName("x.txt")).toBeUndefined();
    expect(formatFromName("dir.d/noext")).toBeUndefined();
    expect(formatFromName("x.gz")).toBeUndefined();
  });
});
