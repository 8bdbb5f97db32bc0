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
import { toSafetensors, fromSafetensors, planSafetensors } from "../../../src/convert/safetensors.js";
describe("scratch safetensors", () => {
  for (const f of files) {
    it(f, () => {
      let ck;
      try { ck = readCheckpoint(new Uint8Array(readFileSync(`${dir}/${f}`))); } catch (e) { return; }
      const st = toSafetensors(ck.root);
      const plan = planSafetensors(ck.root);
      if (plan.notes.length) console.log(f, plan.notes.slice(0, 4));
      const back = fromSafetensors(st);
      expect(torchDiff(ck.root, back.root)).toBeUndefined();
    });
  }
  for (const f of readdirSync("/work/shared/corpus/safetensors")) {
    it("corpus " + f, () => {
      const b = new Uint8Array(readFileSync(`/work/shared/corpus/safetensors/${f}`));
      try {
        const v = fromSafetensors(b);
        console.log(f, v.header.entries.map((e) => `${e.name}:${e.dtype}[${e.shape}]`).join(" "), JSON.stringify(v.metadata).slice(0, 100));
        const again = fromSafetensors(toSafetensors(v.root));
        expect(torchDiff(v.root, again.root)).toBeUndefined();
      } catch (e) { console.log("FAIL", f, String(e)); throw e; }
    });
  }
});
import { toPickle } from "../../../src/convert/pickle-plain.js";
describe("scratch pickle", () => {
  for (const f of files) {
    it(f, () => {
      let ck;
      try { ck = readCheckpoint(new Uint8Array(readFileSync(`${dir}/${f}`))); } catch (e) { return; }
      let p;
      try { p = toPickle(ck.root); } catch (e) { console.log("ENCODE FAIL", f, String(e)); return; }
      const back = readCheckpoint(p);
      expect(back.layout).toBe("pickle");
      expect(torchDiff(ck.root, back.root, { storageKeys: false, origins: false })).toBeUndefined();
    });
  }
});
