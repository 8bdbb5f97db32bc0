/**
 * The zip directory's name index, as miniz looks names up: exact bytes first, then ASCII case
 * folded; the first entry in directory order wins. Names are hashed in place (no string per
 * lookup) into two open-addressing tables with a random per-archive seed, rebuilt with a new seed
 * when probe runs grow long (a defence against crafted names that all collide).
 */
import { decodeLatin1 } from "../../bytes/text.js";

/** The key a name is looked up by: its bytes as latin-1 (a bijection, so equal keys mean equal bytes). */
export function nameKey(bytes: Uint8Array): string {
  return decodeLatin1(bytes);
}

// Bits of `nameFlagsAt`'s answer.
export const NAME_NON_ASCII = 1;
export const NAME_UPPER = 2;

/** Whether the name `bytes[start..end)` has non-ASCII bytes (NAME_NON_ASCII) or ASCII capitals (NAME_UPPER). */
export function nameFlagsAt(bytes: Uint8Array, start: number, end: number): number {
  let flags = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) flags |= NAME_NON_ASCII;
    else if (b >= 0x41 && b <= 0x5a) flags |= NAME_UPPER;
  }
  return flags;
}

/** ASCII capital to small letter, any other byte unchanged (miniz's MZ_TOLOWER). */
const lower = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/** FNV-1a over `bytes[start..end)` (ASCII-folded when `fold`), then a murmur finalizer so every bit reaches the slot. */
function hashRange(seed: number, bytes: Uint8Array, start: number, end: number, fold: boolean): number {
  let h = seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (fold ? lower(bytes[i]!) : bytes[i]!), 0x01000193);
  return finish(h);
}

/** {@link hashRange} of `prefix` followed by the latin-1 key `rest`, without joining them. */
function hashKey(seed: number, prefix: Uint8Array, rest: string, fold: boolean): number {
  let h = seed;
  for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ (fold ? lower(prefix[i]!) : prefix[i]!), 0x01000193);
  for (let i = 0; i < rest.length; i++) h = Math.imul(h ^ (fold ? lower(rest.charCodeAt(i)) : rest.charCodeAt(i)), 0x01000193);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

/** A probe sequence this long means the seed is being played against; the tables are rebuilt with a new one. */
const PROBE_LIMIT = 128;
const MAX_RESEEDS = 8;

/** An open-addressing table: entry index + 1 per slot (0 is empty) and the hash stored there. */
interface NameTable {
  readonly slots: Int32Array;
  readonly hashes: Int32Array;
}

/**
 * First entry per name, as typed tables with a random seed per archive (no strings, no Map):
 * `exact` by name bytes, `upper` by folded bytes for the names with ASCII capitals only. A name
 * without capitals is its own fold, so `exact` answers folded lookups for those. Names are
 * compared in place in the central directory (`cd`, at `starts`/`lengths` per entry).
 */
interface NameIndex {
  readonly cd: Uint8Array;
  readonly starts: Int32Array;
  readonly lengths: Uint16Array;
  readonly mask: number;
  seed: number;
  exact: NameTable;
  upper: NameTable | undefined;
  /** Longest probe sequence seen. */
  longest: number;
}

export function createNameIndex(cd: Uint8Array, capacity: number): NameIndex {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return {
    cd, starts: new Int32Array(capacity), lengths: new Uint16Array(capacity),
    mask: size - 1, seed: randomSeed(), exact: newTable(size), upper: undefined, longest: 0,
  };
}

function newTable(size: number): NameTable {
  return { slots: new Int32Array(size), hashes: new Int32Array(size) };
}

function randomSeed(): number {
  return (Math.random() * 0x1_0000_0000) | 0;
}

/** Whether names `a` and `b` (entry indexes) are equal, each folded when asked. */
function sameNames(index: NameIndex, a: number, b: number, foldA: boolean, foldB: boolean): boolean {
  const n = index.lengths[a]!;
  if (n !== index.lengths[b]) return false;
  const cd = index.cd;
  const x = index.starts[a]!, y = index.starts[b]!;
  if (!foldA && !foldB) {
    for (let i = 0; i < n; i++) if (cd[x + i] !== cd[y + i]) return false;
    return true;
  }
  for (let i = 0; i < n; i++) {
    if ((foldA ? lower(cd[x + i]!) : cd[x + i]) !== (foldB ? lower(cd[y + i]!) : cd[y + i])) return false;
  }
  return true;
}

function hashName(index: NameIndex, i: number, fold: boolean): number {
  const start = index.starts[i]!;
  return hashRange(index.seed, index.cd, start, start + index.lengths[i]!, fold);
}

