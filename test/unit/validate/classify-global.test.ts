import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyGlobal } from "../../../src/validate/classify-global.js";
import { python3Name } from "../../../src/validate/compat-names.js";
import { DANGEROUS_GLOBALS, findDangerous } from "../../../src/validate/dangerous-globals.js";
import { PLAIN_DATA_GLOBALS } from "../../../src/validate/plain-data-globals.js";
import { WEIGHTS_ONLY_ALLOWED, WEIGHTS_ONLY_POLICIES } from "../../../src/validate/weights-only-policy.js";
import { REPO } from "../../helpers/corpus.js";

const cls = (module: string, name: string) => classifyGlobal(module, name).class;

describe("classifyGlobal", () => {
  it.each([
    ["os", "system"], ["posix", "system"], ["nt", "system"], ["os.path", "join"], ["subprocess", "Popen"],
    ["builtins", "eval"], ["builtins", "exec"], ["builtins", "compile"], ["builtins", "open"], ["builtins", "getattr"],
    ["builtins", "__import__"], ["__builtin__", "eval"], ["runpy", "_run_code"], ["importlib", "import_module"],
    ["pickle", "loads"], ["_pickle", "loads"], ["cPickle", "loads"], ["dill", "loads"], ["torch", "load"],
    ["torch.serialization", "load"], ["torch.hub", "load"], ["socket", "create_connection"], ["shutil", "rmtree"],
    ["webbrowser", "open"], ["pty", "spawn"], ["sys", "exit"], ["marshal", "loads"], ["types", "CodeType"],
    ["httplib", "HTTPSConnection"], ["urllib2", "urlopen"], ["commands", "getoutput"], ["ctypes", "CDLL"],
    ["operator", "attrgetter"], ["functools", "partial"], ["idlelib.debugobj", "ObjectTreeItem.SetText"],
    ["profile", "Profile.run"], ["torch._dynamo.guards", "GuardBuilder.get"], ["ssl", "get_server_certificate"],
  ])("%s.%s is dangerous", (module, name) => {
    expect(cls(module, name)).toBe("dangerous");
  });

  it.each([
    ["collections", "OrderedDict"], ["torch._utils", "_rebuild_tensor_v2"], ["torch._utils", "_rebuild_tensor_v3"],
    ["torch", "FloatStorage"], ["torch", "UntypedStorage"], ["torch", "float32"], ["torch", "bfloat16"],
    ["torch.nn.parameter", "Parameter"], ["_codecs", "encode"], ["torch", "device"], ["builtins", "set"],
    ["__builtin__", "set"], ["torch._tensor", "_rebuild_from_type_v2"], ["torch", "per_tensor_affine"],
  ])("%s.%s is allowed", (module, name) => {
    expect(cls(module, name)).toBe("allowed");
  });

  it.each([
    ["numpy.core.multiarray", "_reconstruct"], ["numpy._core.multiarray", "scalar"], ["numpy", "dtype"],
    ["argparse", "Namespace"], ["copy_reg", "_reconstructor"], ["builtins", "frozenset"], ["builtins", "object"],
  ])("%s.%s is plain data", (module, name) => {
    expect(cls(module, name)).toBe("plain-data");
  });

  it.each([
    ["__main__", "Net"], ["torch_models", "TinyNet"], ["torch.nn.modules.linear", "Linear"], ["osmium", "run"],
    ["joblib.numpy_pickle", "NumpyArrayWrapper"], ["builtins", "type"], ["mypkg.code", "Thing"],
  ])("%s.%s is unknown", (module, name) => {
    expect(cls(module, name)).toBe("unknown");
  });

  it("classifies torch's nested-file loader as a loader", () => {
    expect(cls("torch.storage", "_load_from_bytes")).toBe("loader");
  });

  it("catches attribute paths that walk dunders or reach dangerous modules", () => {
    expect(classifyGlobal("collections", "OrderedDict.__init__.__globals__").class).toBe("dangerous");
    expect(classifyGlobal("torch.serialization", "os.system").class).toBe("dangerous");
    expect(classifyGlobal("numpy", "testing.sys.modules").class).toBe("dangerous");
    expect(classifyGlobal("torch", "serialization.load").reason).toMatch(/torch.load/);
  });

  it("maps Python 2 names before classifying, as pickle and torch do", () => {
    expect(python3Name("__builtin__", "xrange")).toEqual({ module: "builtins", name: "range" });
    expect(python3Name("copy_reg", "_reconstructor")).toEqual({ module: "copyreg", name: "_reconstructor" });
    expect(python3Name("exceptions", "ValueError")).toEqual({ module: "builtins", name: "ValueError" });
    expect(classifyGlobal("__builtin__", "eval").key).toBe("builtins.eval");
  });

  it("matches on dotted-path boundaries only", () => {
    expect(findDangerous("os", "system")?.module).toBe("os");
    expect(findDangerous("osx", "foo")).toBeUndefined();
    expect(findDangerous("functools", "partialmethod")?.module).toBe("functools");
    expect(findDangerous("functools", "lru_cache")).toBeUndefined();
    expect(findDangerous("torch", "loadable")).toBeUndefined();
  });
});

describe("the tables", () => {
  it("classify every dangerous row as dangerous", () => {
    for (const row of DANGEROUS_GLOBALS) {
      const names = row.names === "*" ? ["anything"] : row.names;
      for (const name of names) expect(classifyGlobal(row.module, name).class, `${row.module}.${name}`).toBe("dangerous");
    }
  });

  it("never list a global as both dangerous and allowed or plain data", () => {
    for (const key of [...WEIGHTS_ONLY_ALLOWED, ...PLAIN_DATA_GLOBALS.map((g) => g.key)]) {
      const dot = key.lastIndexOf(".");
      expect(findDangerous(key.slice(0, dot), key.slice(dot + 1)), key).toBeUndefined();
    }
  });

  it("keep torch 1.13's allow-list a subset of the current one, except the CSR rebuild it dropped", () => {
    const extra = [...WEIGHTS_ONLY_POLICIES["1.13"].globals].filter((k) => !WEIGHTS_ONLY_POLICIES.current.globals.has(k));
    expect(extra).toEqual(["torch._utils._rebuild_sparse_csr_tensor"]);
    expect(WEIGHTS_ONLY_POLICIES["1.13"].opcodes.has("BINFLOAT")).toBe(false);
    expect(WEIGHTS_ONLY_POLICIES.current.opcodes.has("BINFLOAT")).toBe(true);
  });

  it("cite a scanner for every dangerous row, and docs/security.md names every module", () => {
    const doc = readFileSync(join(REPO, "docs/security.md"), "utf8");
    for (const row of DANGEROUS_GLOBALS) {
      expect(row.sources.length, row.module).toBeGreaterThan(0);
      expect(doc, `docs/security.md should list ${row.module}`).toContain(`\`${row.module}\``);
    }
    for (const path of ["src/picklescan/scanner.py", "modelscan/settings.py", "fickling/fickle.py", "torch/_weights_only_unpickler.py"]) {
      expect(doc).toContain(path);
    }
  });
});
