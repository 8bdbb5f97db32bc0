/** The main pickle of a checkpoint (`data.pkl`, or the legacy layout's object pickle) and the storages it names. */
import { encodePickle } from "../../pickle/encoder.js";
import type { PyValue } from "../../pickle/value.js";
import type { TorchHost, TorchValue } from "../model.js";
import type { StorageRecord } from "./write-pickle-tensor.js";
import { torchPickleHooks } from "./write-pickle-tensor.js";
import type { ResolvedWriteOptions } from "./write-options.js";
import { checkWeightsOnly } from "./write-weights-only.js";

/** A checkpoint's main pickle and the storage records it refers to. */
export interface DataPickle {
  readonly bytes: Uint8Array;
  /** Storages in key order ("0", "1", ...: the order the pickle first meets them). */
  readonly records: readonly StorageRecord[];
}

/**
 * Pickles `root` as torch.save does, checking torch's weights-only rules first when asked.
 * @throws PickleEncodeError `unencodable` (with the key path) for values the protocol or the
 *   weights-only rules cannot express; CheckpointError for storages without bytes.
 */
export function encodeDataPickle(root: TorchValue, options: ResolvedWriteOptions): DataPickle {
  const hooks = torchPickleHooks(root, { layout: options.layout, weightsOnly: options.weightsOnly });
  if (options.weightsOnly) checkWeightsOnly(root, hooks.reduceHost as (host: TorchHost) => TorchValue, hooks.isDirect);
  const bytes = encodePickle<TorchHost>(root as PyValue<TorchHost>, {
    protocol: options.protocol,
    weightsOnly: options.weightsOnly,
    reduceHost: hooks.reduceHost,
    persistentId: hooks.persistentId,
    writeHost: hooks.writeHost,
    maxDepth: options.maxDepth,
  });
  return { bytes, records: hooks.records };
}
