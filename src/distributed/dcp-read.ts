/**
 * Reading a DCP directory as one checkpoint, the way torch's `dcp_to_torch_save` sees it: every
 * `state_dict_metadata` key in order, tensors as full (consolidated) tensors, other values loaded
 * from their `torch.save` bytes, placed at their `planner_data` key paths (`set_element`: a string
 * key makes a dict, an int key a list padded with None). Opening reads `.metadata` and the small
 * non-tensor items only; each tensor's chunks are read when its bytes are asked for.
 */
import type { ByteSource } from "../bytes/source.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import type { PyDict, PyList } from "../pickle/index.js";
import type { ReadOptions, Storage, TorchValue } from "../torch/index.js";
import { openCheckpoint, openCheckpointSync } from "../torch/index.js";
import { checkTiling } from "./assemble.js";
import { readDcpMetadata, type DcpEntry, type DcpMetadata } from "./dcp-metadata.js";
import { dcpTensor, type ChunkFiles } from "./dcp-tensor.js";
import { sliceSource } from "../bytes/slice-source.js";

/** The files of a checkpoint directory (a folder, a URL prefix, an in-memory map). */
export interface DirectoryFiles {
  /** For messages: the directory's path or URL. */
  readonly name: string;
  /** One file of the directory as a source (called once per file). For {@link openDcpSync} it must return a source with `readSync`. */
  open(file: string): ByteSource | Promise<ByteSource>;
}

/** A DCP directory read as one checkpoint. */
export interface DcpCheckpoint {
  readonly format: "dcp";
  readonly name: string;
  /** The rebuilt nested state dict. */
  readonly root: TorchValue;
  /** One storage per tensor, each read (and assembled) on demand. */
  readonly storages: readonly Storage[];
  readonly metadata: DcpMetadata;
}

/** The longest list `planner_data` may ask for (a list index past it is refused). */
export const MAX_DCP_LIST_INDEX = 1_000_000;

/**
 * Opens a DCP directory from any files (async sources: Blobs, URLs).
 * @throws CheckpointError `missing-record` when `.metadata` or a file it names is missing (as the
 *   opener reports it), `invalid-data` for malformed metadata, chunks that do not tile their
 *   tensor, or conflicting key paths; the readers' errors for damaged items.
 */
export async function openDcp(dir: DirectoryFiles, options: ReadOptions = {}): Promise<DcpCheckpoint> {
  const opened = new Map<string, Promise<ByteSource>>();
  const file = (name: string): Promise<ByteSource> => {
    let p = opened.get(name);
    if (p === undefined) {
      p = (async () => dir.open(name))().catch((e: unknown) => {
        throw openError(e, dir.name, name);
      });
      opened.set(name, p);
    }
    return p;
  };
  const metaSource = await file(".metadata");
  const metadata = readDcpMetadata(await metaSource.read(0, metaSource.size), `${dir.name}/.metadata`);
  const files: ChunkFiles = { name: dir.name, file, resident: undefined, options };
  return build(dir.name, metadata, files, async (e) => {
    const src = sliceSource(await file(e.file), e.offset, e.length, `${dir.name}/${e.file}`);
    return (await openCheckpoint(src, options)).root;
  });
}

/**
 * Opens a DCP directory whose files read synchronously (local files through `torchsave/node`).
 * @throws as {@link openDcp}; `invalid-argument` when the opener's sources cannot read synchronously.
 */
export function openDcpSync(dir: DirectoryFiles, options: ReadOptions = {}): DcpCheckpoint {
  const opened = new Map<string, ByteSource>();
  const fileSync = (name: string): ByteSource => {
    let s = opened.get(name);
    if (s === undefined) {
      let got: ByteSource | Promise<ByteSource>;
      try {
        got = dir.open(name);
      } catch (e) {
        throw openError(e, dir.name, name);
      }
      if (got instanceof Promise || (got.bytes === undefined && got.readSync === undefined)) {
        throw new CheckpointError("invalid-argument", "openDcpSync needs files that read synchronously; use openDcp", { file: dir.name });
      }
      s = got;
      opened.set(name, s);
    }
    return s;
  };
  const meta = fileSync(".metadata");
  const metadata = readDcpMetadata(meta.bytes ?? meta.readSync!(0, meta.size), `${dir.name}/.metadata`);
  const files: ChunkFiles = { name: dir.name, fileSync, file: async (n) => fileSync(n), resident: undefined, options };
  return buildSync(dir.name, metadata, files, (e) => openCheckpointSync(sliceSource(fileSync(e.file), e.offset, e.length, `${dir.name}/${e.file}`), options).root);
}

