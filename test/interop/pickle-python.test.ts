// Interop with CPython's own pickle (spawns /usr/bin/python3; the file is skipped, with a message,
// only when that interpreter is missing):
// - Python → us: a seeded zoo of random Python objects (shared references, cycles, recursive
//   tuples, OrderedDicts with state, inert objects, persistent ids, big ints, NaN payloads, lone
//   surrogates, 64 KiB+ payloads...) pickled by CPython at protocols 0-5. We rebuild each value
//   from a description Python exports, and (a) our encoder writes exactly CPython's bytes, (b) our
//   decoder reads CPython's bytes back to that value.
// - Us → Python → us: random values we encode are loaded by `pickle.loads`, dumped again by
//   `pickle.dumps(obj, p)`, and decode to the original value.
// - weightsOnly output loads in torch's weights-only unpickler (when torch is installed).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePickle } from "../../src/pickle/decoder.js";
import { encodePickle } from "../../src/pickle/encoder.js";
import { ORDERED_DICT, type PyDict, type PyFloat, type PyObject, type PyValue } from "../../src/pickle/value.js";
import { hashableValues, uniqueArray } from "../helpers/py-arbitraries.js";
import { pyDiff } from "../helpers/py-equal.js";

const PYTHON = "/usr/bin/python3";
const HAVE_PYTHON = existsSync(PYTHON);
if (!HAVE_PYTHON) console.warn(`pickle interop tests skipped: ${PYTHON} is missing`);

type Protocol = 0 | 1 | 2 | 3 | 4 | 5;
const PROTOCOLS: Protocol[] = [0, 1, 2, 3, 4, 5];

/** Importable helpers the pickles refer to (`tsmod.Obj`, `tsmod.make`, nested classes, `Pid`). */
const TSMOD = String.raw`
import copyreg

class Obj:
    """An object that records how it was built, so pickle can write it back the same way."""
    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self._how = ("newobj_ex" if kwargs else "newobj", args, kwargs)
        self.items = []
        self.ditems = []
        self.state = None
        self._rv = None
        return self
    def append(self, x): self.items.append(x)
    def extend(self, xs): self.items.extend(xs)
    def __setitem__(self, k, v): self.ditems.append((k, v))
    def __setstate__(self, s): self.state = s
    def __reduce__(self):
        if self._rv is not None:
            return self._rv
        how, args, kwargs = self._how
        if how == "reduce": head = (make, args)
        elif how == "newobj": head = (copyreg.__newobj__, (Obj,) + args)
        else: head = (copyreg.__newobj_ex__, (Obj, args, kwargs))
        return head + (self.state, iter(self.items) if self.items else None, iter(self.ditems) if self.ditems else None)

def make(*args):
    o = Obj.__new__(Obj)
    o._how = ("reduce", args, {})
    return o

class Pid:
    def __init__(self, pid): self.pid = pid

class Outer:
    class Inner:
        class Deep:
            pass
`;

