// Plain data spelled by today's writers: Python 3.13 pickles paths from pathlib._local, and DCP's
// .metadata is a pickle of torch.distributed.checkpoint dataclasses. Both are values, not code.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sanitize, validateCheckpoint } from "../../../src/validate/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

const read = (...p: string[]) => new Uint8Array(readFileSync(join(REPO, ...p)));

describe("plain data of today's writers", () => {
  it("a torch 2.6 / Python 3.13 checkpoint with pathlib._local paths is ok, each path admitted as plain data", () => {
    const r = validateCheckpoint(read("fixtures/torch2/pathlib.pt"), { name: "pathlib.pt" });
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
    const paths = r.imports.filter((g) => g.module === "pathlib._local");
    expect(paths.map((g) => g.name).sort()).toEqual(["PosixPath", "PurePosixPath"]);
  });

  it("sanitize turns pathlib._local paths into str", () => {
    const out = sanitize(readCheckpoint(read("fixtures/torch2/pathlib.pt")).root, { target: "2.6" });
    expect(out.changes.map((c) => c.from).sort()).toEqual(["pathlib._local.PosixPath", "pathlib._local.PurePosixPath"]);
    expect(out.refused).toEqual([]);
  });

  it("a DCP .metadata pickle (torch 2.6) is ok: its dataclasses are plain data", () => {
    const r = validateCheckpoint(read("fixtures/dcp/single/.metadata"), { name: ".metadata" });
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(r.imports.some((g) => g.module === "torch.distributed.checkpoint.metadata" && g.name === "Metadata")).toBe(true);
  });
});
