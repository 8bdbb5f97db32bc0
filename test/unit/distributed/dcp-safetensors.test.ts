import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../../../src/bytes/source.js";
import { toSafetensors } from "../../../src/convert/index.js";
import { openDcpSafetensors, readDcpSafetensorsMetadata, readSafetensorsHeaderSync, DCP_SHARDING_INFO, type DirectoryFiles } from "../../../src/distributed/index.js";
import { directoryFiles, type DirectoryFilesHandle } from "../../../src/node/directory-files.js";
import { stateDict, tensor, tensorBytes, tensorBytesAsync, walkTensors } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { tensorLines } from "../../helpers/tensor-lines.js";
import { thrown } from "../../helpers/errors.js";

const DIR = join(REPO, "fixtures/dcp/sharded_st");
const FILES = readdirSync(DIR).sort();
const expected = readFileSync(join(REPO, "fixtures/dcp/sharded_st.tensors.jsonl"), "utf8").trim().split("\n");
let handle: DirectoryFilesHandle | undefined;
afterEach(() => handle?.close());

function memory(sources: Record<string, Uint8Array>, asyncOnly: boolean): DirectoryFiles {
  return {
    name: "mem",
    open(f: string): ByteSource {
      const b = sources[f];
      if (b === undefined) throw new Error(`no ${f}`);
      return asyncOnly ? { size: b.length, read: async (o, n) => b.slice(o, o + n), name: f } : bytesSource(b, f);
    },
  };
}

describe("safetensors-based DCP (HuggingFaceStorageWriter's layout)", () => {
  it("the fixture's rank files read as one checkpoint equal to the full tensors", async () => {
    handle = directoryFiles(DIR);
    const ckpt = await openDcpSafetensors(handle, FILES);
    expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected);
    const meta = ckpt.metadata.entries.find((e) => e.fqn === "embed.weight");
    expect(meta?.kind === "tensor" && meta.chunks.map((c) => c.offsets)).toEqual([[0, 0], [5, 0]]);
  });

  it("reads through asynchronous sources too", async () => {
    const files = Object.fromEntries(FILES.map((f) => [f, new Uint8Array(readFileSync(join(DIR, f)))]));
    const ckpt = await openDcpSafetensors(memory(files, true), FILES);
    for (const e of walkTensors(ckpt.root)) await tensorBytesAsync(e.tensor);
    expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected);
  });

  it("without sharding info, offsets are zeros (a plain safetensors file is one full chunk)", () => {
    const w = tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
    const header = readSafetensorsHeaderSync(bytesSource(toSafetensors(stateDict({ w }))));
    const meta = readDcpSafetensorsMetadata([{ file: "a.safetensors", header }]);
    expect(meta.entries).toEqual([expect.objectContaining({ fqn: "w", shape: [2, 2], chunks: [expect.objectContaining({ offsets: [0, 0], sizes: [2, 2], raw: true })] })]);
  });

  it("column chunks assemble into the full tensor", async () => {
    const left = tensor(new Float32Array([1, 2, 5, 6]), { shape: [2, 2] });
    const right = tensor(new Float32Array([3, 4, 7, 8]), { shape: [2, 2] });
    const rank = (t: typeof left, off: number[]) => toSafetensors(stateDict({ w: t }), { metadata: { [DCP_SHARDING_INFO]: JSON.stringify({ w: { saved_offsets: off } }) } });
    const ckpt = await openDcpSafetensors(memory({ "a.safetensors": rank(left, [0, 0]), "b.safetensors": rank(right, [0, 2]) }, false), ["a.safetensors", "b.safetensors"]);
    const [w] = walkTensors(ckpt.root);
    expect(w!.tensor.shape).toEqual([2, 4]);
    expect([...new Float32Array(tensorBytes(w!.tensor).slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("refuses sharding info that is not JSON, lacks a key, or chunks that disagree in dtype", async () => {
    const w = tensor(new Float32Array([1, 2]));
    const h = (metadata: Record<string, string>, t = w) => readSafetensorsHeaderSync(bytesSource(toSafetensors(stateDict({ w: t }), { metadata })));
    expect(thrown(() => readDcpSafetensorsMetadata([{ file: "a", header: h({ [DCP_SHARDING_INFO]: "{" }) }]))).toMatchObject({ code: "invalid-data", path: ["__metadata__", DCP_SHARDING_INFO] });
    expect(thrown(() => readDcpSafetensorsMetadata([{ file: "a", header: h({ [DCP_SHARDING_INFO]: "{}" }) }]))).toMatchObject({ code: "invalid-data", path: ["__metadata__", DCP_SHARDING_INFO, "w"] });
    const ints = tensor(new Int32Array([1, 2]));
    expect(thrown(() => readDcpSafetensorsMetadata([{ file: "a", header: h({}) }, { file: "b", header: h({}, ints) }]))).toMatchObject({ code: "invalid-data", path: ["w"] });
  });

  it("chunks that overlap are refused when the checkpoint is opened", async () => {
    const t = tensor(new Float32Array([1, 2]));
    const rank = (off: number) => toSafetensors(stateDict({ w: t }), { metadata: { [DCP_SHARDING_INFO]: JSON.stringify({ w: { saved_offsets: [off] } }) } });
    await expect(openDcpSafetensors(memory({ a: rank(0), b: rank(1) }, false), ["a", "b"])).rejects.toMatchObject({ code: "invalid-data" });
  });
});
