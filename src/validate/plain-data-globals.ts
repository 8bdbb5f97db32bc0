/**
 * Globals that build plain data but are outside torch's weights_only allow-list: numpy arrays and
 * scalars, namespaces and dict subclasses holding hyper-parameters, Python's own value types.
 * They do not execute code beyond constructing their value, and `sanitize` can rewrite the common
 * ones into allowed types. This is the allow-list's documented plain-data part (`allow-list.ts`);
 * of the builtins only value constructors are on it ({@link VALUE_BUILTINS}).
 */

export interface PlainDataGlobal {
  /** "module.name" (Python 3 spelling). */
  readonly key: string;
  readonly what: string;
  /** True when `sanitize` rewrites values built by it into weights_only types. */
  readonly sanitizable: boolean;
}

const p = (key: string, what: string, sanitizable = false): PlainDataGlobal => ({ key, what, sanitizable });

const NUMPY_MODULES = ["numpy.core.multiarray", "numpy._core.multiarray"];

/** fickling's SAFE_BUILTINS: type constructors and pure functions. */
export const SAFE_BUILTINS: readonly string[] = [
  "bool", "int", "float", "complex", "str", "bytes", "bytearray", "list", "tuple", "set", "frozenset", "dict", "len", "abs",
  "sum", "min", "max", "round", "pow", "divmod", "sorted", "reversed", "enumerate", "zip", "range", "map", "filter", "slice",
  "iter", "next", "all", "any", "hash", "id", "repr", "ascii", "bin", "hex", "oct", "ord", "chr", "isinstance", "issubclass",
  "object", "callable", "format",
];

/**
 * The builtins on the allow-list: value constructors only. fickling's other safe builtins (map,
 * filter, iter, next, sorted, getattr-free as they are) call what they are given or compute
 * values at load time, which is not plain data; they are "not on the allow-list".
 */
export const VALUE_BUILTINS: readonly string[] = [
  "bool", "int", "float", "complex", "str", "bytes", "bytearray", "list", "tuple", "set", "frozenset", "dict", "slice",
  "range", "object",
];

/** The plain-data table. */
export const PLAIN_DATA_GLOBALS: readonly PlainDataGlobal[] = [
  ...NUMPY_MODULES.flatMap((m) => [
    p(`${m}._reconstruct`, "a numpy array", true),
    p(`${m}.scalar`, "a numpy scalar", true),
  ]),
  p("numpy.ndarray", "the numpy array class", true),
  p("numpy.dtype", "a numpy dtype", true),
  p("numpy.matrixlib.defmatrix.matrix", "a numpy matrix (an ndarray subclass)"),
  p("numpy.core.numeric._frombuffer", "a numpy array from bytes"),
  p("numpy._core.numeric._frombuffer", "a numpy array from bytes"),
  p("numpy.random._pickle.__randomstate_ctor", "numpy's RandomState (an RNG state)"),
  p("numpy.random._pickle.__generator_ctor", "numpy's Generator (an RNG state)"),
  p("numpy.random._pickle.__bit_generator_ctor", "numpy's bit generator (an RNG state)"),
  p("numpy.random.mtrand.RandomState", "numpy's RandomState (an RNG state)"),
  p("argparse.Namespace", "command-line arguments", true),
  p("types.SimpleNamespace", "a namespace of values", true),
  p("easydict.EasyDict", "a dict with attribute access", true),
  p("pytorch_lightning.utilities.parsing.AttributeDict", "Lightning hyper-parameters (a dict)", true),
  p("lightning_fabric.utilities.data.AttributeDict", "Lightning hyper-parameters (a dict)", true),
  p("lightning.fabric.utilities.data.AttributeDict", "Lightning hyper-parameters (a dict)", true),
  p("collections.defaultdict", "a dict with a default factory", true),
  p("collections.deque", "a deque"),
  p("copyreg._reconstructor", "pickle's protocol 0/1 object constructor (the class it builds is classified on its own)"),
  p("copyreg.__newobj__", "pickle's protocol 2 object constructor"),
  p("datetime.datetime", "a timestamp"),
  p("datetime.date", "a date"),
  p("datetime.time", "a time of day"),
  p("datetime.timedelta", "a duration"),
  p("datetime.timezone", "a time zone"),
  p("decimal.Decimal", "a decimal number"),
  p("fractions.Fraction", "a fraction"),
  p("pathlib.PosixPath", "a file path (as text)", true),
  p("pathlib.WindowsPath", "a file path (as text)", true),
  p("pathlib.PurePosixPath", "a file path (as text)", true),
  p("pathlib.PureWindowsPath", "a file path (as text)", true),
  p("pathlib.Path", "a file path (as text)", true),
  // Python 3.13 pickles paths from pathlib's private module.
  ...["PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path"].map((n) => p(`pathlib._local.${n}`, "a file path (as text)", true)),
  // torch.distributed.checkpoint's .metadata: dataclasses of chunk offsets, sizes and file names.
  ...["Metadata", "TensorStorageMetadata", "TensorProperties", "ChunkStorageMetadata", "BytesStorageMetadata", "MetadataIndex", "StorageMeta", "_MEM_FORMAT_ENCODING"]
    .map((n) => p(`torch.distributed.checkpoint.metadata.${n}`, "DCP metadata (chunk offsets, sizes, file names)")),
  p("torch.distributed.checkpoint.filesystem._StorageInfo", "DCP metadata (where a chunk sits in its file)"),
  p("torch.torch_version.TorchVersion", "a torch version string", true),
  p("torch._utils._rebuild_sparse_csr_tensor", "a sparse CSR tensor (torch's older rebuild)"),
  p("torch._utils._rebuild_xla_tensor", "an XLA tensor saved through the CPU"),
  p("torch._utils._rebuild_nested_tensor", "a nested tensor"),
  p("torch._tensor._rebuild_from_type", "a tensor subclass (older rebuild)"),
  p("torch.jit._pickle.build_intlist", "TorchScript constant list"),
  p("torch.jit._pickle.build_tensorlist", "TorchScript constant list"),
  p("torch.jit._pickle.build_doublelist", "TorchScript constant list"),
  p("torch.jit._pickle.build_boollist", "TorchScript constant list"),
  p("torch.jit._pickle.build_tensor_from_id", "TorchScript tensor reference"),
  p("torch.jit._pickle.restore_type_tag", "TorchScript container type tag"),
  ...VALUE_BUILTINS.map((b) => p(`builtins.${b}`, `Python's ${b}`, b === "frozenset")),
];

/** Plain-data globals by "module.name". */
export const PLAIN_DATA_BY_KEY: ReadonlyMap<string, PlainDataGlobal> = new Map(PLAIN_DATA_GLOBALS.map((g) => [g.key, g]));
