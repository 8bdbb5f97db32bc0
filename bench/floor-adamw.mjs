// The floor for issue #4's AdamW target: how fast can ANY JavaScript reader that builds the same
// objects as torchsave (a tensor, a storage with its location, shape and stride arrays per tensor,
// dicts with [key, value] entries, a walk with key paths) read bench/out/adamw-20k.pt?
//
// This is NOT a reader. It knows the one file it reads: it handles only the 24 opcodes that
// file uses, trusts every length and index, keeps only the memo entries the pickle fetches, checks
// nothing and reports nothing. Whatever it costs, a real reader costs at least that.
//   node bench/floor-adamw.mjs [file]      (bench/read.mjs times it beside torchsave and torch)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "out", "adamw-20k.pt");
const buf = readFileSync(file);
const b = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
const view = new DataView(b.buffer, b.byteOffset, b.length);
const u16 = (p) => b[p] | (b[p + 1] << 8);
const u32 = (p) => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
const u64 = (p) => Number(view.getBigUint64(p, true));

/** The central directory as columns; `numbered[k]` is the row of "<archive>/data/<k>". */
function directory() {
  let eocd = b.length - 22;
  while (u32(eocd) !== 0x06054b50) eocd--;
  let count = u16(eocd + 10);
  let at = u32(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) {
    const zip64 = u64(eocd - 20 + 8);
    count = u64(zip64 + 32);
    at = u64(zip64 + 48);
  }
  const local = new Float64Array(count);
  const sizes = new Float64Array(count);
  const numbered = new Int32Array(count).fill(-1);
  let prefix = 0;
  let pkl = -1;
  for (let i = 0; i < count; i++) {
    const nameLength = u16(at + 28);
    const name = at + 46;
    sizes[i] = u32(at + 20);
    local[i] = u32(at + 42);
    if (i === 0) while (b[name + prefix++] !== 0x2f);
    const rest = name + prefix;
    if (b[rest] === 0x64 && b[rest + 4] === 0x2f) {
      let k = 0;
      for (let j = rest + 5; j < name + nameLength; j++) k = k * 10 + b[j] - 48;
      if (k < count) numbered[k] = i;
    } else if (b[rest] === 0x64 && b[rest + 5] === 0x70) pkl = i;
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
  }
  const dataAt = (i) => local[i] + 30 + u16(local[i] + 26) + u16(local[i] + 28);
  return { sizes, numbered, dataAt, pkl };
}

/** Memo indexes the pickle fetches (BINGET, LONG_BINGET): only those are kept. */
function fetchedMemo(start, end) {
  const fetched = new Uint8Array(end - start);
  for (let r = start; r < end; ) {
    switch (b[r++]) {
      case 0x68: fetched[b[r]] = 1; r++; break;
      case 0x6a: fetched[u32(r)] = 1; r += 4; break;
      case 0x80: case 0x71: case 0x4b: r++; break;
      case 0x72: r += 4; break;
      case 0x4d: r += 2; break;
      case 0x47: r += 8; break;
      case 0x58: r += 4 + u32(r); break;
      case 0x63: while (b[r++] !== 10); while (b[r++] !== 10); break;
      case 0x2e: r = end; break;
      default: break;
    }
  }
  return fetched;
}

const latin1 = (at, n) => {
  let s = "";
  for (let k = 0; k < n; k++) s += String.fromCharCode(b[at + k]);
  return s;
};

function decode(dir) {
  const source = { bytes: b };
  const start = dir.dataAt(dir.pkl);
  const end = start + dir.sizes[dir.pkl];
  const fetched = fetchedMemo(start, end);
  const stack = [];
  const marks = [];
  const memo = [];
  const top = () => stack[stack.length - 1];
  const storage = (pid) => {
    const key = pid[2];
    let k = 0;
    for (let c = 0; c < key.length; c++) k = k * 10 + key.charCodeAt(c) - 48;
    const row = dir.numbered[k];
    const offset = dir.dataAt(row);
    const from = { source, offset, length: dir.sizes[row], compression: "none", record: key };
    return { kind: "storage", key, storageType: pid[1], dtype: "float32", location: pid[3], declaredNumel: pid[4], byteLength: pid[4] * 4, byteOrder: "little", from };
  };
  const reduce = (f, args) => {
    if (f.name === "OrderedDict") return { kind: "dict", entries: [], type: f };
    const [s, offset, shape, stride, requiresGrad] = args;
    return { kind: "tensor", dtype: s.dtype, shape, stride, storageOffset: offset, storage: s, device: s.location, requiresGrad, isParameter: false, layout: "strided" };
  };
  let q = start;
  for (;;) {
    const op = b[q++];
    switch (op) {
      case 0x80: q++; break;
      case 0x7d: stack.push({ kind: "dict", entries: [] }); break;
      case 0x5d: stack.push({ kind: "list", items: [] }); break;
      case 0x71: if (fetched[b[q]]) memo[b[q]] = top(); q++; break;
      case 0x72: if (fetched[u32(q)]) memo[u32(q)] = top(); q += 4; break;
      case 0x68: stack.push(memo[b[q]]); q++; break;
      case 0x6a: stack.push(memo[u32(q)]); q += 4; break;
      case 0x28: marks.push(stack.length); break;
      case 0x58: { const n = u32(q); stack.push(latin1(q + 4, n)); q += 4 + n; break; }
      case 0x63: { let a = q; while (b[a] !== 10) a++; let c = a + 1; while (b[c] !== 10) c++; stack.push({ kind: "global", module: latin1(q, a - q), name: latin1(a + 1, c - a - 1) }); q = c + 1; break; }
      case 0x4b: stack.push(b[q++]); break;
      case 0x4d: stack.push(u16(q)); q += 2; break;
      case 0x74: stack.push(stack.splice(marks.pop())); break;
      case 0x85: stack[stack.length - 1] = [top()]; break;
      case 0x86: { const y = stack.pop(); stack[stack.length - 1] = [top(), y]; break; }
      case 0x29: stack.push([]); break;
      case 0x51: stack[stack.length - 1] = storage(top()); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break;
      case 0x47: stack.push(view.getFloat64(q)); q += 8; break;
      case 0x52: { const args = stack.pop(); stack[stack.length - 1] = reduce(top(), args); break; }
      case 0x75: { const m = marks.pop(); const d = stack[m - 1]; for (let k = m; k < stack.length; k += 2) d.entries.push([stack[k], stack[k + 1]]); stack.length = m; break; }
      case 0x65: { const m = marks.pop(); const l = stack[m - 1]; for (let k = m; k < stack.length; k++) l.items.push(stack[k]); stack.length = m; break; }
      case 0x61: { const v = stack.pop(); top().items.push(v); break; }
      case 0x2e: return stack.pop();
      default: throw new Error(`opcode 0x${op.toString(16)} at ${q - 1}: not in the file this floor knows`);
    }
  }
}

/** Every tensor with its key path, then each tensor's bytes as a view (what the bench asks of torchsave). */
function walk(root) {
  const out = [];
  const visit = (v, path) => {
    if (v === null || typeof v !== "object") return;
    if (v.kind === "tensor") out.push({ path, tensor: v });
    else if (v.kind === "dict") for (const [k, x] of v.entries) visit(x, [...path, k]);
    else if (v.kind === "list") v.items.forEach((x, i) => visit(x, [...path, i]));
  };
  visit(root, []);
  let n = 0;
  for (const { tensor } of out) n += b.subarray(tensor.storage.from.offset, tensor.storage.from.offset + tensor.storage.byteLength).length;
  return n;
}

if (walk(decode(directory())) === 0) process.exit(1);
