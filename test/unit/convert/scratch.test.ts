import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { readCheckpoint } from "../../../src/torch/index.js";
import { toMsgpack, fromMsgpack } from "../../../src/convert/msgpack.js";
import { torchDiff } from "./torch-equal.js";

const dir = "fixtures/torch";
const files = readdirSync(dir).filter((f) => !f.endsWith(".json") && !f.endsWith(".jsonl") && !f.endsWith(".py") && !f.endsWith(".md"));
describe("scratch", () => {
  for (const f of files) {
    it(f, () => {
      let ck;
      try { ck = readCheckpoint(new Uint8Array(readFileSync(`${dir}/${f}`))); } catch (e) { console.log("READ FAIL", f, String(e)); return; }
      const m = toMsgpack(ck.root);
      const back = fromMsgpack(m);
      expect(torchDiff(ck.root, back)).toBeUndefined();
    });
  }
});
import { toJson, fromJson } from "../../../src/convert/json.js";
describe("scratch json", () => {
  for (const f of files) {
    it(f, () => {
      let ck;
      try { ck = readCheckpoint(new Uint8Array(readFileSync(`${dir}/${f}`))); } catch (e) { return; }
      const j = toJson(ck.root);
      if (f === "optim-adam.pt" || f === "dtypes.pt") console.log(j.slice(0, 3000));
      const back = fromJson(j);
      expect(torchDiff(ck.root, back)).toBeUndefined();
    });
  }
});
