import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDcp, openDcpSync, readDcpMetadata, type DirectoryFiles } from "../../../src/distributed/index.js";
import { directoryFiles, type DirectoryFilesHandle } from "../../../src/node/directory-files.js";
import { bytesSource, callbackSource, type ByteSource } from "../../../src/bytes/source.js";
import { floatRepr } from "../../../src/pickle/py-float.js";
import { isTensor, tensorBytesAsync, walkTensors, type TorchValue } from "../../../src/torch/index.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { REPO } from "../../helpers/corpus.js";
import { tensorLines } from "../../helpers/tensor-lines.js";
import { thrown } from "../../helpers/errors.js";

const DCP = join(REPO, "fixtures/dcp");
const NAMES = ["single", "sharded", "fsdp2"];
const expected = (name: string): string[] => readFileSync(join(DCP, `${name}.tensors.jsonl`), "utf8").trim().split("\n");
let handle: DirectoryFilesHandle | undefined;
afterEach(() => handle?.close());

/** The directory's files in memory, read asynchronously, counting bytes per file. */
function memoryFiles(name: string, edit: (file: string, b: Uint8Array) => Uint8Array = (_f, b) => b): DirectoryFiles & { bytes: Map<string, number> } {
  const dir = join(DCP, name);
  const files = new Map(readdirSync(dir).map((f) => [f, edit(f, new Uint8Array(readFileSync(join(dir, f))))]));
  const bytes = new Map<string, number>();
  return {
    name,
    bytes,
    open(file: string): ByteSource {
      const b = files.get(file);
      if (b === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
      return callbackSource(b.length, (o, n) => {
        bytes.set(file, (bytes.get(file) ?? 0) + n);
        return b.slice(o, o + n);
      }, `${name}/${file}`);
    },
  };
}

/** Non-tensor leaves as gen_dcp.py's `values` lists them. */
function leaves(v: TorchValue, path: (string | number)[], out: unknown[]): unknown[] {
  if (isTensor(v)) return out;
  const k = (v as { kind?: string } | null)?.kind;
  if (k === "dict") for (const [key, x] of (v as { entries: [TorchValue, TorchValue][] }).entries) leaves(x, [...path, key as string], out);
  else if (k === "list" || k === "tuple") (v as { items: TorchValue[] }).items.forEach((x, i) => leaves(x, [...path, i], out));
  else if (k === "float") out.push({ path, value: { float: floatRepr((v as { value: number }).value) } });
  else if (v === null || typeof v !== "object") out.push({ path, value: v });
  else out.push({ path, type: k });
  return out;
}

describe("DCP fixtures written by torch 2.6", () => {
  for (const name of NAMES) {
    it(`${name}: tensors equal dcp_to_torch_save's (lines from torch_tensor_lines.py)`, () => {
      handle = directoryFiles(join(DCP, name));
      const ckpt = openDcpSync(handle);
      expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected(name));
    });
    it(`${name}: the other values sit at dcp_to_torch_save's key paths`, () => {
      handle = directoryFiles(join(DCP, name));
      const want = JSON.parse(readFileSync(join(DCP, `${name}.values.json`), "utf8"));
      expect(leaves(openDcpSync(handle).root, [], [])).toEqual(want);
    });
    it(`${name}: async files give the same tensors`, async () => {
      const ckpt = await openDcp(memoryFiles(name));
      const lines: string[] = [];
      for (const e of walkTensors(ckpt.root)) await tensorBytesAsync(e.tensor);
      lines.push(...tensorLines({ root: ckpt.root } as never));
      expect(lines).toEqual(expected(name));
    });
  }

  it("the sharded fixture really splits its tensors across the four rank files", () => {
    const meta = readDcpMetadata(new Uint8Array(readFileSync(join(DCP, "sharded/.metadata"))));
    const row = meta.entries.find((e) => e.fqn === "row")!;
    expect(row.kind === "tensor" && row.chunks.map((c) => c.file)).toEqual(["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", "__3_0.distcp"]);
    const grid = meta.entries.find((e) => e.fqn === "grid")!;
    expect(grid.kind === "tensor" && grid.chunks.map((c) => c.offsets)).toEqual([[0, 0], [0, 4], [4, 0], [4, 4]]);
    expect(meta.paths.get("nested.list.0")).toEqual(["nested", "list", 0]);
  });

  it("opening reads .metadata and the small items only; one tensor reads only its chunks", async () => {
    const files = memoryFiles("sharded");
    const ckpt = await openDcp(files);
    const opened = new Map(files.bytes);
    const meta = readDcpMetadata(new Uint8Array(readFileSync(join(DCP, "sharded/.metadata"))));
    const itemFiles = meta.entries.flatMap((e) => (e.kind === "bytes" ? [e.file] : []));
    expect([...opened.keys()].sort()).toEqual([...new Set([".metadata", ...itemFiles])].sort());
    for (const f of itemFiles) expect(opened.get(f)).toBeLessThan(4096);
    const col = walkTensors(ckpt.root).find((e) => e.path[0] === "col")!;
    await tensorBytesAsync(col.tensor);
    const chunks = (meta.entries.find((e) => e.fqn === "col") as unknown as { chunks: { file: string; length: number }[] }).chunks;
    let total = 0;
    for (const c of chunks) {
      const read = (files.bytes.get(c.file) ?? 0) - (opened.get(c.file) ?? 0);
      expect(read).toBeGreaterThan(0);
      total += read;
    }
    // Only col's four chunks were read (each a small zip: directory, pickle, record), nothing else.
    expect(total).toBeLessThan(chunks.reduce((n, c) => n + c.length, 0) * 3);
    const all = [...files.bytes.values()].reduce((a, b) => a + b, 0) - [...opened.values()].reduce((a, b) => a + b, 0);
    expect(all).toBe(total);
  });

  it("a single-chunk tensor is read in place, not assembled", () => {
    handle = directoryFiles(join(DCP, "single"));
    const ckpt = openDcpSync(handle);
    const w = walkTensors(ckpt.root).find((e) => e.path.join(".") === "model.0.weight")!;
    const src = w.tensor.storage!.from!.source;
    expect(src.readSync!(0, 8)).toEqual(src.readSync!(0, 8));
    expect(w.tensor.shape).toEqual([3, 4]);
  });
});

