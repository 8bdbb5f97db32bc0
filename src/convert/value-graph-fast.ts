/**
 * The common case of `graphFacts` made cheap (issue #16: a checkpoint of 10,000 parameters and
 * their AdamW state is 100,000 objects): one walk that pushes a container's children straight onto
 * its stack (no array of children per dict), and storage keys that are already unique (torch
 * numbers its storages "0", "1", ...) checked with a bitmap and kept where they are, with no map
 * of 40,000 entries. Anything else takes the general code in `value-graph.ts`, which tests compare
 * this with.
 */
import { ConvertError } from "../errors.js";
import type { PyDict } from "../pickle/value.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { isStorage } from "../torch/index.js";

/** What the walk gathers. */
export interface EncodedWalk {
  /** Every tracked object met (storages among them). */
  readonly seen: Set<object>;
  /** Objects met more than once. */
  readonly shared: Set<object>;
  readonly storages: Storage[];
  readonly tensors: Tensor[];
}

/**
 * Walks what the lossless formats write under `root` when no tensor keeps an origin: the walk of
 * `value-graph.ts` with `encodedChildren` and no origin left out, in the same order. Returns
 * undefined at the first object this walk does not take (`hostChildren` gives undefined for it:
 * a tensor with an origin, a numpy array); `hostChildren` gives the children of the other host
 * objects (tensors, storages) and of pickled objects.
 * @throws ConvertError `limit-exceeded` past `maxNodes` tracked objects.
 */
export function walkEncoded(root: TorchValue, maxNodes: number, hostChildren: (v: object) => TorchValue[] | undefined): EncodedWalk | undefined {
  const seen = new Set<object>();
  const shared = new Set<object>();
  const storages: Storage[] = [];
  const tensors: Tensor[] = [];
  const stack: TorchValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    const kind = (v as { kind?: unknown }).kind;
    // Value-like kinds: identity not kept, nothing under them.
    if (kind === "float" || kind === "complex" || kind === "global" || kind === "ext") continue;
    if (seen.has(v)) {
      shared.add(v);
      continue;
    }
    seen.add(v);
    if (seen.size > maxNodes) throw new ConvertError("limit-exceeded", `the value has more than ${maxNodes} objects`);
    switch (kind) {
      case "list":
      case "tuple":
      case "set":
      case "frozenset": {
        const items = (v as { items: TorchValue[] }).items;
        for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
        continue;
      }
      case "dict": {
        const d = v as PyDict<TorchHost>;
        if (d.state !== undefined) stack.push(d.state);
        const entries = d.entries;
        for (let i = entries.length - 1; i >= 0; i--) {
          const e = entries[i]!;
          stack.push(e[1], e[0]);
        }
        if (d.type !== undefined) stack.push(d.type);
        continue;
      }
      case "bytes":
      case "bytearray":
      case "buffer":
        continue;
      case "storage":
        storages.push(v as Storage);
        break;
      case "tensor":
        tensors.push(v as Tensor);
        break;
      default:
        break;
    }
    const cs = hostChildren(v);
    if (cs === undefined) return undefined;
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i]!);
  }
  return { seen, shared, storages, tensors };
}

/**
 * The storages' own keys as their unique keys, when they are distinct decimal numbers (torch's
 * "0", "1", ...: checked with a bitmap, no set of strings), else undefined. `reached` holds every
 * storage of the table (and may hold other objects).
 */
export function ownKeys(storages: readonly Storage[], reached: ReadonlySet<object>): ReadonlyMap<Storage, string> | undefined {
  const limit = Math.max(1024, storages.length * 4);
  const used = new Uint8Array(limit);
  for (const s of storages) {
    const k: unknown = s.key;
    if (typeof k !== "string") return undefined;
    const n = k.length;
    if (n === 0 || n > 9 || (n > 1 && k.charCodeAt(0) === 0x30)) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = k.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return undefined;
      v = v * 10 + d;
    }
    if (v >= limit || used[v] === 1) return undefined;
    used[v] = 1;
  }
  return new OwnKeys(storages, reached);
}

/** A storage's own key for every storage of the table, in table order; see {@link ownKeys}. */
class OwnKeys implements ReadonlyMap<Storage, string> {
  constructor(private readonly storages: readonly Storage[], private readonly reached: ReadonlySet<object>) {}

  get size(): number {
    return this.storages.length;
  }

  has(s: Storage): boolean {
    return isStorage(s) && this.reached.has(s);
  }

  get(s: Storage): string | undefined {
    return this.has(s) ? s.key : undefined;
  }

  forEach(f: (key: string, s: Storage, map: ReadonlyMap<Storage, string>) => void, self?: unknown): void {
    for (const s of this.storages) f.call(self, s.key, s, this);
  }

  *entries(): MapIterator<[Storage, string]> {
    for (const s of this.storages) yield [s, s.key];
  }

  *keys(): MapIterator<Storage> {
    yield* this.storages;
  }

  *values(): MapIterator<string> {
    for (const s of this.storages) yield s.key;
  }

  [Symbol.iterator](): MapIterator<[Storage, string]> {
    return this.entries();
  }
}
