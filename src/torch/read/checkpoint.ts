/** What reading a checkpoint gives back, whatever its layout. */
import type { ByteSource } from "../../bytes/source.js";
import type { DecodeLimits, ReducerRegistry } from "../../pickle/decoder.js";
import type { Storage, TorchHost, TorchValue } from "../model.js";
import type { ZipArchive } from "../../containers/zip/zip-reader.js";

/** "npy"/"npz" are numpy's own files, read so arrays saved beside checkpoints convert too. */
export type CheckpointLayout = "zip" | "legacy" | "pickle" | "tar" | "torchscript" | "npy" | "npz";

export interface Checkpoint {
  /** How the file is laid out (detected from content, never from the file name). */
  readonly layout: CheckpointLayout;
  /** "gzip" when the whole file was gzip-compressed around the layout. */
  readonly compression: "none" | "gzip";
  /** The saved object: a state_dict, a training checkpoint, a module... */
  readonly root: TorchValue;
  /** Every storage the file holds, in key order; tensors refer to these objects. */
  readonly storages: readonly Storage[];
  /** Pickle protocol of the main pickle. */
  readonly protocol: number;
  /** Zip layouts: the records torch writes beside the pickle (`version`, `byteorder`, `.format_version`, ...). */
  readonly records: Readonly<Record<string, string>>;
  /** Zip layouts: the archive folder, e.g. "archive". */
  readonly archiveName?: string;
  /** Legacy layouts: the `sys_info` dict (endianness, type sizes). */
  readonly sysInfo?: TorchValue;
  /** TorchScript archives: the `constants.pkl` value. */
  readonly constants?: TorchValue;
  /** The input, for lazy storage reads. */
  readonly source: ByteSource;
  /** Zip layouts: the directory (entries, quirks). */
  readonly zip?: ZipArchive;
}

export interface ReadOptions {
  /** Bounds for the pickle decoder (see DEFAULT_DECODE_LIMITS). */
  readonly limits?: Partial<DecodeLimits>;
  /** Extra reducers for your own classes, keyed "module.name"; they run after the built-in allow-list misses. */
  readonly reducers?: ReducerRegistry<TorchHost>;
  /** Largest size a gzip-compressed input may inflate to. Default 16 GiB. */
  readonly maxInflatedBytes?: number;
  /** Check the CRC-32 and size in a gzip-compressed input's trailer. Default true. */
  readonly verifyGzipCrc?: boolean;
  /** A name for error messages (a file name). */
  readonly name?: string;
}

export const DEFAULT_MAX_INFLATED_BYTES = 16 * 2 ** 30;
