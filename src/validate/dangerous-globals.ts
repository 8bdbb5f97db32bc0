/**
 * THE dangerous-globals table: imports a pickle can use to execute code, run commands, touch files
 * or the network, or import arbitrary modules. Built from what three scanners flag (see
 * docs/security.md for the file paths and the deviations):
 * - picklescan: `src/picklescan/scanner.py`, `_unsafe_globals` (mmaitre314/picklescan);
 * - modelscan: `modelscan/settings.py`, `DEFAULT_SETTINGS["unsafe_globals"]` (protectai/modelscan);
 * - fickling: `fickling/fickle.py`, `UNSAFE_IMPORTS` and `SAFE_BUILTINS` (trailofbits/fickling);
 * plus torch's own `_blocklisted_modules` (`torch/_weights_only_unpickler.py`).
 * A `"*"` row covers the module and every submodule; a name row covers that attribute and any
 * attribute path below it (`Profile.run` covers `Profile.run.__call__`).
 */

/** What a dangerous global can do. */
export type DangerKind =
  /** Evaluates or compiles code, or builds code/function objects. */
  | "code"
  /** Starts processes or shell commands. */
  | "shell"
  /** Reads, writes or deletes files. */
  | "file"
  /** Opens connections, downloads, exfiltrates. */
  | "network"
  /** Imports modules or reaches attributes by name (a gateway to everything else). */
  | "import"
  /** Loads another pickle (or model) from bytes or a path. */
  | "loader"
  /** Loads native code or touches raw memory. */
  | "native"
  /** Controls the interpreter or process (exit, signals, threads, exit hooks). */
  | "process";

/** Who flags a global: the three scanners, torch's own blocklist, or torchsave (see docs/security.md). */
export type ScannerSource = "picklescan" | "modelscan" | "fickling" | "torch" | "torchsave";

/** One row of the dangerous-globals table. */
export interface DangerousGlobal {
  /** Python 3 module path. */
  readonly module: string;
  /** "*" for the whole module (and its submodules), else the attribute paths that are dangerous. */
  readonly names: "*" | readonly string[];
  readonly kind: DangerKind;
  /** Which scanners flag it; "torchsave" marks our own additions (explained in docs/security.md). */
  readonly sources: readonly ScannerSource[];
  readonly note: string;
}

const d = (module: string, names: "*" | readonly string[], kind: DangerKind, sources: readonly ScannerSource[], note: string): DangerousGlobal =>
  ({ module, names, kind, sources, note });

const P = "picklescan", M = "modelscan", F = "fickling", T = "torch", S = "torchsave";

/** Builtins that execute, compile, import, reach attributes or open files. */
const DANGEROUS_BUILTINS = [
  "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "apply", "breakpoint", "__import__",
  "globals", "locals", "vars", "input", "memoryview", "execfile", "file", "reload", "__build_class__", "__loader__",
  "__spec__", "help", "exit", "quit",
];

