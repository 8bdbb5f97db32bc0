// writeCheckpointFile is atomic: a process killed part-way through a write leaves the file that was
// at the path before intact (the bytes go to a temp file that is renamed only once complete).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleChildScript } from "../../helpers/child-script.js";
import { callbackSource } from "../../../src/bytes/source.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { archiveNameFor, writeCheckpointFile, writeCheckpointFileSync } from "../../../src/node/write-checkpoint.js";
import { stateDict, tensor } from "../../../src/torch/builder.js";
import type { Storage, Tensor } from "../../../src/torch/model.js";
import { readCheckpoint } from "../../../src/torch/read/read-checkpoint.js";
import { tensorBytes } from "../../../src/torch/tensor-data.js";
import { walkTensors } from "../../../src/torch/walk.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tensor whose `size` bytes come from a callback source (async only), each read taking `delayMs`. */
function slowTensor(size: number, delayMs: number, fail = false): Tensor {
  const base = tensor(new Uint8Array(0));
  let reads = 0;
  const source = callbackSource(size, async (offset, length) => {
    await new Promise((r) => setTimeout(r, delayMs));
    if (fail && ++reads > 2) throw new Error("the disk went away");
    return new Uint8Array(length).fill(offset & 0xff);
  });
  const storage: Storage = {
    kind: "storage", key: "", storageType: base.storage!.storageType, dtype: "uint8", location: "cpu",
    declaredNumel: size, byteLength: size, byteOrder: "little", from: { source, offset: 0, length: size, compression: "none", record: "slow" },
  };
  return { ...base, shape: [size], stride: [1], storage };
}

const tempFiles = (): string[] => readdirSync(dir).filter((n) => n.endsWith(".tmp"));

describe("atomic checkpoint writes", () => {
  it("leaves the earlier file intact when the writing process is killed part-way", async () => {
    const target = join(dir, "model.pt");
    writeCheckpointFileSync(target, stateDict({ w: tensor(new Float32Array([1, 2, 3])) }));
    const before = readFileSync(target);

    // A child process writing a 256 MiB checkpoint slowly (1 MiB chunks, 5 ms each) to the same path.
    const child = join(dir, "child.mjs");
    bundleChildScript(`
          import { callbackSource } from "./src/bytes/source.ts";
          import { writeCheckpointFile } from "./src/node/write-checkpoint.ts";
          import { stateDict, tensor } from "./src/torch/builder.ts";
          const size = 256 * 1024 * 1024;
          const source = callbackSource(size, async (offset, length) => {
            await new Promise((r) => setTimeout(r, 5));
            return new Uint8Array(length).fill(7);
          });
          const base = tensor(new Uint8Array(0));
          const storage = { ...base.storage, declaredNumel: size, byteLength: size, from: { source, offset: 0, length: size, compression: "none", record: "slow" } };
          delete storage.data;
          const big = { ...base, shape: [size], stride: [1], storage };
          await writeCheckpointFile(process.argv[2], stateDict({ big }), { chunkBytes: 1024 * 1024 });
          console.log("finished");
        `, child);
    const proc = spawn(process.execPath, [child, target], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout.on("data", (d: Buffer) => (output += String(d)));
    proc.stderr.on("data", (d: Buffer) => (output += String(d)));
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));

    // Wait until the temp file holds a good part of the new checkpoint, then kill the writer.
    const deadline = Date.now() + 60_000;
    let partial = 0;
    while (Date.now() < deadline && partial < 8 * 1024 * 1024) {
      await new Promise((r) => setTimeout(r, 20));
      const tmp = tempFiles()[0];
      partial = tmp === undefined ? 0 : statSync(join(dir, tmp)).size;
    }
    expect(partial, output).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    proc.kill("SIGKILL");
    await exited;
    expect(output).not.toContain("finished");

    // The path still holds the earlier checkpoint, whole and readable.
    expect(readFileSync(target).equals(before)).toBe(true);
    const ck = readCheckpoint(new Uint8Array(readFileSync(target)));
    expect(tensorBytes(walkTensors(ck.root)[0]!.tensor)).toEqual(new Uint8Array(new Float32Array([1, 2, 3]).buffer));
    // A SIGKILLed writer cannot clean up after itself: its temp file stays until the next write
    // into the folder sees that its process is gone and removes it.
    const left = tempFiles();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.model\.pt\.\d+\.[0-9a-f]{6}\.[0-9a-f]{8}\.torchsave\.tmp$/);
    writeCheckpointFileSync(join(dir, "next.pt"), stateDict({ w: tensor(new Float32Array([4])) }));
    expect(tempFiles()).toEqual([]);
  }, 120_000);

  it("replaces the file only once the new checkpoint is complete", async () => {
    const target = join(dir, "replace.pt");
    writeFileSync(target, "old");
    await writeCheckpointFile(target, stateDict({ big: slowTensor(3 * 1024 * 1024, 1) }), { chunkBytes: 1024 * 1024 });
    const ck = readCheckpoint(new Uint8Array(readFileSync(target)));
    expect(ck.archiveName).toBe("replace");
    const t = walkTensors(ck.root)[0]!.tensor;
    expect(t.shape).toEqual([3 * 1024 * 1024]);
    const bytes = tensorBytes(t);
    expect(bytes[0]).toBe(0);
    expect(bytes[1024 * 1024]).toBe(0);
    expect(tempFiles()).toEqual([]);
  });

  it("keeps the earlier file and removes the temp file when a source fails", async () => {
    const target = join(dir, "failing.pt");
    writeFileSync(target, "old");
    let error: unknown;
    try {
      await writeCheckpointFile(target, stateDict({ big: slowTensor(8 * 1024 * 1024, 1, true) }), { chunkBytes: 1024 * 1024 });
    } catch (e) {
      error = e;
    }
    expect(isTorchsaveError(error), String(error)).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("old");
    expect(tempFiles()).toEqual([]);
  });

  it("throws encoding errors before touching the file system", async () => {
    const target = join(dir, "never.pt");
    const inert = { kind: "object", via: "reduce", callable: { kind: "global", module: "os", name: "system" }, args: { kind: "tuple", items: [] } } as const;
    await expect(writeCheckpointFile(target, inert as never)).rejects.toMatchObject({ code: "unencodable" });
    expect(existsSync(target)).toBe(false);
    expect(tempFiles()).toEqual([]);
  });

  it("names the archive folder after the file, as torch.save does", () => {
    expect(archiveNameFor("/a/b/model.pt")).toBe("model");
    expect(archiveNameFor("weights.tar.pth")).toBe("weights.tar");
    expect(archiveNameFor("ckpt")).toBe("ckpt");
    expect(archiveNameFor("C:\\x\\y.bin")).toBe("y");
    expect(archiveNameFor(".pt")).toBe("archive");
    const target = join(dir, "sync.pth");
    writeCheckpointFileSync(target, stateDict({ w: tensor(new Int32Array([5])) }), { archiveName: "custom" });
    expect(readCheckpoint(new Uint8Array(readFileSync(target))).archiveName).toBe("custom");
  });
});
