import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDcp, openDcpSync, readDcpMetadata } from "../../../src/distributed/index.js";
import { directoryFiles, type DirectoryFilesHandle } from "../../../src/node/directory-files.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { walkTensors, tensorBytesAsync } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { tensorLines } from "../../helpers/tensor-lines.js";

const DCP = join(REPO, "fixtures/dcp");
const expected = (name: string): string[] => readFileSync(join(DCP, `${name}.tensors.jsonl`), "utf8").trim().split("\n");
let handle: DirectoryFilesHandle | undefined;
afterEach(() => handle?.close());

describe("DCP fixtures written by torch 2.6", () => {
  for (const name of ["single", "sharded"]) {
    it(`${name}: consolidated tensors equal dcp_to_torch_save's`, () => {
      handle = directoryFiles(join(DCP, name));
      const ckpt = openDcpSync(handle);
      expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected(name));
    });
  }
});