/** zoo SEED COUNT: random objects, their descriptions and CPython's pickles; echo: load + dump again. */
const DRIVER = String.raw`
import sys, io, json, pickle, random, struct, collections, copyreg
import tsmod

GLOBALS = [tsmod.Obj, tsmod.make, collections.OrderedDict, str, int, ValueError, OSError,
           copyreg._reconstructor, tsmod.Outer.Inner, tsmod.Outer.Inner.Deep, collections.Counter]

class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.lists = []
        self.pool = []
        self.objs = []
        self.protos = set(range(6))
        self.budget = 0

    def text(self):
        r = self.r
        n = r.choice([0, 1, 2, 5, 10, 40, 300]) if r.random() < 0.99 else 66000
        alpha = r.choice(["ascii", "latin", "bmp", "astral", "mixed"])
        out = []
        prev_high = False
        for _ in range(n):
            if alpha == "ascii" or (alpha == "mixed" and r.random() < 0.6): c = r.randrange(0, 128)
            elif alpha == "latin": c = r.randrange(0, 256)
            elif alpha in ("bmp", "mixed"): c = r.randrange(0, 0x10000)
            else: c = r.randrange(0x10000, 0x110000)
            if 0xdc00 <= c < 0xe000 and prev_high:
                c = 0x41  # two lone surrogates that form a pair cannot be told apart in JS
            prev_high = 0xd800 <= c < 0xdc00
            out.append(chr(c))
        s = "".join(out)
        return sys.intern(s) if n < 100 else s

    def float_(self):
        r = self.r
        k = r.random()
        if k < 0.1:
            return struct.unpack(">d", bytes.fromhex(r.choice(["7ff8000000000000", "fff8000000000000", "7ff0000000000001",
                "7ff8000000000abc", "7ff0000000000000", "fff0000000000000", "8000000000000000"])))[0]
        if k < 0.3: return float(r.randrange(-1000, 1000))
        if k < 0.5: return struct.unpack(">d", r.getrandbits(64).to_bytes(8, "big"))[0]
        return r.uniform(-1e6, 1e6) * 10 ** r.randrange(-30, 30)

    def int_(self):
        r = self.r
        k = r.random()
        if k < 0.3: return r.randrange(0, 256)
        if k < 0.45: return r.randrange(256, 65536)
        if k < 0.6: return r.randrange(-2**31, 2**31)
        if k < 0.8: return r.randrange(-2**64, 2**64)
        if k < 0.95: return r.randrange(-2**300, 2**300)
        return r.randrange(-2**2100, 2**2100)

    def hashable(self, depth):
        r = self.r
        k = r.randrange(10)
        if k == 0: return None
        if k == 1: return r.random() < 0.5
        if k == 2: return self.int_()
        if k == 3: return self.float_()
        if k in (4, 5): return self.text()
        if k == 6: return bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 3, 20])))
        if k == 7 and depth > 0: return tuple(self.hashable(depth - 1) for _ in range(r.randrange(0, 5)))
        if k == 8 and depth > 0: return frozenset(self.hashable(depth - 1) for _ in range(r.randrange(0, 4)))
        if k == 9: return complex(self.float_(), self.float_())
        return r.choice(GLOBALS)

    def value(self, depth):
        r = self.r
        self.budget += 1
        if self.pool and r.random() < 0.08:
            return r.choice(self.pool)
        k = r.randrange(16) if depth > 0 and self.budget < 300 else r.randrange(8)
        if k < 7:
            v = self.hashable(1)
        elif k == 7:
            v = bytearray(r.getrandbits(8) for _ in range(r.choice([0, 2, 30])))
        elif k in (8, 9):
            n = r.choice([0, 1, 2, 3, 4, 7]) if r.random() < 0.97 else r.choice([999, 1000, 1001, 2000])
            v = [self.value(depth - 1) if i < 30 else i for i in range(n)]
            self.lists.append(v)
        elif k == 10:
            v = tuple(self.value(depth - 1) for _ in range(r.choice([0, 1, 2, 3, 4, 6])))
        elif k == 11:
            n = r.choice([0, 1, 2, 5]) if r.random() < 0.97 else r.choice([1000, 1001])
            v = {}
            for i in range(n):
                v[self.hashable(1) if i < 30 else i] = self.value(depth - 1) if i < 30 else i
            if r.random() < 0.3:
                v = collections.OrderedDict(v)
                if r.random() < 0.5:
                    v.meta = {"version": self.int_()}
        elif k == 12:
            n = r.choice([0, 1, 3]) if r.random() < 0.97 else r.choice([1000, 1001])
            v = set(self.hashable(1) if i < 30 else i for i in range(n))
        elif k == 13:
            v = frozenset(self.hashable(1) for _ in range(r.choice([0, 1, 3])))
        elif k == 14:
            v = self.obj(depth)
        else:
            v = tsmod.Pid(self.text() if r.random() < 0.7 else (self.text(), self.int_()))
            if not (isinstance(v.pid, str) and v.pid.isascii() and "\n" not in v.pid):
                self.protos.discard(0)
        self.pool.append(v)
        return v

    def obj(self, depth):
        r = self.r
        o = tsmod.Obj.__new__(tsmod.Obj)
        via = r.choice(["reduce", "reduce", "newobj", "newobj_ex"])
        args = tuple(self.value(depth - 1) for _ in range(r.randrange(0, 3)))
        state = None if r.random() < 0.5 else {self.text(): self.value(depth - 1)}
        items = None if r.random() < 0.7 else [self.value(depth - 1) for _ in range(r.choice([1, 2, 3]))]
        ditems = None if r.random() < 0.7 else [(self.text(), self.value(depth - 1)) for _ in range(r.choice([1, 2]))]
        if via == "reduce":
            head = (r.choice([tsmod.make, tsmod.Obj]), args)
        elif via == "newobj":
            head = (copyreg.__newobj__, (tsmod.Obj,) + args)
        else:
            head = (copyreg.__newobj_ex__, (tsmod.Obj, args, {"k": self.int_()}))
            self.protos.discard(2); self.protos.discard(3)  # CPython writes functools.partial there
        o._export = (via, head, state, items, ditems)
        self.objs.append(o)
        return o

    def refresh(self):
        for o in self.objs:
            via, head, state, items, ditems = o._export
            o._rv = head + (state, None if items is None else iter(items), None if ditems is None else iter(ditems))

    def add_cycles(self):
        for _ in range(self.r.choice([0, 0, 1, 3])):
            if self.lists:
                self.r.choice(self.lists).append(self.r.choice(self.lists))


def export(o, seen, counter):
    if o is None: return {"k": "none"}
    if o is True or o is False: return {"k": "bool", "v": o}
    if type(o) is int: return {"k": "int", "v": str(o)}
    if type(o) is float: return {"k": "float", "bits": struct.pack(">d", o).hex()}
    if type(o) is str: return {"k": "str", "v": o}
    if isinstance(o, type) or (callable(o) and not isinstance(o, tsmod.Obj)):
        return {"k": "global", "module": o.__module__, "name": o.__qualname__}
    if type(o) is tsmod.Pid: return {"k": "persid", "pid": export(o.pid, seen, counter)}
    if id(o) in seen: return {"k": "ref", "id": seen[id(o)]}
    counter[0] += 1
    n = seen[id(o)] = counter[0]
    t = type(o)
    if t is bytes: return {"k": "bytes", "id": n, "hex": o.hex()}
    if t is bytearray: return {"k": "bytearray", "id": n, "hex": o.hex()}
    if t is complex:
        return {"k": "complex", "id": n, "re": struct.pack(">d", o.real).hex(), "im": struct.pack(">d", o.imag).hex()}
    if t in (tuple, list, set, frozenset):
        return {"k": t.__name__, "id": n, "items": [export(x, seen, counter) for x in o]}
    if t in (dict, collections.OrderedDict):
        d = {"k": "dict", "id": n, "entries": [[export(a, seen, counter), export(b, seen, counter)] for a, b in o.items()]}
        if t is collections.OrderedDict:
            d["type"] = {"k": "global", "module": "collections", "name": "OrderedDict"}
            if vars(o): d["state"] = export(vars(o), seen, counter)
        return d
    if t is tsmod.Obj:
        via, head, state, items, ditems = o._export
        d = {"k": "object", "id": n, "via": via}
        if via == "reduce":
            d["callable"] = export(head[0], seen, counter)
            d["args"] = export(head[1], seen, counter)
        elif via == "newobj":
            d["callable"] = export(head[1][0], seen, counter)
            counter[0] += 1  # CPython writes a fresh args tuple (never shared)
            d["args"] = {"k": "tuple", "id": counter[0], "items": [export(x, seen, counter) for x in head[1][1:]]}
        else:
            d["callable"] = export(head[1][0], seen, counter)
            d["args"] = export(head[1][1], seen, counter)
            d["kwargs"] = export(head[1][2], seen, counter)
        if items is not None: d["listItems"] = [export(x, seen, counter) for x in items]
        if ditems is not None: d["dictItems"] = [[export(a, seen, counter), export(b, seen, counter)] for a, b in ditems]
        if state is not None: d["state"] = export(state, seen, counter)
        return d
    raise TypeError(t)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if type(obj) is tsmod.Pid else None

class Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return tsmod.Pid(pid)

def dumps(o, proto):
    f = io.BytesIO()
    Pickler(f, proto).dump(o)
    return f.getvalue()

def zoo(seed, count):
    rnd = random.Random(seed)
    for i in range(count):
        g = Gen(rnd)
        v = g.value(rnd.choice([1, 2, 3, 4]))
        g.add_cycles()
        out = {"i": i, "pickles": {}}
        for p in sorted(g.protos):
            g.refresh()  # the items iterators are used up by each dump
            out["pickles"][str(p)] = dumps(v, p).hex()
        out["value"] = export(v, {}, [0])
        print(json.dumps(out))

def echo():
    for line in sys.stdin:
        job = json.loads(line)
        try:
            obj = Unpickler(io.BytesIO(bytes.fromhex(job["hex"]))).load()
            print(json.dumps({"hex": dumps(obj, job["p"]).hex()}))
        except Exception as e:
            print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))

def weights():
    try:
        import torch._weights_only_unpickler as wo
    except Exception as e:
        print(json.dumps({"skip": str(e)}))
        return
    for line in sys.stdin:
        data = bytes.fromhex(json.loads(line)["hex"])
        try:
            a = wo.Unpickler(io.BytesIO(data)).load()
            b = pickle.loads(data)
            print(json.dumps({"ok": a == b and type(a) is type(b)}))
        except Exception as e:
            print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "zoo": zoo(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "echo": echo()
    else: weights()
`;