describe("DCP errors", () => {
  it("a missing file holding an item fails the open, naming it", async () => {
    const files = memoryFiles("sharded");
    const open = files.open.bind(files);
    const meta = readDcpMetadata(new Uint8Array(readFileSync(join(DCP, "sharded/.metadata"))));
    const item = meta.entries.find((e) => e.kind === "bytes") as { file: string };
    const e = await openDcp({ ...files, open: (f) => (f === item.file ? Promise.reject(new Error("gone")) : open(f)) }).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ code: "missing-record" });
    expect(String((e as Error).message)).toContain(item.file);
  });

  it("a missing rank file is an error naming it, raised when the tensor is read", async () => {
    const files = memoryFiles("sharded");
    const open = files.open.bind(files);
    const meta = readDcpMetadata(new Uint8Array(readFileSync(join(DCP, "sharded/.metadata"))));
    const items = new Set(meta.entries.flatMap((e) => (e.kind === "bytes" ? [e.file] : [])));
    const missing = ["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", "__3_0.distcp"].find((f) => !items.has(f))!;
    const ckpt = await openDcp({ ...files, open: (f) => (f === missing ? Promise.reject(new Error(`ENOENT ${f}`)) : open(f)) });
    const row = walkTensors(ckpt.root).find((e) => e.path[0] === "row")!;
    const e = await tensorBytesAsync(row.tensor).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ code: "missing-record" });
    expect(String((e as Error).message)).toContain(missing);
    expect(String((e as Error).message)).toContain('["row"]');
  });

  it("every prefix of .metadata fails with a torchsave error", () => {
    const meta = new Uint8Array(readFileSync(join(DCP, "sharded/.metadata")));
    for (let n = 0; n < meta.length; n += 97) {
      const e = thrown(() => readDcpMetadata(meta.subarray(0, n)));
      expect(isTorchsaveError(e), String(e)).toBe(true);
    }
  });

  it("a .metadata that is another pickle is invalid-data", () => {
    const other = new Uint8Array([0x80, 4, 0x4b, 7, 0x2e]); // pickle of 7
    expect(thrown(() => readDcpMetadata(other))).toMatchObject({ code: "invalid-data" });
  });

  it("a chunk file name with a path separator is refused", () => {
    const meta = replaceAscii(new Uint8Array(readFileSync(join(DCP, "single/.metadata"))), "__0_0.distcp", "a/0_0.distcp");
    const e = thrown(() => readDcpMetadata(meta));
    expect(e).toMatchObject({ code: "invalid-data" });
  });

  it("a chunk whose archive holds another shape is invalid-data at its key", async () => {
    // Swap the storage info of two chunks of "row" by renaming rank files: each chunk is 2x6, so use "uneven" (3x3 vs 1x3).
    const files = memoryFiles("sharded");
    const open = files.open.bind(files);
    const ckpt = await openDcp({ ...files, open: (f) => (f === "__3_0.distcp" ? open("__2_0.distcp") : open(f)) });
    const uneven = walkTensors(ckpt.root).find((e) => e.path[0] === "uneven")!;
    const e = await tensorBytesAsync(uneven.tensor).then(() => undefined, (x: unknown) => x);
    expect(isTorchsaveError(e), String(e)).toBe(true);
  });
});

function replaceAscii(b: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error("same length only");
  const text = Buffer.from(b).toString("latin1").split(from).join(to);
  return new Uint8Array(Buffer.from(text, "latin1"));
}
void bytesSource;
