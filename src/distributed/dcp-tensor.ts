/**
 * A DCP tensor as a lazy torchsave Tensor: its Storage reads through a virtual source that, on first
 * read, opens the chunks' `torch.save` archives. A tensor stored in one chunk is read straight from
 * the chunk's storage bytes in the `.distcp` file (no copy, no assembly); a split tensor is
 * assembled once into the one resident buffer its checkpoint keeps (the previous tensor's is
 * dropped), so streaming every tensor out holds about one tensor in memory.
 */
import type { ByteSource } from "../bytes/source.js";
import { checkReadRange } from "../bytes/source.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { pyGlobal } from "../pickle/index.js";
import type { ReadOptions, Storage, Tensor } from "../torch/index.js";
import { dtypeByName, isContiguous, isTensor, openCheckpoint, openCheckpointSync, tensorBytes, tensorBytesAsync } from "../torch/index.js";
import { product, scatterChunk } from "./assemble.js";
import type { DcpChunk, DcpEntry } from "./dcp-metadata.js";
import { sliceSource } from "../bytes/slice-source.js";
import { contiguousStrides } from "../torch/index.js";

/** How the tensor reaches the directory's files. */
export interface ChunkFiles {
  /** Name for messages (the directory). */
  readonly name: string;
  fileSync?(file: string): ByteSource;
  file(file: string): Promise<ByteSource>;
  /** The one assembled tensor kept in memory, shared by the checkpoint's tensors. */
  resident: { entry: DcpEntry; bytes: Uint8Array } | undefined;
  readonly options: ReadOptions;
}

type TensorEntry = Extract<DcpEntry, { kind: "tensor" }>;

/** A contiguous tensor over a virtual storage that assembles `entry`'s chunks on demand. */
export function dcpTensor(entry: TensorEntry, index: number, files: ChunkFiles): Tensor {
  const byteLength = product(entry.shape) * dtypeByName(entry.dtype)!.itemSize;
  const source = chunkedSource(entry, byteLength, files);
  return contiguousOver(entry.dtype, entry.shape, source, 0, String(index), entry.fqn);
}

/** A contiguous tensor of `dtype` and `shape` whose bytes are `source` from `offset`. */
function contiguousOver(dtype: TensorEntry["dtype"], shape: readonly number[], source: ByteSource, offset: number, key: string, record: string): Tensor {
  const info = dtypeByName(dtype)!;
  const numel = product(shape);
  const byteLength = numel * info.itemSize;
  const storage: Storage = {
    kind: "storage",
    key,
    storageType: info.storageClass !== undefined ? pyGlobal("torch", info.storageClass) : pyGlobal("torch.storage", "UntypedStorage"),
    dtype,
    location: "cpu",
    declaredNumel: info.storageClass !== undefined ? numel : byteLength,
    byteLength,
    byteOrder: "little",
    from: { source, offset, length: byteLength, compression: "none", record },
  };
  return {
    kind: "tensor",
    dtype,
    shape: [...shape],
    stride: contiguousStrides(shape),
    storageOffset: 0,
    storage,
    device: "cpu",
    requiresGrad: false,
    isParameter: false,
    layout: "strided",
  };
}


/** Where a single chunk's bytes sit in its file, when they can be read in place. */
interface Direct {
  readonly source: ByteSource;
  readonly offset: number;
}