function python(args: string[], input = ""): string[] {
  const dir = workDir();
  const r = spawnSync(PYTHON, [join(dir, "driver.py"), ...args], {
    cwd: dir,
    input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    env: { ...process.env, PYTHONHASHSEED: "0", PYTHONPATH: dir },
  });
  if (r.status !== 0) throw new Error(`python failed (${String(r.status)}): ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.length > 0);
}

let dirCache: string | undefined;
function workDir(): string {
  if (dirCache === undefined) {
    dirCache = mkdtempSync(join(tmpdir(), "torchsave-pickle-"));
    writeFileSync(join(dirCache, "tsmod.py"), TSMOD);
    writeFileSync(join(dirCache, "driver.py"), DRIVER);
  }
  return dirCache;
}

// ---------------------------------------------------------------------------------------------
// Python → us.

interface Desc {
  k: string;
  [field: string]: unknown;
}

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function floatOf(bits: string): PyFloat {
  const value = Buffer.from(bits, "hex").readDoubleBE(0);
  return Number.isNaN(value) && bits !== "7ff8000000000000" ? { kind: "float", value, nanBits: bits } : { kind: "float", value };
}

/** Builds the value a description stands for; ids make shared objects and cycles. */
function build(d: Desc, ids = new Map<number, PyValue>()): PyValue {
  const sub = (x: unknown): PyValue => build(x as Desc, ids);
  const id = d.id as number;
  switch (d.k) {
    case "none": return null;
    case "bool": return d.v as boolean;
    case "int": {
      const b = BigInt(d.v as string);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    case "float": return floatOf(d.bits as string);
    case "str": return d.v as string;
    case "global": return { kind: "global", module: d.module as string, name: d.name as string };
    case "persid": return { kind: "persid", pid: sub(d.pid), binary: true };
    case "ref": {
      const v = ids.get(id);
      if (v === undefined) throw new Error(`reference to unknown id ${id}`);
      return v;
    }
    case "bytes":
    case "bytearray": {
      const v = { kind: d.k, data: fromHex(d.hex as string) } as PyValue;
      ids.set(id, v);
      return v;
    }
    case "complex": {
      const v: PyValue = { kind: "complex", real: floatOf(d.re as string).value, imag: floatOf(d.im as string).value };
      ids.set(id, v);
      return v;
    }
    case "tuple":
    case "list":
    case "set":
    case "frozenset": {
      const v = { kind: d.k, items: [] as PyValue[] };
      ids.set(id, v as PyValue);
      for (const x of d.items as unknown[]) v.items.push(sub(x));
      return v as PyValue;
    }
    case "dict": {
      const v: PyDict = { kind: "dict", entries: [] };
      ids.set(id, v);
      if (d.type !== undefined) (v as { type?: PyValue }).type = sub(d.type);
      for (const [a, b] of d.entries as [unknown, unknown][]) {
        const key = sub(a);
        v.entries.push([key, sub(b)]);
      }
      if (d.state !== undefined) v.state = sub(d.state);
      return v;
    }
    case "object": {
      const v = { kind: "object", via: d.via } as { -readonly [K in keyof PyObject]: PyObject[K] };
      ids.set(id, v);
      v.callable = sub(d.callable);
      v.args = sub(d.args);
      if (d.kwargs !== undefined) v.kwargs = sub(d.kwargs);
      if (d.listItems !== undefined) v.listItems = (d.listItems as unknown[]).map(sub);
      if (d.dictItems !== undefined) v.dictItems = (d.dictItems as [unknown, unknown][]).map(([a, b]) => [sub(a), sub(b)]);
      if (d.state !== undefined) v.state = sub(d.state);
      return v;
    }
    default:
      throw new Error(`unknown description kind ${d.k}`);
  }
}

/**
 * Whether decoding CPython's pickle at protocol `p` gives back the described value itself. It does
 * not where CPython writes a different construction at that protocol: NEWOBJ below 2 and NEWOBJ_EX
 * below 4 (copyreg/functools calls), nested names below 4 (getattr calls), Python 2 names below 3
 * (`__builtin__.unicode` for `builtins.str`), and protocol 0's text PERSID (no binary flag).
 */
function sameValueAt(d: Desc, p: Protocol): boolean {
  const stack: unknown[] = [d];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) stack.push(...(x as unknown[]));
    else if (typeof x === "object" && x !== null) {
      const o = x as Desc;
      if (o.k === "object" && ((o.via === "newobj" && p < 2) || (o.via === "newobj_ex" && p < 4))) return false;
      if (o.k === "global" && ((p < 4 && (o.name as string).includes(".")) || (p < 3 && ["builtins", "copyreg"].includes(o.module as string)))) {
        return false;
      }
      if (o.k === "persid" && p === 0) return false;
      stack.push(...Object.values(o));
    }
  }
  return true;
}

describe.skipIf(!HAVE_PYTHON)("CPython pickles and ours", () => {
  it("writes CPython's exact bytes for a random zoo, and decodes CPython's pickles to the same values", () => {
    const cases = python(["zoo", "20240521", "250"]).map((l) => JSON.parse(l) as { i: number; value: Desc; pickles: Record<string, string> });
    expect(cases.length).toBe(250);
    let compared = 0;
    for (const c of cases) {
      for (const [ps, hex] of Object.entries(c.pickles)) {
        const p = Number(ps) as Protocol;
        const value = build(c.value);
        const where = `zoo case ${c.i}, protocol ${p}`;
        expect(toHex(encodePickle(value, { protocol: p })), where).toBe(hex);
        if (!sameValueAt(c.value, p)) continue;
        expect(pyDiff(value, decodePickle(fromHex(hex)), { nanBits: p > 0 }), where).toBeUndefined();
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("round-trips random values through pickle.loads and pickle.dumps", () => {
    const jobs: { p: Protocol; value: PyValue; hex: string }[] = [];
    for (const p of PROTOCOLS) {
      for (const value of fc.sample(echoValue(p), { numRuns: 120, seed: 1000 + p })) {
        jobs.push({ p, value, hex: toHex(encodePickle(value, { protocol: p })) });
      }
    }
    const answers = python(["echo"], jobs.map((j) => JSON.stringify({ p: j.p, hex: j.hex })).join("\n") + "\n");
    expect(answers.length).toBe(jobs.length);
    answers.forEach((line, i) => {
      const job = jobs[i]!;
      const answer = JSON.parse(line) as { hex?: string; error?: string };
      expect(answer.error, `job ${i} (protocol ${job.p}) ${job.hex}`).toBeUndefined();
      const back = decodePickle(fromHex(answer.hex!));
      const diff = pyDiff(sortSets(job.value), sortSets(back), { nanBits: job.p > 0, cpythonSingletons: true });
      expect(diff, `job ${i} (protocol ${job.p}): ours ${job.hex}, Python's ${answer.hex!}`).toBeUndefined();
    });
  });

  it("weightsOnly output loads in torch's weights-only unpickler", () => {
    const values = fc.sample(stateDictLike, { numRuns: 60, seed: 7 });
    const answers = python(["weights"], values.map((v) => JSON.stringify({ hex: toHex(encodePickle(v, { weightsOnly: true })) })).join("\n") + "\n");
    if (answers.length === 1 && answers[0]!.includes('"skip"')) {
      console.warn(`weights-only interop skipped: ${answers[0]!}`);
      return;
    }
    expect(answers.length).toBe(values.length);
    for (const line of answers) expect(JSON.parse(line)).toEqual({ ok: true });
  });
});

