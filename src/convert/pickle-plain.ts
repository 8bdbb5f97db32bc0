/**
 * A checkpoint as a plain `pickle.dump` would write it, without torch's own container: each tensor
 * is its rebuild call (`torch._utils._rebuild_tensor_v2(storage, ...)`), and each storage
 * `torch.storage._load_from_bytes(b)` where `b` is a whole legacy torch file holding just that
 * storage — exactly what Python pickles for a tensor (`TypedStorage.__reduce__`). A storage shared
 * by several tensors is pickled once (Python writes it once per tensor, losing the sharing; its
 * reader, and torchsave's, give the tensors one storage back). Reading such files is the torch
 * reader's job (`readCheckpoint` detects them).
 *
 * Memory: a storage's legacy file is made when the encoder writes it and dropped once written
 * ({@link pickleChunks} hands it on as it is), so any size streams with memory bounded by the
 * largest storage.
 */
import { concatBytes } from "../bytes/concat.js";
import { encodePickle, encodePickleChunks, type EncodeOptions } from "../pickle/encoder.js";
import type { PyBytes, PyObject, PyValue } from "../pickle/value.js";
import { pyGlobal, pyTuple } from "../pickle/value.js";
import type { Storage, TorchHost } from "../torch/index.js";
import { isStorage } from "../torch/index.js";
import { encodeDataPickle } from "../torch/write/write-data-pickle.js";
import { legacyChunks } from "../torch/write/write-legacy.js";
import { resolveWriteOptions } from "../torch/write/write-options.js";
import { torchPickleHooks } from "../torch/write/write-pickle-tensor.js";
import { rootOf, type ConvertInput } from "./input.js";

/** Python's `pickle.DEFAULT_PROTOCOL` (3.8+). */
export const DEFAULT_PLAIN_PICKLE_PROTOCOL = 4;

/** Options of {@link toPickle}. */
export interface ToPickleOptions {
  /** Pickle protocol 2-5. Default {@link DEFAULT_PLAIN_PICKLE_PROTOCOL}. */
  readonly protocol?: 2 | 3 | 4 | 5;
}

/**
 * The plain pickle of a checkpoint or value.
 * @throws PickleEncodeError `unencodable` (with the key path) for what a legacy storage file
 *   cannot hold (untyped storages: uint16/32/64, float8, ... — use the zip layout) or the protocol
 *   cannot express; CheckpointError when a storage's bytes cannot be read.
 */
export function toPickle(input: ConvertInput, options: ToPickleOptions = {}): Uint8Array {
  const { root, encode } = plainPickle(input, options);
  return encodePickle<TorchHost>(root, encode);
}

/**
 * {@link toPickle} in pieces of about a MiB, made as they are asked for; storages are read one at
 * a time and dropped once handed out. The same bytes as {@link toPickle}.
 * @throws as {@link toPickle}, while iterating.
 */
export function pickleChunks(input: ConvertInput, options: ToPickleOptions = {}): Generator<Uint8Array> {
  const { root, encode } = plainPickle(input, options);
  return encodePickleChunks<TorchHost>(root, encode);
}

function plainPickle(input: ConvertInput, options: ToPickleOptions): { root: PyValue<TorchHost>; encode: EncodeOptions<TorchHost> } {
  const root = rootOf(input) as PyValue<TorchHost>;
  const hooks = torchPickleHooks(root, { layout: "legacy", weightsOnly: false });
  const storageOptions = resolveWriteOptions({ layout: "legacy", protocol: 2, weightsOnly: false });
  // reduceHost is called once per storage (the encoder caches what it returns).
  const loadFromBytes = (s: Storage): PyObject<TorchHost> => {
    // The storage's own pickle now (its errors carry the key path); its bytes when the encoder writes them.
    const head = encodeDataPickle(s, storageOptions);
    const file: PyBytes = {
      kind: "bytes",
      // Made on each read and never kept: the encoder reads it once, writes it, and lets it go.
      get data() {
        return concatBytes([...legacyChunks(head, storageOptions)]);
      },
    };
    return { kind: "object", via: "reduce", callable: pyGlobal("torch.storage", "_load_from_bytes"), args: pyTuple<TorchHost>([file]) };
  };
  return {
    root,
    encode: {
      protocol: options.protocol ?? DEFAULT_PLAIN_PICKLE_PROTOCOL,
      reduceHost: (host) => (isStorage(host) ? loadFromBytes(host) : hooks.reduceHost(host)),
    },
  };
}
