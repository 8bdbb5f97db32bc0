/**
 * Structural equality for pickle values, including the shape of the sharing graph: two values are
 * equal when their contents match and there is a one-to-one correspondence between their shared
 * objects (an object referenced twice on one side is one object referenced twice on the other, and
 * cycles line up). Iterative, so deep and cyclic values are fine.
 *
 * Identity is compared only for values the pickle memo preserves: non-empty tuples, lists, dicts,
 * sets, frozensets, bytes, bytearrays, complex numbers and inert objects. Floats, globals,
 * persistent ids, extensions and out-of-band buffers are compared by value (pickle writes each
 * occurrence again); so are empty tuples (CPython never memoizes `()`).
 */
import { pyKind } from "../../src/pickle/value.js";

export interface PyEqualOptions {
  /** Compare NaN payload bits (`nanBits`). Default true; protocol 0 writes NaN as text and loses them. */
  nanBits?: boolean;
  /** Require the same sharing graph. Default true. */
  identity?: boolean;
  /**
   * Compare bytes of 0 or 1 byte by value only. CPython keeps a single object for each such value,
   * so after a trip through Python equal ones come back shared. Default false.
   */
  cpythonSingletons?: boolean;
}

const IDENTITY_KINDS = new Set(["tuple", "list", "dict", "set", "frozenset", "bytes", "bytearray", "complex", "object"]);

type Pair = [unknown, unknown, string];

