/** `torchsave tensors FILE [--json]`: one line per tensor with its key path, dtype, geometry and sha256. */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Tensor, TensorEntry, TorchValue } from "../../torch/index.js";
import { loadStorage, tensorBytes, walkTensors } from "../../torch/index.js";
import { needsInputHelper, openInput } from "../input.js";
import { readAnySync } from "../../convert/index.js";
import type { ReadAnyOptions } from "../../convert/index.js";
import { nodeCrc32 } from "../../node/write-checkpoint.js";
import { bytesSource } from "../../bytes/source.js";
import { ioError, openFileSource } from "../../node/file-source.js";
import { isGzipFile } from "../../node/gunzip-file.js";
import { formatKeyPath } from "../../errors.js";
import { pyJsonDumps } from "../py-json.js";
import type { Command } from "../command.js";

/**
 * The line `torch_tensor_lines.py` prints for a tensor: same keys, same order, same JSON spacing
 * (`json.dumps` of {path, dtype, shape, stride, offset, sha256}). Only the path and dtype can need
 * escaping; the integers and the hex digest are written as they are (what pyJsonDumps would write).
 */
export function tensorLine(entry: TensorEntry): string {
  const t = entry.tensor;
  return `{"path": ${pyJsonDumps(entry.path as (string | number)[])}, "dtype": ${pyJsonDumps(t.dtype)}, `
    + `"shape": [${ints(t.shape)}], "stride": [${ints(t.stride)}], "offset": ${pyJsonDumps(t.storageOffset)}, "sha256": "${sha256(t)}"}`;
}

/** A list of numbers as pyJsonDumps writes its items. */
function ints(xs: readonly number[]): string {
  let out = "";
  for (let i = 0; i < xs.length; i++) out += (i === 0 ? "" : ", ") + pyJsonDumps(xs[i]!);
  return out;
}

function sha256(t: Tensor): string {
  return createHash("sha256").update(tensorBytes(t)).digest("hex");
}

/**
 * Every tensor's bytes are hashed, so a file up to this size is read in one go (one read instead
 * of one per storage and per local header); larger files are read storage by storage.
 */
const WHOLE_FILE_LIMIT = 1024 * 1024 * 1024;

/** Any format torchsave reads (torch layouts, safetensors, JSON, msgpack, npy, gzip around them). */
function openForHashing(path: string, options: ReadAnyOptions): { root: TorchValue; close(): void } {
  let size: number | undefined;
  try {
    size = statSync(path).size;
  } catch {
    size = undefined; // the open below reports the error as usual
  }
  if (size !== undefined && size <= WHOLE_FILE_LIMIT) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw ioError(e, path);
    }
    return { root: readAnySync(bytesSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path), options).root, close: () => undefined };
  }
  const source = openFileSource(path);
  try {
    return { root: readAnySync(source, options).root, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

/** Lines per write to stdout. */
const LINES_PER_WRITE = 512;

export const tensorsCommand: Command = {
  name: "tensors",
  summary: "list every tensor: key path, dtype, shape, stride, offset, sha256 of its bytes",
  usage: "torchsave tensors FILE [--json] [--ignore-crc]",
  options: {
    json: { type: "boolean", doc: "one JSON object per line, exactly as torch_tensor_lines.py prints them with real torch (key path, dtype, shape, stride, offset, sha256 of the bytes)." },
    "ignore-crc": { type: "boolean", doc: "hash tensors of zip records (or a gzip stream) whose CRC-32 does not match (by default a damaged record is an error naming it)." },
  },
  examples: [
    "torchsave tensors model.pt                             # one line per tensor, for people",
    "torchsave tensors a.pt --json > a.jsonl && torchsave tensors a.json --json | diff a.jsonl -   # same tensors?",
  ],
  async run({ positionals, values, out, err }) {
    const [file] = positionals;
    const read: ReadAnyOptions = { verifyCrc: values["ignore-crc"] === true ? "none" : "all", ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }) };
    // A DCP directory, shard index or URL goes through ../input.ts; its storages are hashed one at a time and
    // let go again, so about one tensor is held at once.
    // gzip too: ../input.ts inflates it as it reads it (a temp file past 64 MiB), never whole in memory.
    const other = needsInputHelper(file!) || isGzipFile(file!) ? await openInput(file!, read) : undefined;
    const { root, close } = other === undefined ? openForHashing(file!, read) : { root: other.input.root, close: () => other.close() };
    // Lines go out in batches (one write per batch, not per tensor); whatever was listed before
    // an error is still written before it.
    const batch: string[] = [];
    const flush = (): void => {
      if (batch.length > 0) out(batch.join("\n"));
      batch.length = 0;
    };
    try {
      // Strided tensors with storage, as torch's reference walk lists them (sparse/nested/meta are skipped).
      const listed = (into: "containers" | "all") => walkTensors(root, { into }).filter((e) => e.tensor.layout === "strided" && e.tensor.storage !== undefined);
      let entries = listed("containers");
      if (entries.length === 0) {
        // A whole pickled object (torch.save(model)): its tensors sit in object state, not in dicts
        // and lists. torch's reference walk skips them; listing nothing would hide them.
        entries = listed("all");
        if (entries.length > 0) err(`torchsave: ${file}: no tensors in dicts or lists; listing the ${entries.length} inside objects (paths with $state, $args...)`);
      }
      for (const entry of entries) {
        const storage = entry.tensor.storage!;
        const held = storage.data !== undefined;
        if (other?.async === true) await loadStorage(storage.view?.root ?? storage);
        if (values.json) batch.push(tensorLine(entry));
        else {
          const t = entry.tensor;
          batch.push(`${formatKeyPath(entry.path) || "(root)"}  ${t.dtype}  [${t.shape.join(", ")}]  stride [${t.stride.join(", ")}]  offset ${t.storageOffset}  sha256 ${sha256(t).slice(0, 16)}`);
        }
        if (batch.length >= LINES_PER_WRITE) flush();
        if (other !== undefined && !held) delete storage.data;
      }
    } finally {
      flush();
      close();
    }
    return 0;
  },
};