function chunkedSource(entry: TensorEntry, size: number, files: ChunkFiles): ByteSource {
  const itemSize = dtypeByName(entry.dtype)!.itemSize;
  const where = { path: [entry.fqn], file: files.name };
  const single = entry.chunks.length === 1 && product(entry.chunks[0]!.sizes) === product(entry.shape) ? entry.chunks[0]! : undefined;
  let direct: Direct | null | undefined;

  const chunkSource = (c: DcpChunk, parent: ByteSource): ByteSource => sliceSource(parent, c.offset, c.length, `${files.name}/${c.file}`);
  const checked = (c: DcpChunk, root: unknown): Tensor => {
    if (!isTensor(root) || root.layout !== "strided") throw new CheckpointError("invalid-data", `the chunk at [${c.offsets.join(", ")}] is not a saved tensor`, { ...where, offset: c.offset });
    if (root.dtype !== entry.dtype || root.shape.length !== c.sizes.length || root.shape.some((n, d) => n !== c.sizes[d])) {
      throw new CheckpointError(
        "invalid-data",
        `the chunk at [${c.offsets.join(", ")}] holds ${root.dtype} [${root.shape.join(", ")}], the metadata says ${entry.dtype} [${c.sizes.join(", ")}]`,
        { ...where, offset: c.offset },
      );
    }
    return root;
  };
  /** A raw chunk (safetensors-based DCP) as a tensor over its bytes in the file. */
  const rawChunk = (c: DcpChunk, parent: ByteSource): Tensor => {
    if (c.length !== product(c.sizes) * itemSize) {
      throw new CheckpointError("invalid-data", `the chunk at [${c.offsets.join(", ")}] has ${c.length} bytes, ${entry.dtype} [${c.sizes.join(", ")}] needs ${product(c.sizes) * itemSize}`, { ...where, offset: c.offset });
    }
    return contiguousOver(entry.dtype, c.sizes, parent, c.offset, c.file, entry.fqn);
  };
  const chunkSync = (c: DcpChunk, parent: ByteSource): Tensor =>
    c.raw ? rawChunk(c, parent) : checked(c, openCheckpointSync(chunkSource(c, parent), files.options).root);
  const chunkAsync = async (c: DcpChunk, parent: ByteSource): Promise<Tensor> =>
    c.raw ? rawChunk(c, parent) : checked(c, (await openCheckpoint(chunkSource(c, parent), files.options)).root);
  const directOf = (t: Tensor): Direct | null => {
    const s = t.storage;
    if (s?.from === undefined || s.from.compression !== "none" || s.byteOrder !== "little" || s.view !== undefined || !isContiguous(t.shape, t.stride)) return null;
    const offset = s.from.offset + t.storageOffset * itemSize;
    if (offset + size > s.from.offset + s.from.length) return null;
    return { source: s.from.source, offset };
  };
  const wrap = (e: unknown): never => {
    if (isTorchsaveError(e)) throw e.path === undefined || e.path.length === 0 ? e.withLocation({ path: [entry.fqn] }) : e;
    throw new CheckpointError("io", `reading ${entry.fqn}: ${String(e)}`, { ...where, cause: e });
  };

  const readSync = (offset: number, length: number): Uint8Array => {
    checkReadRange(size, offset, length, entry.fqn);
    const fileSync = files.fileSync;
    if (fileSync === undefined) throw new CheckpointError("unsupported", "this checkpoint's files read asynchronously", where);
    try {
      if (single !== undefined) {
        if (direct === undefined) {
          const t = chunkSync(single, fileSync(single.file));
          direct = directOf(t);
          if (direct === null) return tensorBytes(t).slice(offset, offset + length);
        }
        if (direct !== null) return direct.source.readSync!(direct.offset + offset, length);
      }
      if (files.resident?.entry !== entry) {
        // Every chunk's archive is opened and checked (dtype, shape) before the tensor is allocated,
        // so metadata claiming a huge tensor allocates nothing unless the chunks hold it.
        const chunks: (Tensor | undefined)[] = entry.chunks.map((c) => chunkSync(c, fileSync(c.file)));
        const out = new Uint8Array(size);
        entry.chunks.forEach((c, i) => {
          scatterChunk(out, entry.shape, itemSize, c, tensorBytes(chunks[i]!));
          chunks[i] = undefined; // its bytes can go now: one chunk in memory beside the tensor
        });
        files.resident = { entry, bytes: out };
      }
      return files.resident.bytes.subarray(offset, offset + length);
    } catch (e) {
      return wrap(e);
    }
  };

  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    checkReadRange(size, offset, length, entry.fqn);
    try {
      if (single !== undefined) {
        if (direct === undefined) {
          const t = await chunkAsync(single, await files.file(single.file));
          direct = directOf(t);
          if (direct === null) return (await tensorBytesAsync(t)).slice(offset, offset + length);
        }
        if (direct !== null) return await direct.source.read(direct.offset + offset, length);
      }
      if (files.resident?.entry !== entry) {
        const chunks: (Tensor | undefined)[] = [];
        for (const c of entry.chunks) chunks.push(await chunkAsync(c, await files.file(c.file)));
        const out = new Uint8Array(size);
        for (let i = 0; i < chunks.length; i++) {
          scatterChunk(out, entry.shape, itemSize, entry.chunks[i]!, await tensorBytesAsync(chunks[i]!));
          chunks[i] = undefined;
        }
        files.resident = { entry, bytes: out };
      }
      return files.resident.bytes.subarray(offset, offset + length);
    } catch (e) {
      return wrap(e);
    }
  };

  return { size, read, ...(files.fileSync === undefined ? {} : { readSync }), name: `${files.name}:${entry.fqn}` };
}
