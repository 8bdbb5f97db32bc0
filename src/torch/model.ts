/**
 * The PyTorch object model the reader builds and the writer consumes: storages, tensors and numpy
 * arrays as plain data inside the pickle value model (`PyValue<TorchHost>`).
 *
 * Bytes are never copied when reading: a storage's bytes are a view into the input, or are read
 * from a random-access source on demand (see `storage-bytes.ts`).
 */
import type { ByteSource } from "../bytes/source.js";
import type { PyGlobal, PyObject, PyValue } from "../pickle/value.js";
import type { DTypeName } from "./dtypes.js";

/** Where a storage's bytes live. Offsets are absolute in `source`. */
export interface StorageLocation {
  readonly source: ByteSource;
  /** Start of the (possibly compressed) record in the source. */
  readonly offset: number;
  /** Bytes in the source (compressed size when `compression` is "deflate"). */
  readonly length: number;
  readonly compression: "none" | "deflate";
  /** Zip entry or legacy record name, for error messages and validation. */
  readonly record: string;
}

export interface Storage {
  readonly kind: "storage";
  /** The key the file names it by: zip `data/<key>`, legacy root key. */
  readonly key: string;
  /** The storage class as pickled: `torch.FloatStorage`, `torch.cuda.HalfStorage`, `torch.UntypedStorage`. */
  readonly storageType: PyGlobal;
  /** Element dtype: from the typed storage class, or from the tensor for `UntypedStorage` (uint8 until known). */
  dtype: DTypeName;
  /** Device string saved with the storage: "cpu", "cuda:0", "mps", "meta". */
  location: string;
  /** The numel the persistent id declared (elements for typed storages, bytes for UntypedStorage). */
  readonly declaredNumel: number;
  /** Size in bytes as the file stores it. */
  readonly byteLength: number;
  /** Byte order of the stored elements ("big" only for zip files with a `byteorder` record of big). */
  readonly byteOrder: "little" | "big";
  /** Where to read the bytes; absent for storages built in memory. */
  from?: StorageLocation;
  /** Legacy files: this storage is a slice of another (`view_metadata`), starting `offset` elements in. */
  view?: { readonly root: Storage; readonly offset: number };
  /** The bytes, in the file's byte order, once known (in-memory input: a zero-copy view). */
  data?: Uint8Array;
}

export type TensorLayout = "strided" | "sparse_coo" | "sparse_csr" | "sparse_csc" | "sparse_bsr" | "sparse_bsc";

export type Quantization =
  | { readonly scheme: "per_tensor_affine" | "per_tensor_symmetric"; readonly scale: number; readonly zeroPoint: number }
  | {
      readonly scheme: "per_channel_affine" | "per_channel_symmetric" | "per_channel_affine_float_qparams";
      readonly scales: Tensor;
      readonly zeroPoints: Tensor;
      readonly axis: number;
    };

/** Sparse layouts keep their component tensors (COO: indices + values; compressed: compressed/plain indices + values). */
export interface SparseParts {
  readonly size: number[];
  readonly indices?: Tensor;
  readonly values: Tensor;
  readonly isCoalesced?: boolean | null;
  readonly compressedIndices?: Tensor;
  readonly plainIndices?: Tensor;
}

export interface Tensor {
  readonly kind: "tensor";
  dtype: DTypeName;
  readonly shape: number[];
  readonly stride: number[];
  /** Offset into the storage, in elements. */
  readonly storageOffset: number;
  /** Absent for storage-less tensors (meta device, sparse/nested wrappers, wrapper subclasses). */
  readonly storage?: Storage;
  /** "cpu", "cuda:0", ... — the storage location, or the explicit device of storage-less tensors. */
  device: string;
  requiresGrad: boolean;
  /** True for `torch.nn.Parameter` (and subclasses rebuilt through `_rebuild_parameter*`). */
  isParameter: boolean;
  readonly layout: TensorLayout;
  readonly quantization?: Quantization;
  readonly sparse?: SparseParts;
  /** A tensor subclass recorded by `_rebuild_from_type_v2` (other than Tensor/Parameter). */
  readonly subclass?: PyGlobal;
  /** Python attributes carried by `_rebuild_from_type_v2`/`_rebuild_parameter_with_state`. */
  readonly state?: PyValue<TorchHost>;
  /**
   * The rebuild call exactly as the file made it (hooks, metadata), kept for faithful write-back.
   * Absent when the file made the standard call torch.save writes for a plain tensor or Parameter
   * (`_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())`, inside
   * `_rebuild_parameter(...)`) and no part of it is referenced elsewhere: the writer makes that
   * identical call from the fields. Tensors built in memory have none either.
   */
  readonly origin?: PyObject<TorchHost>;
}

/** One field of a structured (record) numpy dtype. */
export interface NdField {
  readonly name: string;
  /** The field's numpy type string ("<i4"; "|V8" for a nested record). */
  readonly descr: string;
  /** Where the field starts in each record, in bytes. */
  readonly offset: number;
  /** A sub-array field's shape (`("pos", "<f4", (3,))`); absent for a scalar field. */
  readonly shape?: number[];
  /** A nested record's fields. */
  readonly fields?: readonly NdField[];
  /** The field's title, when it was given one (`(("Title", "name"), "<i4")`). */
  readonly title?: string;
}

/** A numpy array (`numpy.core.multiarray._reconstruct` + state) or scalar (`numpy...scalar`). */
export interface NdArray {
  readonly kind: "ndarray";
  /** numpy type string with byte order, e.g. "<f4", "|b1", ">i8"; "|V12" for 12-byte records. */
  readonly descr: string;
  /** A structured (record) dtype's fields, in numpy's order; `data` holds the packed records. */
  readonly fields?: readonly NdField[];
  /** The torch-compatible element dtype, when there is one. */
  readonly dtype?: DTypeName;
  readonly shape: number[];
  readonly fortranOrder: boolean;
  /** Raw element bytes as pickled (a view). Object arrays keep `items` instead. */
  readonly data?: Uint8Array;
  readonly items?: PyValue<TorchHost>[];
  /** True for a numpy scalar (`np.float32(1.5)`), false for an ndarray. */
  readonly scalar: boolean;
  /** The pickled calls, kept for faithful write-back. */
  readonly origin?: PyObject<TorchHost>;
}

/** Host values the torch layer places inside the pickle value model. */
export type TorchHost = Tensor | Storage | NdArray;

/** A value read from a checkpoint. */
export type TorchValue = PyValue<TorchHost>;

export const isTensor = (v: unknown): v is Tensor => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "tensor";
export const isStorage = (v: unknown): v is Storage => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "storage";
export const isNdArray = (v: unknown): v is NdArray => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "ndarray";
