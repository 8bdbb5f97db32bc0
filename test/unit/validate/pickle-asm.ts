/** A tiny pickle assembler for validator tests: each helper returns the bytes of one opcode. */
const enc = new TextEncoder();

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

export type Part = number[] | Uint8Array;

/** Concatenates opcode parts into one pickle. */
export function asm(...parts: Part[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const op = {
  proto: (n: number): Part => [0x80, n],
  frame: (n: number): Part => [0x95, ...u32(n), 0, 0, 0, 0],
  global: (module: string, name: string): Part => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  inst: (module: string, name: string): Part => [0x69, ...enc.encode(`${module}\n${name}\n`)],
  unicode: (s: string): Part => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  shortUnicode: (s: string): Part => {
    const b = enc.encode(s);
    return [0x8c, b.length, ...b];
  },
  shortBinstring: (s: string): Part => [0x55, s.length, ...[...s].map((c) => c.charCodeAt(0))],
  binbytes: (b: Uint8Array): Part => [0x42, ...u32(b.length), ...b],
  binint: (n: number): Part => [0x4a, ...u32(n)],
  binint1: (n: number): Part => [0x4b, n],
  binfloat: (): Part => [0x47, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
  none: [0x4e] as Part,
  true: [0x88] as Part,
  false: [0x89] as Part,
  put: (i: number): Part => [0x71, i],
  get: (i: number): Part => [0x68, i],
  memoize: [0x94] as Part,
  mark: [0x28] as Part,
  tuple: [0x74] as Part,
  tuple1: [0x85] as Part,
  tuple2: [0x86] as Part,
  tuple3: [0x87] as Part,
  emptyTuple: [0x29] as Part,
  emptyList: [0x5d] as Part,
  emptyDict: [0x7d] as Part,
  append: [0x61] as Part,
  appends: [0x65] as Part,
  setitem: [0x73] as Part,
  setitems: [0x75] as Part,
  reduce: [0x52] as Part,
  build: [0x62] as Part,
  newobj: [0x81] as Part,
  obj: [0x6f] as Part,
  stackGlobal: [0x93] as Part,
  binpersid: [0x51] as Part,
  ext1: (code: number): Part => [0x82, code],
  pop: [0x30] as Part,
  dup: [0x32] as Part,
  stop: [0x2e] as Part,
};

/** `module.name(arg)` as a protocol-2 pickle: GLOBAL, the string argument, TUPLE1, REDUCE, STOP. */
export function callPickle(module: string, name: string, arg = "x"): Uint8Array {
  return asm(op.proto(2), op.global(module, name), op.unicode(arg), op.tuple1, op.reduce, op.stop);
}

/** The same call spelled with STACK_GLOBAL from memo'd strings (protocol 4). */
export function memoStackGlobalPickle(module: string, name: string): Uint8Array {
  return asm(
    op.proto(4), op.shortUnicode(module), op.memoize, op.pop, op.shortUnicode(name), op.memoize, op.pop,
    op.get(0), op.get(1), op.stackGlobal, op.shortUnicode("arg"), op.tuple1, op.reduce, op.stop,
  );
}