/**
 * Looks entry `query`'s name (folded when `foldQuery`; `hash` is its hash) up in `table`,
 * comparing entry names folded when `foldEntry`: the matching entry's index, or -1 - the empty
 * slot where it would go.
 */
function probeName(index: NameIndex, table: NameTable, hash: number, query: number, foldEntry: boolean, foldQuery: boolean): number {
  const { slots, hashes } = table;
  let slot = hash & index.mask;
  for (let steps = 0; ; steps++) {
    const at = slots[slot]!;
    if (at === 0) {
      if (steps > index.longest) index.longest = steps;
      return -1 - slot;
    }
    if (hashes[slot] === hash && sameNames(index, at - 1, query, foldEntry, foldQuery)) return at - 1;
    slot = (slot + 1) & index.mask;
  }
}

/** As {@link probeName}, for the name `prefix` + latin-1 `rest` (folded on both sides, or on neither). */
function probeKey(index: NameIndex, table: NameTable, hash: number, prefix: Uint8Array, rest: string, foldEntry: boolean, foldQuery: boolean): number {
  const { slots, hashes } = table;
  const { cd, starts, lengths } = index;
  const length = prefix.length + rest.length;
  let slot = hash & index.mask;
  for (;;) {
    const at = slots[slot]!;
    if (at === 0) return -1 - slot;
    if (hashes[slot] === hash && lengths[at - 1] === length) {
      const base = starts[at - 1]!;
      let same = true;
      for (let i = 0; same && i < length; i++) {
        const q = i < prefix.length ? prefix[i]! : rest.charCodeAt(i - prefix.length);
        same = (foldEntry ? lower(cd[base + i]!) : cd[base + i]) === (foldQuery ? lower(q) : q);
      }
      if (same) return at - 1;
    }
    slot = (slot + 1) & index.mask;
  }
}

function put(table: NameTable, probed: number, i: number, hash: number): void {
  const slot = -1 - probed;
  table.slots[slot] = i + 1;
  table.hashes[slot] = hash;
}

/**
 * Indexes entry `i`, whose name is at `start` in the directory (entries before it are indexed),
 * and says how its name clashes with theirs: "duplicate" (same bytes), "case" (same up to ASCII
 * case) or undefined.
 */
export function indexName(index: NameIndex, i: number, start: number, length: number, upperName: boolean): "duplicate" | "case" | undefined {
  index.starts[i] = start;
  index.lengths[i] = length;
  const clash = addName(index, i, upperName);
  if (index.longest > PROBE_LIMIT) reseed(index, i);
  return clash;
}

function addName(index: NameIndex, i: number, upperName: boolean): "duplicate" | "case" | undefined {
  const hash = hashName(index, i, false);
  const exact = probeName(index, index.exact, hash, i, false, false);
  if (exact >= 0) return "duplicate";
  put(index.exact, exact, i, hash);
  if (upperName) {
    // An earlier entry folds the same way when its name is the fold itself, or folds to it.
    const folded = hashName(index, i, true);
    let clash = probeName(index, index.exact, folded, i, false, true) >= 0;
    const upper = (index.upper ??= newTable(index.mask + 1));
    const same = probeName(index, upper, folded, i, true, true);
    if (same >= 0) clash = true;
    else put(upper, same, i, folded);
    return clash ? "case" : undefined;
  }
  return index.upper !== undefined && probeName(index, index.upper, hash, i, true, false) >= 0 ? "case" : undefined;
}

/** Rebuilds both tables over entries 0..last with a fresh seed (hash flooding defence). */
function reseed(index: NameIndex, last: number): void {
  for (let attempt = 0; attempt < MAX_RESEEDS && index.longest > PROBE_LIMIT; attempt++) {
    index.seed = randomSeed();
    index.longest = 0;
    index.exact = newTable(index.mask + 1);
    index.upper = undefined;
    for (let i = 0; i <= last; i++) {
      const start = index.starts[i]!;
      addName(index, i, (nameFlagsAt(index.cd, start, start + index.lengths[i]!) & NAME_UPPER) !== 0);
    }
  }
}

/** The first entry (directory order) named `prefix` + `rest`, else the first whose name folds like it: its row, or -1. */
export function findName(index: NameIndex, prefix: Uint8Array, rest: string): number {
  const exact = probeKey(index, index.exact, hashKey(index.seed, prefix, rest, false), prefix, rest, false, false);
  if (exact >= 0) return exact;
  const folded = hashKey(index.seed, prefix, rest, true);
  const a = probeKey(index, index.exact, folded, prefix, rest, false, true);
  const b = index.upper === undefined ? -1 : probeKey(index, index.upper, folded, prefix, rest, true, true);
  if (a < 0 && b < 0) return -1;
  return a < 0 ? b : b < 0 ? a : Math.min(a, b);
}
