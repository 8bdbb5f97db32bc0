import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { readCheckpoint, walkTensors, tensorBytes } from "../../../src/torch/index.js";
import { toPlainJson, fromPlainJson } from "../../../src/convert/plain-json.js";

describe("plain", () => {
  it("train dump", () => {
    const ck = readCheckpoint(new Uint8Array(readFileSync("fixtures/torch/train-dump.pt")));
    const text = toPlainJson(ck.root, { indent: 0 });
    const expected = readFileSync("fixtures/torch/train-dump.json", "utf8");
    expect(text.trim()).toBe(expected.trim());
    const back = fromPlainJson(expected);
    const a = walkTensors(ck.root), b = walkTensors(back);
    expect(b.map((e) => e.path)).toEqual(a.map((e) => e.path));
    a.forEach((e, i) => expect(tensorBytes(b[i]!.tensor)).toEqual(tensorBytes(e.tensor)));
    console.log(toPlainJson(readCheckpoint(new Uint8Array(readFileSync("fixtures/torch/full-checkpoint.pt"))).root).slice(0, 2500));
  });
});