/** The table, grouped by what the globals do; docs/security.md renders it. */
export const DANGEROUS_GLOBALS: readonly DangerousGlobal[] = [
  // Builtins (Python 2's __builtin__ maps here first).
  d("builtins", DANGEROUS_BUILTINS, "code", [P, M, F], "eval/exec/compile run code; getattr/__import__/vars reach anything; open touches files (fickling blocks every builtin outside its SAFE_BUILTINS)"),

  // Processes and the operating system.
  d("os", "*", "shell", [P, M, F, T], "os.system, os.popen, os.exec*, file removal"),
  d("posix", "*", "shell", [P, M, F, T], "os on Linux/macOS"),
  d("nt", "*", "shell", [P, M, F, T], "os on Windows"),
  d("subprocess", "*", "shell", [P, M, F], "runs commands"),
  d("_posixsubprocess", "*", "shell", [F], "fork_exec"),
  d("pty", "*", "shell", [P, M, F], "pty.spawn runs commands"),
  d("pexpect", "*", "shell", [F], "spawns commands"),
  d("pipes", "*", "shell", [F], "pipes.Template runs shell commands"),
  d("commands", "*", "shell", [P, F], "Python 2 precursor of subprocess"),
  d("multiprocessing", "*", "shell", [F], "starts processes"),
  d("asyncio", "*", "shell", [P, F], "asyncio.unix_events._UnixSubprocessTransport runs commands"),
  d("uuid", "*", "shell", [P, F], "uuid._get_command_stdout runs commands"),
  d("_osx_support", "*", "shell", [P, F], "_read_output runs commands through os.system"),
  d("_aix_support", "*", "shell", [P, F], "_read_cmd_output runs commands through os.system"),
  d("_pyrepl", "*", "shell", [P], "pager functions run commands"),
  d("imaplib", ["IMAP4_stream"], "shell", [P], "IMAP4_stream runs its argument as a shell command (fickling blocks all of imaplib as network)"),
  d("pydoc", "*", "shell", [P, F], "pipepager runs commands; locate imports anything"),
  d("venv", "*", "shell", [P, F], "creates environments, runs pip"),
  d("ensurepip", "*", "shell", [P, F], "_run_pip installs packages"),
  d("pip", "*", "shell", [P, F], "installs packages"),
  d("test", "*", "shell", [P, F], "test.support.script_helper.assert_python_ok spawns interpreters"),
  d("sys", "*", "process", [P, M, F, T], "sys.exit, sys.modules, settrace"),
  d("signal", "*", "process", [F], "installs signal handlers"),
  d("_signal", "*", "process", [F], "installs signal handlers"),
  d("threading", "*", "process", [F], "starts threads"),
  d("_thread", "*", "process", [F], "starts threads"),
  d("atexit", "*", "process", [F], "registers exit hooks"),
  d("gc", "*", "process", [F], "reaches every live object"),

  // Code execution, compilation and debuggers that run strings.
  d("runpy", "*", "code", [P, M, F], "runs modules and code"),
  d("code", "*", "code", [P, F], "InteractiveInterpreter.runcode"),
  d("codeop", "*", "code", [F], "compiles code"),
  d("marshal", "*", "code", [F], "loads code objects"),
  d("types", ["CodeType", "FunctionType", "LambdaType", "MethodType", "ModuleType", "new_class", "prepare_class", "BuiltinFunctionType", "BuiltinMethodType"], "code", [P, F],
    "builds code and function objects (fickling blocks all of types; types.SimpleNamespace is plain data here)"),
  d("_interpreters", "*", "code", [F], "runs code in a subinterpreter"),
  d("_xxsubinterpreters", "*", "code", [F], "runs code in a subinterpreter"),
  d("doctest", "*", "code", [P, F], "debug_script runs code"),
  d("timeit", "*", "code", [P, F], "timeit runs code strings"),
  d("cProfile", "*", "code", [P, F], "run/runctx exec strings"),
  d("profile", "*", "code", [P, F], "run/runctx exec strings"),
  d("trace", "*", "code", [P, F], "Trace.run/runctx exec strings"),
  d("pdb", "*", "code", [P, F], "runs code under the debugger"),
  d("bdb", "*", "code", [P, F], "Bdb.run execs strings"),
  d("idlelib", "*", "code", [P, F], "runcode, fetch_tip, SetText and friends evaluate strings"),
  d("lib2to3", "*", "code", [P, F], "Grammar.loads unpickles; pgen make_label evals"),
  d("numpy.f2py", "*", "code", [P], "getlincoef and _eval_length eval strings"),
  d("numpy.testing._private.utils", "*", "code", [P], "runstring is exec"),
  d("cloudpickle", "*", "code", [P, F], "_make_function/_builtin_type rebuild functions from code objects; subimport imports"),
  d("torch._dynamo.guards", ["GuardBuilder.get"], "code", [P], "evaluates a guard expression"),
  d("torch._inductor.codecache", ["compile_file"], "shell", [P], "compile_file runs a compiler command line"),
  d("torch.fx.experimental.symbolic_shapes", ["ShapeEnv.evaluate_guards_expression"], "code", [P], "evaluates an expression"),
  d("torch.jit.unsupported_tensor_ops", ["execWrapper"], "code", [P], "exec"),
  d("torch.utils.bottleneck.__main__", ["run_cprofile", "run_autograd_prof"], "code", [P], "exec under a profiler"),
  d("torch.utils.collect_env", ["run"], "shell", [P], "runs a command"),
  // Framework helpers whose effect is code execution (torchsave: reached by their own names or aliases).
  d("torch.fx.graph_module", ["_forward_from_src", "_method_from_src", "_exec_with_source", "reduce_graph_module", "reduce_package_graph_module", "reduce_deploy_graph_module", "_deserialize_graph_module"], "code", [S],
    "execs the Python source the pickle carries (a pickled GraphModule is rebuilt from code)"),
  d("torch.utils.cpp_extension", "*", "native", [S], "load_inline/load compile C++ source and load the library"),
  d("torch.jit", ["load", "_load_for_lite_interpreter", "CompilationUnit", "_serialization.load"], "code", [S], "TorchScript code runs on torch.jit.load"),
  d("torch.jit._serialization", ["load", "_load_for_lite_interpreter"], "code", [S], "TorchScript code runs on torch.jit.load"),
  d("torch._C", ["import_ir_module", "import_ir_module_from_buffer", "_import_ir_module_from_package", "_load_for_lite_interpreter", "_load_for_lite_interpreter_from_buffer"], "code", [S], "loads TorchScript code"),
  d("torch.package", "*", "code", [S], "PackageImporter imports and runs the Python code inside a package"),
  d("torch._inductor.codecache", ["PyCodeCache", "CppCodeCache", "CUDACodeCache"], "code", [S], "loads and runs generated code"),
  d("yaml", ["load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all", "Loader", "UnsafeLoader", "FullLoader", "constructor", "loader"], "code", [S],
    "yaml.load with a non-safe loader constructs arbitrary Python objects (yaml.safe_load does not)"),
  d("numpy.distutils", "*", "shell", [S], "exec_command and the build helpers run commands and exec code"),

  // Importing and attribute access.
  d("importlib", "*", "import", [F], "import_module reaches any module"),
  d("_frozen_importlib", "*", "import", [F], "import machinery"),
  d("_frozen_importlib_external", "*", "import", [F], "import machinery"),
  d("_imp", "*", "import", [F], "import machinery"),
  d("imp", "*", "import", [F], "load_source executes files"),
  d("pkgutil", "*", "import", [P, F], "resolve_name reaches any module attribute"),
  d("zipimport", "*", "import", [F], "imports code from archives"),
  d("site", "*", "import", [F], "import-time hooks"),
  d("inspect", "*", "import", [F], "getattr equivalents"),
  d("operator", "*", "import", [P, M, F], "attrgetter/itemgetter/methodcaller reach and call attributes"),
  d("_operator", "*", "import", [P, F], "the C operator module"),
  d("functools", ["partial", "reduce", "partialmethod"], "import", [P, F], "partial binds a dangerous callable to arguments (fickling blocks all of functools)"),
  d("_functools", ["partial", "reduce"], "import", [S], "the C functools module (as functools)"),
  d("unittest", "*", "code", [F], "mock and loaders import and run code"),

  // Nested loaders: a pickle (or model) inside the pickle.
  d("pickle", "*", "loader", [P, M, F], "loads/load unpickle attacker bytes"),
  d("_pickle", "*", "loader", [P, F], "the C pickle module"),
  d("dill", "*", "loader", [F], "unpickles, and pickles code"),
  d("shelve", "*", "loader", [F], "opens pickle databases"),
  d("joblib", ["load", "numpy_pickle.load"], "loader", [F], "joblib.load unpickles a file (fickling blocks all of joblib; its numpy wrappers are plain data)"),
  d("torch.serialization", ["load"], "loader", [P], "torch.load of another file"),
  d("torch", ["load", "serialization.load", "hub"], "loader", [P, S], "torch.load / torch.hub reached from the top-level module"),
  d("torch.hub", "*", "loader", [S], "hub.load downloads a repository and runs its hubconf.py"),
  d("torch.utils._config_module", ["ConfigModule.load_config"], "loader", [P], "unpickles its argument"),
  d("torch.utils.data.datapipes.utils.decoder", ["basichandlers"], "loader", [P], "unpickles data"),
  d("numpy", ["load", "loads", "lib.npyio.load", "ctypeslib.load_library"], "loader", [S], "numpy.load(allow_pickle) / old numpy.loads unpickle; load_library loads native code (picklescan's TODO list)"),
  d("numpy.lib.npyio", ["load"], "loader", [S], "numpy.load"),
  d("numpy.ctypeslib", ["load_library"], "native", [S], "loads a shared library"),
  d("pandas", ["read_pickle"], "loader", [S], "unpickles a file (picklescan's TODO list)"),
  d("pandas.io.pickle", ["read_pickle"], "loader", [S], "unpickles a file"),

  // Files.
  d("shutil", "*", "file", [P, F], "copies, moves and deletes trees"),
  d("tempfile", "*", "file", [F], "creates files"),
  d("filecmp", "*", "file", [F], "reads files"),
  d("fileinput", "*", "file", [F], "reads files"),
  d("glob", "*", "file", [F], "enumerates files"),
  d("linecache", "*", "file", [F], "reads files"),
  d("distutils", "*", "file", [P, F], "file_util.write_file writes files"),
  d("compileall", "*", "file", [F], "writes .pyc files"),
  d("py_compile", "*", "file", [F], "writes .pyc files"),
  d("mmap", "*", "file", [F], "maps files"),
  d("tarfile", "*", "file", [F], "extracts archives"),
  d("zipfile", "*", "file", [F], "extracts archives"),
  d("sqlite3", "*", "file", [F], "creates database files"),
  d("_sqlite3", "*", "file", [F], "creates database files"),
  d("syslog", "*", "file", [F], "writes the system log"),
  d("logging", ["FileHandler", "handlers", "config"], "file", [P, F], "FileHandler creates files; handlers open sockets; config.listen/fileConfig evaluate (fickling blocks all of logging)"),
  d("logging.handlers", "*", "network", [F], "socket, SMTP and HTTP handlers"),
  d("logging.config", "*", "code", [F], "listen() and fileConfig() evaluate configuration"),
  d("_io", ["FileIO", "open", "open_code"], "file", [P], "io.FileIO opens files, bypassing builtins.open"),
  d("io", ["FileIO", "open", "open_code"], "file", [S], "the public names of _io's file openers"),
  d("codecs", ["open"], "file", [S], "opens files"),
  d("platform", "*", "shell", [F], "runs commands to probe the system"),
  d("difflib", "*", "file", [F], "listed by fickling with the file readers"),

  // Network.
  d("socket", "*", "network", [P, M, F], "opens connections"),
  d("_socket", "*", "network", [S], "the C socket module"),
  d("ssl", "*", "network", [P, F], "get_server_certificate exfiltrates through DNS"),
  d("http", "*", "network", [P, M, F], "http.client.HTTPSConnection (Python 2's httplib maps here)"),
  d("urllib", "*", "network", [P, F], "urllib.request.urlopen downloads and exfiltrates"),
  d("requests", "*", "network", [P, M, F], "requests.api.get"),
  d("aiohttp", "*", "network", [P, M, F], "aiohttp.client.ClientSession"),
  d("webbrowser", "*", "network", [P, M, F], "opens URLs (and runs a browser)"),
  d("smtplib", "*", "network", [F], "sends mail"),
  d("ftplib", "*", "network", [F], "transfers files"),
  d("poplib", "*", "network", [F], "mail"),
  d("telnetlib", "*", "network", [F], "remote shells"),
  d("nntplib", "*", "network", [F], "news"),
  d("socketserver", "*", "network", [F], "constructors bind and listen"),
  d("xmlrpc", "*", "network", [F], "remote calls"),
  d("select", "*", "network", [F], "I/O multiplexing"),
  d("selectors", "*", "network", [F], "I/O multiplexing"),

  // Native code and memory.
  d("ctypes", "*", "native", [P, F], "CDLL loads libraries and calls C functions"),
  d("_ctypes", "*", "native", [F], "the C ctypes module"),
];

/** Dangerous modules by name, for attribute-path checks ("torch.serialization" reaching ".os.system"). */
export const DANGEROUS_MODULE_NAMES: ReadonlySet<string> = new Set(
  DANGEROUS_GLOBALS.filter((row) => row.names === "*" && !row.module.includes(".")).map((row) => row.module).concat(["builtins"]),
);

/**
 * The first row that makes `module.name` dangerous, or undefined. Module rows match the module or
 * any submodule; name rows match the attribute path or any path below it. Matching is on whole
 * dotted components: "os" covers "os.path" but not "osmium".
 */
export function findDangerous(module: string, name: string): DangerousGlobal | undefined {
  for (const row of DANGEROUS_GLOBALS) {
    if (!underPath(module, row.module)) continue;
    if (row.names === "*") return row;
    // The attribute path relative to the row's module ("torch" + "serialization.load").
    const rest = module === row.module ? name : `${module.slice(row.module.length + 1)}.${name}`;
    if (row.names.some((n) => underPath(rest, n))) return row;
  }
  return undefined;
}

/** True when `path` equals `prefix` or lies below it on a dot boundary. */
function underPath(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2e);
}
