/**
 * Python 2 names for Python 3 globals, as `pickle` writes them at protocol < 3 with `fix_imports=True`
 * (CPython `Lib/_compat_pickle.py`: `REVERSE_NAME_MAPPING`, then `REVERSE_IMPORT_MAPPING`). The
 * tables are the complete CPython 3.11 ones, so `builtins.set` becomes `__builtin__ set` and
 * `builtins.str` becomes `__builtin__ unicode` exactly as CPython writes them.
 */

/** Built-in exception classes Python 2 kept in the `exceptions` module under the same name. */
const EXCEPTIONS_SAME_NAME = (
  "ArithmeticError AssertionError AttributeError BaseException BufferError BytesWarning " +
  "DeprecationWarning EOFError EnvironmentError Exception FloatingPointError FutureWarning " +
  "GeneratorExit IOError ImportError ImportWarning IndentationError IndexError KeyError " +
  "KeyboardInterrupt LookupError MemoryError NameError NotImplementedError OSError OverflowError " +
  "PendingDeprecationWarning ReferenceError RuntimeError RuntimeWarning StopIteration SyntaxError " +
  "SyntaxWarning SystemError SystemExit TabError TypeError UnboundLocalError UnicodeDecodeError " +
  "UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError " +
  "Warning ZeroDivisionError"
).split(" ");

/** `module name → module2 name2` renames of single globals. */
const RENAMED_GLOBALS: readonly string[] = [
  "_functools reduce __builtin__ reduce",
  "_socket socket socket _socketobject",
  "builtins BrokenPipeError exceptions OSError",
  "builtins ChildProcessError exceptions OSError",
  "builtins ConnectionAbortedError exceptions OSError",
  "builtins ConnectionError exceptions OSError",
  "builtins ConnectionRefusedError exceptions OSError",
  "builtins ConnectionResetError exceptions OSError",
  "builtins FileExistsError exceptions OSError",
  "builtins FileNotFoundError exceptions OSError",
  "builtins InterruptedError exceptions OSError",
  "builtins IsADirectoryError exceptions OSError",
  "builtins ModuleNotFoundError exceptions ImportError",
  "builtins NotADirectoryError exceptions OSError",
  "builtins PermissionError exceptions OSError",
  "builtins ProcessLookupError exceptions OSError",
  "builtins TimeoutError exceptions OSError",
  "builtins chr __builtin__ unichr",
  "builtins filter itertools ifilter",
  "builtins int __builtin__ long",
  "builtins map itertools imap",
  "builtins range __builtin__ xrange",
  "builtins str __builtin__ unicode",
  "builtins zip itertools izip",
  "collections UserDict UserDict IterableUserDict",
  "collections UserList UserList UserList",
  "collections UserString UserString UserString",
  "dbm whichdb whichdb whichdb",
  "functools reduce __builtin__ reduce",
  "http.server CGIHTTPRequestHandler CGIHTTPServer CGIHTTPRequestHandler",
  "http.server SimpleHTTPRequestHandler SimpleHTTPServer SimpleHTTPRequestHandler",
  "itertools filterfalse itertools ifilterfalse",
  "itertools zip_longest itertools izip_longest",
  "multiprocessing.connection Connection _multiprocessing Connection",
  "multiprocessing.context AuthenticationError multiprocessing AuthenticationError",
  "multiprocessing.context BufferTooShort multiprocessing BufferTooShort",
  "multiprocessing.context Process multiprocessing.process Process",
  "multiprocessing.context ProcessError multiprocessing ProcessError",
  "multiprocessing.context TimeoutError multiprocessing TimeoutError",
  "multiprocessing.popen_fork Popen multiprocessing.forking Popen",
  "socket fromfd _socket fromfd",
  "sys intern __builtin__ intern",
  "tkinter.filedialog FileDialog FileDialog FileDialog",
  "tkinter.filedialog LoadFileDialog FileDialog LoadFileDialog",
  "tkinter.filedialog SaveFileDialog FileDialog SaveFileDialog",
  "tkinter.simpledialog SimpleDialog SimpleDialog SimpleDialog",
  "urllib.error ContentTooShortError urllib ContentTooShortError",
  "urllib.error HTTPError urllib2 HTTPError",
  "urllib.error URLError urllib2 URLError",
  "urllib.parse quote urllib quote",
  "urllib.parse quote_plus urllib quote_plus",
  "urllib.parse unquote urllib unquote",
  "urllib.parse unquote_plus urllib unquote_plus",
  "urllib.parse urlencode urllib urlencode",
  "urllib.request getproxies urllib getproxies",
  "urllib.request pathname2url urllib pathname2url",
  "urllib.request url2pathname urllib url2pathname",
  "urllib.request urlcleanup urllib urlcleanup",
  "urllib.request urlopen urllib urlopen",
  "urllib.request urlretrieve urllib urlretrieve",
  "xmlrpc.server DocCGIXMLRPCRequestHandler DocXMLRPCServer DocCGIXMLRPCRequestHandler",
  "xmlrpc.server DocXMLRPCRequestHandler DocXMLRPCServer DocXMLRPCRequestHandler",
  "xmlrpc.server DocXMLRPCServer DocXMLRPCServer DocXMLRPCServer",
  "xmlrpc.server ServerHTMLDoc DocXMLRPCServer ServerHTMLDoc",
  "xmlrpc.server XMLRPCDocGenerator DocXMLRPCServer XMLRPCDocGenerator",
];

