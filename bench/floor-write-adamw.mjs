// The floor for issue #16's write target: how fast can ANY JavaScript writer emit the bytes
// `writeCheckpointFileSync` writes for bench/out/adamw-20k.pt (80,000 storages) once the checkpoint
// is read into torchsave's objects?
//
// This is NOT a writer. It knows the shapes that one file holds (dicts, lists, tuples, str, int,
// float, bool, None, float32 tensors over their own storages), emits protocol-2 opcodes straight
// into one buffer with the memo bookkeeping the bytes need, copies each storage's bytes from the
// input read whole, and writes the file with one writeSync. It checks nothing: no weights-only
// rules, no key paths, no shared storages, no limits. Its output must equal ours byte for byte
// (the script compares SHA-256s), so both do the same work; whatever it costs, a real writer
// costs at least that.
//
//   npm run build && node bench/floor-write-adamw.mjs [rounds=5] [file]
// Each round runs the floor and writeCheckpointFileSync in fresh processes (what a user pays:
// cold JIT included), timing only the write (wall and CPU); it prints the medians and the load.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.TORCHSAVE_DIST ?? join(here, "..", "dist");

function parent() {
  const rounds = Number(process.argv[2] ?? "5");
  const file = process.argv[3] ?? join(here, "out", "adamw-20k.pt");
  const tmp = mkdtempSync(join(tmpdir(), "torchsave-floor-write-"));
  const t = { floor: [], ours: [] };
  const cpu = { floor: [], ours: [] };
  const sums = {};
  for (let r = 0; r < rounds; r++) {
    for (const who of r % 2 === 0 ? ["floor", "ours"] : ["ours", "floor"]) {
      // The same file name for both: the archive folder inside is named after it.
      mkdirSync(join(tmp, who), { recursive: true });
      const out = join(tmp, who, "adamw.pt");
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", who, file, out], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(run.stderr);
      const [wall, used] = run.stdout.split(" ").map(Number);
      t[who].push(wall);
      cpu[who].push(used);
      sums[who] = createHash("sha256").update(readFileSync(out)).digest("hex");
      rmSync(out);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  if (sums.floor !== sums.ours) throw new Error(`the floor's bytes differ from writeCheckpointFileSync's (${sums.floor} vs ${sums.ours})`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const load = loadavg()[0].toFixed(2);
  const both = (who) => `${median(t[who]).toFixed(3)} s (CPU ${median(cpu[who]).toFixed(3)} s)`;
  console.log(`write ${basename(file)}: floor ${both("floor")}, writeCheckpointFileSync ${both("ours")}; medians of ${rounds}, identical bytes [load ${load}]`);
}

async function child(who, file, out) {
  const { readCheckpointFileSync, writeCheckpointFileSync } = await import(join(dist, "node", "index.js"));
  const ckpt = readCheckpointFileSync(file);
  const input = readFileSync(file); // the floor's storage bytes: views of the input, read whole (untimed)
  const start = performance.now();
  const cpu = process.cpuUsage();
  if (who === "ours") writeCheckpointFileSync(out, ckpt.root, { fsync: false, archiveName: basename(out, ".pt") });
  else floorWrite(out, ckpt.root, input, basename(out, ".pt"));
  const used = process.cpuUsage(cpu);
  process.stdout.write(`${((performance.now() - start) / 1000).toFixed(3)} ${((used.user + used.system) / 1e6).toFixed(3)}`);
}

function floorWrite(path, root, input, archive) {
  const w = writer(1 << 22);
  const memo = { next: 0, strs: new Map(), globals: new Map() };
  const storages = [];
  w.u8(0x80).u8(2);
  value(w, memo, storages, root);
  w.u8(0x2e);
  const pkl = w.bytes();
  const records = [
    [`${archive}/data.pkl`, pkl],
    [`${archive}/.format_version`, ascii("1")],
    [`${archive}/.storage_alignment`, ascii("64")],
    [`${archive}/byteorder`, ascii("little")],
    ...storages.map((s, k) => [`${archive}/data/${k}`, input.subarray(s.from.offset, s.from.offset + s.byteLength)]),
    [`${archive}/version`, ascii("3\n")],
  ];
  const z = writer(pkl.length + input.length + records.length * 200);
  const central = [];
  const add = (name, data) => {
    const nameBytes = ascii(name);
    const offset = z.length;
    const padding = (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    z.u32(0x04034b50).u16(0).u16(data.length > 0 ? 0x0808 : 0x0800).u16(0).u32(0).u32(0).u32(0).u32(0);
    z.u16(nameBytes.length).u16(4 + padding).raw(nameBytes).u8(0x46).u8(0x42).u16(padding);
    for (let i = 0; i < padding; i++) z.u8(0x5a);
    z.raw(data);
    const crc = data.length > 0 ? crc32(data) : 0;
    if (data.length > 0) z.u32(0x08074b50).u32(crc).u32(data.length).u32(data.length);
    central.push({ nameBytes, offset, crc, size: data.length });
  };
  for (const [name, data] of records) add(name, data);
  add(`${archive}/.data/serialization_id`, ascii(serializationId(central)));
  const cdOffset = z.length;
  for (const e of central) {
    z.u32(0x02014b50).u16(0).u16(0).u16(e.size > 0 ? 0x0808 : 0x0800).u16(0).u32(0).u32(e.crc).u32(e.size).u32(e.size);
    z.u16(e.nameBytes.length).u16(0).u16(0).u16(0).u16(0).u32(0).u32(e.offset).raw(e.nameBytes);
  }
  const cdSize = z.length - cdOffset;
  const n = central.length;
  z.u32(0x06064b50).u64(44).u16(0x031e).u16(45).u32(0).u32(0).u64(n).u64(n).u64(cdSize).u64(cdOffset);
  z.u32(0x07064b50).u32(0).u64(cdOffset + cdSize).u32(1);
  z.u32(0x06054b50).u16(0).u16(0).u16(Math.min(n, 0xffff)).u16(Math.min(n, 0xffff)).u32(cdSize).u32(cdOffset).u16(0);
  const fd = openSync(path, "w");
  writeSync(fd, z.bytes());
  closeSync(fd);
}

/** Pickles `v` (protocol 2) with the memo our encoder keeps: every str by value, globals by name, containers once. */
function value(w, memo, storages, v) {
  switch (typeof v) {
    case "string": return str(w, memo, v);
    case "boolean": w.u8(v ? 0x88 : 0x89); return;
    case "number": return int(w, v);
    case "object": break;
    default: throw new Error(`the floor does not know ${typeof v}`);
  }
  if (v === null) return void w.u8(0x4e);
  switch (v.kind) {
    case "float": w.u8(0x47).f64be(v.value); return;
    case "dict": {
      if (v.type !== undefined) throw new Error("the floor knows no OrderedDict at the top");
      w.u8(0x7d);
      put(w, memo);
      const n = v.entries.length;
      for (let i = 0; i < n; i++) {
        if (n > 1 && i % 1000 === 0) w.u8(0x28);
        value(w, memo, storages, v.entries[i][0]);
        value(w, memo, storages, v.entries[i][1]);
        if (n === 1) w.u8(0x73);
        else if (i % 1000 === 999 || i === n - 1) w.u8(0x75);
      }
      if (n > 0 && n % 1000 === 0) w.u8(0x28).u8(0x75);
      return;
    }
    case "list": {
      w.u8(0x5d);
      put(w, memo);
      const n = v.items.length;
      for (let i = 0; i < n; i++) {
        if (n > 1 && i % 1000 === 0) w.u8(0x28);
        value(w, memo, storages, v.items[i]);
        if (n === 1) w.u8(0x61);
        else if (i % 1000 === 999 || i === n - 1) w.u8(0x65);
      }
      return;
    }
    case "tuple": return tuple(w, memo, v.items, (x) => value(w, memo, storages, x));
    case "tensor": return tensor(w, memo, storages, v);
    default: throw new Error(`the floor does not know ${v.kind}`);
  }
}

function tensor(w, memo, storages, t) {
  global(w, memo, "torch._utils", "_rebuild_tensor_v2");
  w.u8(0x28);
  // The persistent id ("storage", torch.FloatStorage, key, location, numel).
  const s = t.storage;
  w.u8(0x28);
  str(w, memo, "storage");
  global(w, memo, "torch", "FloatStorage");
  str(w, memo, String(storages.length));
  storages.push(s);
  str(w, memo, s.location);
  int(w, s.byteLength / 4);
  w.u8(0x74);
  put(w, memo);
  w.u8(0x51);
  int(w, t.storageOffset);
  tuple(w, memo, t.shape, (x) => int(w, x));
  tuple(w, memo, t.stride, (x) => int(w, x));
  w.u8(t.requiresGrad ? 0x88 : 0x89);
  global(w, memo, "collections", "OrderedDict");
  w.u8(0x29).u8(0x52);
  put(w, memo);
  w.u8(0x74);
  put(w, memo);
  w.u8(0x52);
  put(w, memo);
}

function tuple(w, memo, items, each) {
  const n = items.length;
  if (n === 0) return void w.u8(0x29);
  if (n > 3) w.u8(0x28);
  for (const x of items) each(x);
  w.u8(n === 1 ? 0x85 : n === 2 ? 0x86 : n === 3 ? 0x87 : 0x74);
  put(w, memo);
}

function str(w, memo, s) {
  const seen = memo.strs.get(s);
  if (seen !== undefined) return get(w, seen);
  w.u8(0x58).u32(s.length).ascii(s); // the file's strings are ASCII
  memo.strs.set(s, put(w, memo));
}

function global(w, memo, module, name) {
  const key = `${module}\n${name}`;
  const seen = memo.globals.get(key);
  if (seen !== undefined) return get(w, seen);
  w.u8(0x63).ascii(module).u8(10).ascii(name).u8(10);
  memo.globals.set(key, put(w, memo));
}

function int(w, v) {
  if (v >= 0 && v < 256) w.u8(0x4b).u8(v);
  else if (v >= 0 && v < 65536) w.u8(0x4d).u16(v);
  else w.u8(0x4a).u32(v >>> 0);
}

function put(w, memo) {
  const i = memo.next++;
  if (i < 256) w.u8(0x71).u8(i);
  else w.u8(0x72).u32(i);
  return i;
}

function get(w, i) {
  if (i < 256) w.u8(0x68).u8(i);
  else w.u8(0x6a).u32(i);
}

function writer(capacity) {
  let buf = new Uint8Array(capacity);
  let view = new DataView(buf.buffer);
  let n = 0;
  const need = (k) => {
    if (n + k <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, n + k));
    next.set(buf.subarray(0, n));
    buf = next;
    view = new DataView(buf.buffer);
  };
  const w = {
    get length() { return n; },
    u8(v) { need(1); buf[n++] = v; return w; },
    u16(v) { need(2); view.setUint16(n, v, true); n += 2; return w; },
    u32(v) { need(4); view.setUint32(n, v, true); n += 4; return w; },
    u64(v) { need(8); view.setBigUint64(n, BigInt(v), true); n += 8; return w; },
    f64be(v) { need(8); view.setFloat64(n, v, false); n += 8; return w; },
    ascii(s) { need(s.length); for (let i = 0; i < s.length; i++) buf[n++] = s.charCodeAt(i); return w; },
    raw(b) { need(b.length); buf.set(b, n); n += b.length; return w; },
    bytes: () => buf.subarray(0, n),
  };
  return w;
}

const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// torch's .data/serialization_id, as src/torch/write/write-serialization-id.ts computes it.
const MASK = (1n << 64n) - 1n;
const MUL = (0xc6a4a793n << 32n) + 0x5bd1e995n;
const shiftMix = (v) => v ^ (v >> 47n);
const combine = (seed, v) => (seed ^ ((v + 0x9e3779b9n + ((seed << 6n) & MASK) + (seed >> 2n)) & MASK)) & MASK;
function hashBytes(bytes) {
  const n = bytes.length;
  const aligned = n & ~7;
  let hash = (0xc70f6907n ^ ((BigInt(n) * MUL) & MASK)) & MASK;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p < aligned; p += 8) hash = ((hash ^ ((shiftMix((view.getBigUint64(p, true) * MUL) & MASK) * MUL) & MASK)) * MUL) & MASK;
  if ((n & 7) !== 0) {
    let data = 0n;
    for (let i = n - 1; i >= aligned; i--) data = (data << 8n) + BigInt(bytes[i]);
    hash = ((hash ^ data) * MUL) & MASK;
  }
  return shiftMix((shiftMix(hash) * MUL) & MASK);
}
function serializationId(entries) {
  let names = 0n;
  let crcs = 0n;
  const prefix = entries[0].nameBytes.indexOf(0x2f) + 1;
  for (const e of entries) {
    names = combine(names, hashBytes(e.nameBytes.subarray(prefix)));
    if (e.size > 0) crcs = combine(crcs, BigInt(e.crc >>> 0));
  }
  return names.toString().padStart(20, "0") + crcs.toString().padStart(20, "0");
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4], process.argv[5]);
else parent();
