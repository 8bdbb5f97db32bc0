/**
 * Python 2 module and class names as Python 3 (and torch's weights_only unpickler) resolve them:
 * CPython's `Lib/_compat_pickle.py` IMPORT_MAPPING and NAME_MAPPING, which `pickle.Unpickler`
 * applies for protocol < 3 and torch applies in `_read_global_instruction` (`torch/_utils.py`
 * re-exports them). Classification always looks at the Python 3 name, so `__builtin__.eval` is
 * `builtins.eval` and `copy_reg._reconstructor` is `copyreg._reconstructor`.
 */

/** Python 2 module → Python 3 module. */
export const IMPORT_MAPPING: ReadonlyMap<string, string> = new Map([
  ["__builtin__", "builtins"], ["copy_reg", "copyreg"], ["Queue", "queue"], ["SocketServer", "socketserver"],
  ["ConfigParser", "configparser"], ["repr", "reprlib"], ["tkFileDialog", "tkinter.filedialog"],
  ["tkSimpleDialog", "tkinter.simpledialog"], ["tkColorChooser", "tkinter.colorchooser"],
  ["tkCommonDialog", "tkinter.commondialog"], ["Dialog", "tkinter.dialog"], ["Tkdnd", "tkinter.dnd"],
  ["tkFont", "tkinter.font"], ["tkMessageBox", "tkinter.messagebox"], ["ScrolledText", "tkinter.scrolledtext"],
  ["Tkconstants", "tkinter.constants"], ["Tix", "tkinter.tix"], ["ttk", "tkinter.ttk"], ["Tkinter", "tkinter"],
  ["markupbase", "_markupbase"], ["_winreg", "winreg"], ["thread", "_thread"], ["dummy_thread", "_dummy_thread"],
  ["dbhash", "dbm.bsd"], ["dumbdbm", "dbm.dumb"], ["dbm", "dbm.ndbm"], ["gdbm", "dbm.gnu"], ["xmlrpclib", "xmlrpc.client"],
  ["SimpleXMLRPCServer", "xmlrpc.server"], ["httplib", "http.client"], ["htmlentitydefs", "html.entities"],
  ["HTMLParser", "html.parser"], ["Cookie", "http.cookies"], ["cookielib", "http.cookiejar"],
  ["BaseHTTPServer", "http.server"], ["test.test_support", "test.support"], ["commands", "subprocess"],
  ["urlparse", "urllib.parse"], ["robotparser", "urllib.robotparser"], ["urllib2", "urllib.request"],
  ["anydbm", "dbm"], ["_abcoll", "collections.abc"], ["cPickle", "pickle"], ["_elementtree", "xml.etree.ElementTree"],
  ["FileDialog", "tkinter.filedialog"], ["SimpleDialog", "tkinter.simpledialog"], ["DocXMLRPCServer", "xmlrpc.server"],
  ["SimpleHTTPServer", "http.server"], ["CGIHTTPServer", "http.server"], ["UserDict", "collections"],
  ["UserList", "collections"], ["UserString", "collections"], ["whichdb", "dbm"], ["StringIO", "io"], ["cStringIO", "io"],
]);

/** (Python 2 module, name) → (Python 3 module, name), keyed "module name". */
export const NAME_MAPPING: ReadonlyMap<string, readonly [string, string]> = new Map<string, readonly [string, string]>([
  ["__builtin__ xrange", ["builtins", "range"]], ["__builtin__ reduce", ["functools", "reduce"]],
  ["__builtin__ intern", ["sys", "intern"]], ["__builtin__ unichr", ["builtins", "chr"]],
  ["__builtin__ unicode", ["builtins", "str"]], ["__builtin__ long", ["builtins", "int"]],
  ["__builtin__ basestring", ["builtins", "str"]], ["itertools izip", ["builtins", "zip"]],
  ["itertools imap", ["builtins", "map"]], ["itertools ifilter", ["builtins", "filter"]],
  ["itertools ifilterfalse", ["itertools", "filterfalse"]], ["itertools izip_longest", ["itertools", "zip_longest"]],
  ["UserDict IterableUserDict", ["collections", "UserDict"]], ["UserList UserList", ["collections", "UserList"]],
  ["UserString UserString", ["collections", "UserString"]], ["whichdb whichdb", ["dbm", "whichdb"]],
  ["_socket fromfd", ["socket", "fromfd"]], ["_multiprocessing Connection", ["multiprocessing.connection", "Connection"]],
  ["multiprocessing.process Process", ["multiprocessing.context", "Process"]],
  ["multiprocessing.forking Popen", ["multiprocessing.popen_fork", "Popen"]],
  ["urllib ContentTooShortError", ["urllib.error", "ContentTooShortError"]], ["urllib getproxies", ["urllib.request", "getproxies"]],
  ["urllib pathname2url", ["urllib.request", "pathname2url"]], ["urllib quote_plus", ["urllib.parse", "quote_plus"]],
  ["urllib quote", ["urllib.parse", "quote"]], ["urllib unquote_plus", ["urllib.parse", "unquote_plus"]],
  ["urllib unquote", ["urllib.parse", "unquote"]], ["urllib url2pathname", ["urllib.request", "url2pathname"]],
  ["urllib urlcleanup", ["urllib.request", "urlcleanup"]], ["urllib urlencode", ["urllib.parse", "urlencode"]],
  ["urllib urlopen", ["urllib.request", "urlopen"]], ["urllib urlretrieve", ["urllib.request", "urlretrieve"]],
  ["urllib2 HTTPError", ["urllib.error", "HTTPError"]], ["urllib2 URLError", ["urllib.error", "URLError"]],
  ["socket _socketobject", ["socket", "SocketType"]], ["exceptions StandardError", ["builtins", "Exception"]],
]);

/**
 * The Python 3 spelling of a global, as `pickle` and torch resolve it. Python 2's `exceptions`
 * module maps wholesale to `builtins`.
 */
export function python3Name(module: string, name: string): { module: string; name: string } {
  const named = NAME_MAPPING.get(`${module} ${name}`);
  if (named !== undefined) return { module: named[0], name: named[1] };
  if (module === "exceptions") return { module: "builtins", name };
  const mapped = IMPORT_MAPPING.get(module);
  return mapped === undefined ? { module, name } : { module: mapped, name };
}
