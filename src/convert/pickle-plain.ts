/**
 * A checkpoint as a plain `pickle.dump` would write it, without torch's own container: each tensor
 * is its rebuild call (`torch._utils._rebuild_tensor_v2(storage, ...)`), and each storage
 * `torch.storage._load_from_bytes(b)` where `b` is a whole legacy torch file holding just that
 * storage — exactly what Python pickles for a tensor (`TypedStorage.__reduce__`). A storage shared
 * by several tensors is pickled once (Python writes it once per tensor, losing the sharing; its
 * reader, and torchsave's, give the tensors one storage back). Reading such files is the torch
 * reader's job (`readCheckpoint` detects them).
 */
import { encodePickle } from "../pickle/encoder.js";
import type { PyObject, PyValue } from "../pickle/value.js";
import { pyBytes, pyGlobal, pyTuple } from "../pickle/value.js";
import type { Storage, TorchHost } from "../torch/index.js";
import { isStorage } from "../torch/index.js";
import { writeCheckpoint } from "../torch/write/write-checkpoint.js";
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
  const root = rootOf(input) as PyValue<TorchHost>;
  const hooks = torchPickleHooks(root, { layout: "legacy", weightsOnly: false });
  const loads = new Map<Storage, PyObject<TorchHost>>();
  const loadFromBytes = (s: Storage): PyObject<TorchHost> => {
    let call = loads.get(s);
    if (call === undefined) {
      const file = writeCheckpoint(s, { layout: "legacy", protocol: 2, weightsOnly: false });
      call = { kind: "object", via: "reduce", callable: pyGlobal("torch.storage", "_load_from_bytes"), args: pyTuple<TorchHost>([pyBytes(file)]) };
      loads.set(s, call);
    }
    return call;
  };
  return encodePickle<TorchHost>(root, {
    protocol: options.protocol ?? DEFAULT_PLAIN_PICKLE_PROTOCOL,
    reduceHost: (host) => (isStorage(host) ? loadFromBytes(host) : hooks.reduceHost(host)),
  });
}