// ---------------------------------------------------------------------------------------------
// Us → Python → us: values Python rebuilds into the same objects and writes back the same way.

const int = fc.oneof(
  fc.integer({ min: -300, max: 70000 }),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n })
    .map((b) => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
);
const float = fc.oneof(
  fc.double().map((value): PyValue => ({ kind: "float", value })),
  fc.constantFrom("7ff8000000000abc", "fff8000000000000").map((nanBits): PyValue => ({ kind: "float", value: NaN, nanBits })),
);
/** Strings without a lone high surrogate directly before a lone low one (Python would keep them apart). */
const str = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 })
    .map((s) => s.replace(/[\ud800-\udbff](?=[\udc00-\udfff])/g, "x")),
);
const bytes = fc.uint8Array({ maxLength: 30 });
const ECHO_GLOBALS: [string, string][] = [["tsmod", "Obj"], ["tsmod", "make"], ["collections", "OrderedDict"]];

const hashable = hashableValues({
  int, float, str, bytes,
  global: fc.constantFrom(...ECHO_GLOBALS).map(([module, name]): PyValue => ({ kind: "global", module, name })),
});

function echoValue(p: Protocol): fc.Arbitrary<PyValue> {
  return fc.letrec((tie) => {
    const value = tie("value") as fc.Arbitrary<PyValue>;
    const entries = uniqueArray(hashable, 4).chain((keys) =>
      fc.tuple(...keys.map(() => value)).map((vals) => keys.map((k, i): [PyValue, PyValue] => [k, vals[i]!])));
    const vias: PyObject["via"][] = ["reduce"];
    if (p >= 2) vias.push("newobj");
    if (p >= 4) vias.push("newobj_ex");
    const object = fc.record({
      via: fc.constantFrom(...vias),
      args: fc.array(value, { maxLength: 3 }),
      // None state means "no BUILD" to Python, so it would not come back.
      state: fc.option(value.filter((v) => v !== null), { nil: undefined }),
      listItems: fc.option(fc.array(value, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      dictItems: fc.option(entries.filter((e) => e.length > 0), { nil: undefined }),
    }).map((r): PyValue => {
      const o: PyObject & { kwargs?: PyValue } = {
        kind: "object", via: r.via, callable: { kind: "global", module: "tsmod", name: r.via === "reduce" ? "make" : "Obj" },
        args: { kind: "tuple", items: r.args },
      };
      if (r.via === "newobj_ex") o.kwargs = { kind: "dict", entries: [["k", 1]] };
      if (r.state !== undefined) o.state = r.state;
      if (r.listItems !== undefined) o.listItems = r.listItems;
      if (r.dictItems !== undefined) o.dictItems = r.dictItems;
      return o;
    });
    const persid = p === 0
      ? fc.stringMatching(/^[ -~]{0,8}$/).map((s): PyValue => ({ kind: "persid", pid: s, binary: false }))
      // A None pid means "not persistent" to CPython, and it does not ask persistent_id about a pid
      // itself, so neither None nor a persistent id as the pid would come back.
      : value.filter((pid) => pid !== null && (pid as { kind?: string }).kind !== "persid")
        .map((pid): PyValue => ({ kind: "persid", pid, binary: true }));
    return {
      value: fc.oneof(
        { depthSize: "small", maxDepth: 4 },
        hashable,
        bytes.map((data): PyValue => ({ kind: "bytearray", data })),
        fc.array(value, { maxLength: 4 }).map((items): PyValue => ({ kind: "tuple", items })),
        fc.array(value, { maxLength: 4 }).map((items): PyValue => ({ kind: "list", items })),
        fc.record({ entries, typed: fc.boolean() }).map(({ entries: e, typed }): PyValue =>
          (typed ? { kind: "dict", entries: e, type: ORDERED_DICT } : { kind: "dict", entries: e })),
        uniqueArray(hashable, 4).map((items): PyValue => ({ kind: "set", items })),
        uniqueArray(hashable, 4).map((items): PyValue => ({ kind: "frozenset", items })),
        object,
        persid,
      ),
    };
  }).value as fc.Arbitrary<PyValue>;
}

/**
 * State-dict-shaped values within what the installed torch's weights-only unpickler accepts. No
 * floats: torch 1.13 (Debian's) predates BINFLOAT in that unpickler; newer torch accepts them.
 */
const stateDictLike: fc.Arbitrary<PyValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    int,
    str,
    fc.array(tie("value"), { maxLength: 3 }).map((items): PyValue => ({ kind: "tuple", items: items as PyValue[] })),
    fc.array(tie("value"), { maxLength: 3 }).map((items): PyValue => ({ kind: "list", items: items as PyValue[] })),
    fc.array(fc.tuple(str, tie("value")), { maxLength: 3 }).map((e): PyValue => ({ kind: "dict", entries: dedupe(e as [string, PyValue][]) })),
    fc.array(fc.tuple(str, tie("value")), { maxLength: 3 })
      .map((e): PyValue => ({ kind: "dict", entries: dedupe(e as [string, PyValue][]), type: ORDERED_DICT })),
  ),
})).value as fc.Arbitrary<PyValue>;

