// withRanges: the validator's structural pass over an asynchronous source, fetching only the ranges it
// reads, gives the report the same pass gives over the whole bytes; the Inspector offers the data
// check of such a source and runs it on request.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../../../src/bytes/source.js";
import { ORDERED_DICT, pyDict } from "../../../src/pickle/value.js";
import type { TorchHost } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { validateCheckpoint } from "../../../src/validate/index.js";
import { Inspector } from "../../../src/web/inspector.js";
import type { Request, Response, ValidationView } from "../../../src/web/protocol.js";
import { limitReport, withRanges } from "../../../src/web/range-validate.js";
import { CORPUS, REPO } from "../../helpers/corpus.js";
import { storage, tensor } from "../convert/values.js";

const quick = { weightsOnly: "current" as const, checkCrc: false, scanValues: false };

/** A 24 MiB zip checkpoint: two big tensors (one NaN in the first) with small ones around them, so some records lie mid-file. */
function bigCheckpoint(layout: "zip" | "legacy" = "zip"): Uint8Array {
  const big = (k: string, nan: boolean) => {
    const x = new Float32Array(3 * 2 ** 20);
    if (nan) x[12345] = NaN;
    return tensor(storage("float32", new Uint8Array(x.buffer), { key: k }), [3 * 2 ** 10, 2 ** 10]);
  };
  const small = (k: string) => tensor(storage("float32", new Uint8Array(Float32Array.of(1, 2, 3).buffer), { key: k }), [3]);
  return writeCheckpoint(pyDict<TorchHost>([["a", small("1")], ["big", big("0", true)], ["b", small("2")], ["big2", big("3", false)], ["c", small("4")]], ORDERED_DICT), { layout });
}

/** An asynchronous-only source over bytes that counts what it hands out. */
function asyncSource(bytes: Uint8Array): ByteSource & { read_: number } {
  const s = { size: bytes.length, read_: 0, name: "x.pt", read: async (o: number, l: number) => ((s.read_ += l), bytes.slice(o, o + l)) };
  return s;
}

const codes = (r: ReturnType<typeof validateCheckpoint>) => r.findings.map((f) => `${f.severity} ${f.code} ${f.message}`);

describe("withRanges", () => {
  it("validates a zip's structure from a few ranges, as the whole bytes do", async () => {
    const bytes = bigCheckpoint();
    const src = asyncSource(bytes);
    const run = await withRanges(src, 2 ** 20, (view) => validateCheckpoint(view, quick));
    expect(run.complete).toBe(true);
    expect(codes(run.value)).toEqual(codes(validateCheckpoint(bytes, quick)));
    expect(run.value.weightsOnly?.accepted).toBe(true);
    expect(run.fetched).toBe(src.read_);
    expect(run.fetched).toBeLessThan(bytes.length / 50);
  });

  it("gives the same findings for a malicious pickle, a damaged zip and a legacy file", async () => {
    const evil = new Uint8Array(readFileSync(join(CORPUS, "picklescan/pytorch_magic_bypass.pt")));
    const damaged = bigCheckpoint();
    damaged[damaged.length - 30]! ^= 0xff; // inside the central directory's last entry
    for (const bytes of [evil, damaged, bigCheckpoint("legacy")]) {
      const run = await withRanges(asyncSource(bytes), 64 * 2 ** 20, (view) => validateCheckpoint(view, quick));
      expect(run.complete).toBe(true);
      expect(codes(run.value)).toEqual(codes(validateCheckpoint(bytes, quick)));
      expect(run.value.imports).toEqual(validateCheckpoint(bytes, quick).imports);
    }
  });

  it("stops at its budget and says so instead of reporting from unread bytes", async () => {
    const bytes = bigCheckpoint();
    const run = await withRanges(asyncSource(bytes), 1, (view) => validateCheckpoint(view, quick));
    expect(run.complete).toBe(false);
    const r = limitReport(bytesSource(bytes), quick, run.fetched, 1);
    expect(r.findings.map((f) => f.code)).toEqual(["validation-limit"]);
    expect(r.counts.error).toBe(1);
  });
});

describe("Inspector validation of an asynchronous source", () => {
  it("checks the structure by ranges, offers the data check, and finds the NaN when asked", async () => {
    const bytes = bigCheckpoint();
    let last: Response | undefined;
    const progress: Response[] = [];
    const inspector = new Inspector((r) => ("progress" in r ? progress.push(r) : (last = r)));
    const ask = async (req: Request): Promise<ValidationView> => {
      await inspector.handle(req);
      if (last === undefined || !("ok" in last) || !last.ok) throw new Error(JSON.stringify(last));
      return last.value as ValidationView;
    };
    const input = { kind: "blob" as const, blob: new Blob([bytes]), name: "big.pt" };
    const quickView = await ask({ id: 1, op: "validate", input });
    expect(quickView.offer).toEqual({ bytes: bytes.length });
    expect(quickView.fetched!).toBeLessThan(bytes.length / 50);
    expect(quickView.report.tensors).toEqual([]);
    expect(quickView.weightsOnly13?.accepted).toBe(true);
    const full = await ask({ id: 2, op: "validate", input, data: true });
    expect(full.offer).toBeUndefined();
    expect(full.nonFinite).toEqual([{ row: 2, nan: 1, inf: 0 }]);
    expect(progress.length).toBeGreaterThan(0);
  });
});