/** A file the metadata names could not be opened: the opener's torchsave error, or `missing-record`. */
function openError(e: unknown, dir: string, file: string): unknown {
  if (isTorchsaveError(e)) return e.file === undefined ? e.withLocation({ file: `${dir}/${file}` }) : e;
  return new CheckpointError("missing-record", `cannot open ${file} of the checkpoint: ${String((e as Error)?.message ?? e)}`, { file: `${dir}/${file}`, cause: e });
}

type BytesEntry = Extract<DcpEntry, { kind: "bytes" }>;

async function build(
  name: string,
  metadata: DcpMetadata,
  files: ChunkFiles,
  load: (e: BytesEntry) => Promise<TorchValue>,
): Promise<DcpCheckpoint> {
  const values: TorchValue[] = [];
  for (const e of metadata.entries) values.push(e.kind === "bytes" ? await located(e, name, () => load(e)) : null);
  return assembleDcp(name, metadata, files, values);
}

function buildSync(name: string, metadata: DcpMetadata, files: ChunkFiles, load: (e: BytesEntry) => TorchValue): DcpCheckpoint {
  const values = metadata.entries.map((e) => (e.kind === "bytes" ? locatedSync(e, name, () => load(e)) : null));
  return assembleDcp(name, metadata, files, values);
}

async function located<T>(e: BytesEntry, name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw relocate(err, e, name);
  }
}

function locatedSync<T>(e: BytesEntry, name: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw relocate(err, e, name);
  }
}

function relocate(err: unknown, e: BytesEntry, name: string): unknown {
  if (!isTorchsaveError(err)) return err;
  return err.withLocation({ path: [e.fqn], file: `${name}/${e.file}` });
}

/** Tensors for the tensor entries, then every value placed at its key path (`loaded`: the bytes entries' values, by entry index). */
export function assembleDcp(name: string, metadata: DcpMetadata, files: ChunkFiles, loaded: TorchValue[]): DcpCheckpoint {
  const root: PyDict<never> & { entries: [TorchValue, TorchValue][] } = { kind: "dict", entries: [] } as never;
  const storages: Storage[] = [];
  const placer = new Placer(name);
  metadata.entries.forEach((e, i) => {
    let value: TorchValue;
    if (e.kind === "tensor") {
      checkTiling(e.shape, e.chunks, [e.fqn], name);
      const t = dcpTensor(e, storages.length, files);
      storages.push(t.storage!);
      value = t;
    } else value = loaded[i]!;
    placer.set(root, metadata.paths.get(e.fqn) ?? [e.fqn], value);
  });
  return { format: "dcp", name, root: root as TorchValue, storages, metadata };
}

/** torch's `set_element` over our dicts and lists, with a key index per dict. */
class Placer {
  private readonly index = new Map<object, Map<string, number>>();
  constructor(private readonly name: string) {}

  set(root: { entries: [TorchValue, TorchValue][] }, path: KeyPath, value: TorchValue): void {
    let container: TorchValue = root as TorchValue;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const last = i === path.length - 1;
      const fresh = (): TorchValue => (last ? value : typeof path[i + 1] === "string" ? ({ kind: "dict", entries: [] } as never) : ({ kind: "list", items: [] } as never));
      container = this.step(container, key, fresh, last, path);
    }
  }

  private step(container: TorchValue, key: string | number, fresh: () => TorchValue, last: boolean, path: KeyPath): TorchValue {
    const fail = (reason: string): never => {
      throw new CheckpointError("invalid-data", `planner_data: ${reason}`, { path, file: this.name });
    };
    const kind = (container as { kind?: unknown }).kind;
    if (typeof key === "string") {
      if (kind !== "dict") return fail(`key ${JSON.stringify(key)} goes into a value that is not a dict`);
      const dict = container as unknown as { entries: [TorchValue, TorchValue][] };
      let keys = this.index.get(dict);
      if (keys === undefined) {
        keys = new Map();
        this.index.set(dict, keys);
      }
      const at = keys.get(key);
      if (at === undefined) {
        const v = fresh();
        keys.set(key, dict.entries.length);
        dict.entries.push([key, v]);
        return v;
      }
      if (last) {
        dict.entries[at]![1] = fresh();
        return dict.entries[at]![1];
      }
      return dict.entries[at]![1];
    }
    if (kind !== "list") return fail(`index ${key} goes into a value that is not a list`);
    if (key > MAX_DCP_LIST_INDEX) {
      throw new CheckpointError("limit-exceeded", `planner_data: list index ${key} is over ${MAX_DCP_LIST_INDEX}`, { path, file: this.name });
    }
    const items = (container as unknown as PyList<never>).items as TorchValue[];
    while (items.length <= key) items.push(null);
    if (last || items[key] === null) items[key] = fresh();
    return items[key]!;
  }
}