function dedupe(entries: [string, PyValue][]): [PyValue, PyValue][] {
  const seen = new Set<string>();
  return entries.filter(([k]) => !seen.has(k) && (seen.add(k), true));
}

/** Python orders a set by hash; sort set and frozenset items by content on both sides before comparing. */
function sortSets(root: PyValue): PyValue {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || seen.has(v) || v instanceof Uint8Array) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      stack.push(...(v as unknown[]));
      continue;
    }
    const o = v as { kind?: string; items?: PyValue[] };
    if ((o.kind === "set" || o.kind === "frozenset") && o.items !== undefined) {
      o.items.sort((a, b) => {
        const x = canon(a);
        const y = canon(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    stack.push(...Object.values(o));
  }
  return root;
}

/** A content key for a hashable value (set items are hashable). */
function canon(v: PyValue): string {
  if (v === null) return "N";
  if (typeof v === "boolean") return `B${Number(v)}`;
  if (typeof v === "number" || typeof v === "bigint") return `I${v}`;
  if (typeof v === "string") return `S${JSON.stringify(v)}`;
  const o = v as unknown as { kind: string } & Record<string, unknown>;
  switch (o.kind) {
    case "float": return `F${typeof o.nanBits === "string" ? o.nanBits : Object.is(o.value, -0) ? "-0" : String(o.value)}`;
    case "bytes": return `Y${toHex(o.data as Uint8Array)}`;
    case "complex": return `C${String(o.real)},${String(o.imag)}`;
    case "global": return `G${String(o.module)}.${String(o.name)}`;
    case "tuple": return `T(${(o.items as PyValue[]).map(canon).join(",")})`;
    case "frozenset": return `Z(${(o.items as PyValue[]).map(canon).sort().join(",")})`;
    default: return `?${o.kind}`;
  }
}