/** `module → module2` renames of whole modules (applied when no single-global rename matched). */
const RENAMED_MODULES: readonly string[] = [
  "_bz2 bz2",
  "_dbm dbm",
  "_dummy_thread dummy_thread",
  "_functools functools",
  "_gdbm gdbm",
  "_markupbase markupbase",
  "_pickle pickle",
  "_thread thread",
  "builtins __builtin__",
  "collections.abc _abcoll",
  "configparser ConfigParser",
  "copyreg copy_reg",
  "dbm anydbm",
  "dbm.bsd dbhash",
  "dbm.dumb dumbdbm",
  "dbm.gnu gdbm",
  "dbm.ndbm dbm",
  "html.entities htmlentitydefs",
  "html.parser HTMLParser",
  "http.client httplib",
  "http.cookiejar cookielib",
  "http.cookies Cookie",
  "http.server BaseHTTPServer",
  "queue Queue",
  "reprlib repr",
  "socketserver SocketServer",
  "subprocess commands",
  "test.support test.test_support",
  "tkinter Tkinter",
  "tkinter.colorchooser tkColorChooser",
  "tkinter.commondialog tkCommonDialog",
  "tkinter.constants Tkconstants",
  "tkinter.dialog Dialog",
  "tkinter.dnd Tkdnd",
  "tkinter.filedialog tkFileDialog",
  "tkinter.font tkFont",
  "tkinter.messagebox tkMessageBox",
  "tkinter.scrolledtext ScrolledText",
  "tkinter.simpledialog tkSimpleDialog",
  "tkinter.tix Tix",
  "tkinter.ttk ttk",
  "urllib.parse urlparse",
  "urllib.request urllib2",
  "urllib.robotparser robotparser",
  "winreg _winreg",
  "xmlrpc.client xmlrpclib",
  "xmlrpc.server SimpleXMLRPCServer",
];

const NAME_MAP: ReadonlyMap<string, readonly [string, string]> = new Map([
  ...EXCEPTIONS_SAME_NAME.map((n) => [`builtins\n${n}`, ["exceptions", n]] as const),
  ...RENAMED_GLOBALS.map((line) => {
    const [m, n, m2, n2] = line.split(" ") as [string, string, string, string];
    return [`${m}\n${n}`, [m2, n2]] as const;
  }),
]);

const MODULE_MAP: ReadonlyMap<string, string> = new Map(
  RENAMED_MODULES.map((line) => line.split(" ") as [string, string]),
);

/**
 * The (module, name) pair CPython's pickler writes for a Python 3 global at protocol 0-2
 * (`fix_imports`): a renamed global first, else a renamed module, else unchanged.
 */
export function python2Name(module: string, name: string): readonly [string, string] {
  // A newline cannot occur in a GLOBAL name, so it separates the key parts unambiguously.
  const renamed = NAME_MAP.get(`${module}\n${name}`);
  if (renamed !== undefined) return renamed;
  const mod = MODULE_MAP.get(module);
  return mod === undefined ? [module, name] : [mod, name];
}
