/** Decoding a pickle the way torch.load does: the allow-list of rebuilds, numpy, storage persistent ids. */
import { CheckpointError } from "../../errors.js";
import { decodePickleAt } from "../../pickle/decoder.js";
import type { DecodeResult, PersistentLoad } from "../../pickle/decoder.js";
import type { ReadOptions } from "./checkpoint.js";
import type { NdArray, TorchHost, TorchValue } from "../model.js";
import { isNdArray } from "../model.js";
import { JOBLIB_MARKERS, joblibAfterBuild, type JoblibDataObserver } from "./joblib.js";
import { buildNdArray } from "../../numpy/numpy.js";
import { torchFindGlobal, torchReducers } from "../rebuild/rebuild.js";
import type { RebuildHooks } from "../rebuild/rebuild.js";

export interface TorchUnpickleOptions extends RebuildHooks {
  readonly persistentLoad?: PersistentLoad<TorchHost>;
  readonly entry?: string;
  readonly baseOffset?: number;
  /** Told where each joblib array's data lies (the validator skips it when it walks the opcodes). */
  readonly joblibData?: JoblibDataObserver;
}

export function decodeTorchPickle(bytes: Uint8Array, start: number, read: ReadOptions, opts: TorchUnpickleOptions): DecodeResult<TorchHost> {
  const reducers = { ...(read.reducers ?? {}), ...torchReducers(opts) };
  return decodePickleAt<TorchHost>(bytes, start, {
    afterBuild: joblibAfterBuild((input, pos) => decodeTorchPickle(input, pos, read, opts), opts.joblibData),
    afterBuildMarkers: JOBLIB_MARKERS,
    reducers,
    findGlobal: (module, name) => torchFindGlobal(module, name),
    build: (target, state, offset) => {
      if (isNdArray(target) && buildNdArray(target as NdArray, state)) return;
      throw new CheckpointError("type-mismatch", `BUILD on a ${(target as { kind: string }).kind} is not understood`, { offset });
    },
    ...(read.limits === undefined ? {} : { limits: read.limits }),
    ...(opts.persistentLoad === undefined ? {} : { persistentLoad: opts.persistentLoad }),
    ...(opts.entry === undefined ? {} : { entry: opts.entry }),
    ...(opts.baseOffset === undefined ? {} : { baseOffset: opts.baseOffset }),
  });
}

/** The items of a persistent-id tuple, or a typed error. */
export function pidItems(pid: TorchValue, offset: number): TorchValue[] {
  const kind = (pid as { kind?: string } | null)?.kind;
  if (kind !== "tuple" && kind !== "list") {
    throw new CheckpointError("invalid-data", "persistent id is not a tuple", { offset });
  }
  return (pid as { items: TorchValue[] }).items;
}