/** Undefined when `a` and `b` are equal, else a description of the first difference with its path. */
export function pyDiff(a: unknown, b: unknown, options: PyEqualOptions = {}): string | undefined {
  const nanBits = options.nanBits ?? true;
  const identity = options.identity ?? true;
  const singletons = options.cpythonSingletons ?? false;
  const ab = new Map<object, object>();
  const ba = new Map<object, object>();
  const work: Pair[] = [[a, b, "$"]];
  while (work.length > 0) {
    const [x, y, path] = work.pop()!;
    if (typeof x !== typeof y) return `${path}: ${describe(x)} vs ${describe(y)}`;
    if (typeof x !== "object" || x === null || y === null) {
      if (!Object.is(x, y)) return `${path}: ${describe(x)} vs ${describe(y)}`;
      continue;
    }
    const ox = x as Record<string, unknown>;
    const oy = y as Record<string, unknown>;
    const kx = pyKind(ox);
    const ky = pyKind(oy);
    if (kx !== ky) return `${path}: kind ${String(kx)} vs ${String(ky)}`;
    if (kx === undefined) {
      if (ox !== oy) return `${path}: different host values`;
      continue;
    }
    const tracked = identity && IDENTITY_KINDS.has(kx) && !(kx === "tuple" && (ox.items as unknown[]).length === 0) &&
      !(singletons && kx === "bytes" && (ox.data as Uint8Array).length <= 1);
    if (tracked) {
      const seenX = ab.get(ox);
      const seenY = ba.get(oy);
      if (seenX !== undefined || seenY !== undefined) {
        if (seenX !== oy || seenY !== ox) return `${path}: sharing differs (one side reuses an object the other does not)`;
        continue;
      }
      ab.set(ox, oy);
      ba.set(oy, ox);
    }
    const push = (u: unknown, v: unknown, p: string): void => {
      work.push([u, v, p]);
    };
    switch (kx) {
      case "float": {
        if (!Object.is(ox.value, oy.value)) return `${path}: float ${String(ox.value)} vs ${String(oy.value)}`;
        if (nanBits && ox.nanBits !== oy.nanBits) return `${path}: NaN bits ${String(ox.nanBits)} vs ${String(oy.nanBits)}`;
        break;
      }
      case "complex":
        if (!Object.is(ox.real, oy.real) || !Object.is(ox.imag, oy.imag)) return `${path}: complex differs`;
        break;
      case "bytes":
      case "bytearray":
      case "buffer": {
        const dx = ox.data as Uint8Array;
        const dy = oy.data as Uint8Array;
        if (!(dx instanceof Uint8Array) || !(dy instanceof Uint8Array)) return `${path}: data is not a Uint8Array`;
        if (dx.length !== dy.length || dx.some((v, i) => v !== dy[i])) return `${path}: ${kx} data differs`;
        if (kx === "buffer" && ox.readonly !== oy.readonly) return `${path}: readonly ${String(ox.readonly)} vs ${String(oy.readonly)}`;
        break;
      }
      case "tuple":
      case "list":
      case "set":
      case "frozenset": {
        const ix = ox.items as unknown[];
        const iy = oy.items as unknown[];
        if (ix.length !== iy.length) return `${path}: ${kx} of ${ix.length} vs ${iy.length} items`;
        for (let i = ix.length - 1; i >= 0; i--) push(ix[i], iy[i], `${path}[${i}]`);
        break;
      }
      case "dict": {
        const ex = ox.entries as [unknown, unknown][];
        const ey = oy.entries as [unknown, unknown][];
        if (ex.length !== ey.length) return `${path}: dict of ${ex.length} vs ${ey.length} entries`;
        if ((ox.type === undefined) !== (oy.type === undefined)) return `${path}: dict type present on one side only`;
        if (ox.type !== undefined) push(ox.type, oy.type, `${path}.type`);
        if (("state" in ox && ox.state !== undefined) !== ("state" in oy && oy.state !== undefined)) {
          return `${path}: dict state present on one side only`;
        }
        if (ox.state !== undefined) push(ox.state, oy.state, `${path}.state`);
        for (let i = ex.length - 1; i >= 0; i--) {
          push(ex[i]![1], ey[i]![1], `${path}{${i}}.value`);
          push(ex[i]![0], ey[i]![0], `${path}{${i}}.key`);
        }
        break;
      }
      case "global":
        if (ox.module !== oy.module || ox.name !== oy.name) {
          return `${path}: global ${String(ox.module)}.${String(ox.name)} vs ${String(oy.module)}.${String(oy.name)}`;
        }
        break;
      case "ext":
        if (ox.code !== oy.code) return `${path}: extension ${String(ox.code)} vs ${String(oy.code)}`;
        break;
      case "persid":
        if (ox.binary !== oy.binary) return `${path}: persistent id binary ${String(ox.binary)} vs ${String(oy.binary)}`;
        push(ox.pid, oy.pid, `${path}.pid`);
        break;
      case "object": {
        if (ox.via !== oy.via) return `${path}: object via ${String(ox.via)} vs ${String(oy.via)}`;
        for (const field of ["callable", "args", "kwargs", "state"] as const) {
          if ((ox[field] === undefined) !== (oy[field] === undefined)) return `${path}.${field}: present on one side only`;
          if (ox[field] !== undefined) push(ox[field], oy[field], `${path}.${field}`);
        }
        for (const field of ["listItems", "setItems"] as const) {
          const lx = ox[field] as unknown[] | undefined;
          const ly = oy[field] as unknown[] | undefined;
          if ((lx === undefined) !== (ly === undefined)) return `${path}.${field}: present on one side only`;
          if (lx === undefined || ly === undefined) continue;
          if (lx.length !== ly.length) return `${path}.${field}: ${lx.length} vs ${ly.length} items`;
          for (let i = lx.length - 1; i >= 0; i--) push(lx[i], ly[i], `${path}.${field}[${i}]`);
        }
        const dx = ox.dictItems as [unknown, unknown][] | undefined;
        const dy = oy.dictItems as [unknown, unknown][] | undefined;
        if ((dx === undefined) !== (dy === undefined)) return `${path}.dictItems: present on one side only`;
        if (dx !== undefined && dy !== undefined) {
          if (dx.length !== dy.length) return `${path}.dictItems: ${dx.length} vs ${dy.length} entries`;
          for (let i = dx.length - 1; i >= 0; i--) {
            push(dx[i]![1], dy[i]![1], `${path}.dictItems{${i}}.value`);
            push(dx[i]![0], dy[i]![0], `${path}.dictItems{${i}}.key`);
          }
        }
        break;
      }
      default:
        return `${path}: unknown kind ${kx}`;
    }
  }
  return undefined;
}

/** True when {@link pyDiff} finds no difference. */
export const pyEqual = (a: unknown, b: unknown, options?: PyEqualOptions): boolean => pyDiff(a, b, options) === undefined;

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "object" && v !== null) return pyKind(v) ?? "host object";
  return String(v);
}
