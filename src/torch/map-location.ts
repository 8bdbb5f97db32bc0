/**
 * Rewriting the devices a checkpoint's storages were saved on, like `torch.load`'s
 * `map_location`, but once, in the file: a GPU checkpoint rewritten with `mapLocation(root, "cpu")`
 * and saved again loads on a CPU-only machine with a plain `torch.load`.
 */
import { CheckpointError } from "../errors.js";
import type { Storage, Tensor, TorchValue } from "./model.js";
import { isStorage, isTensor } from "./model.js";
import { visitGraph } from "./visit.js";

/**
 * Where storages go: one device for all (`"cpu"`), a table from saved location to new location
 * (`{"cuda:1": "cuda:0"}`; locations not in it stay), or a function of the saved location.
 */
export type LocationMap = string | Readonly<Record<string, string>> | ((location: string) => string);

/** What {@link mapLocation} changed. */
export interface MapLocationResult {
  /** The same root, changed in place. */
  readonly value: TorchValue;
  /** Storages whose location changed. */
  readonly storages: number;
  /** Tensors whose device changed. */
  readonly tensors: number;
}

/**
 * Rewrites, in place, the location of every storage reachable from `root` (inside containers,
 * inert objects, parameters, quantized and sparse tensors, kept rebuild calls) and the `device` of
 * every tensor that has a storage. Storage-less tensors (meta, wrapper subclasses) keep their
 * device, as `torch.load(map_location=...)` leaves them. Table keys are compared exactly
 * ("cuda" does not match "cuda:0").
 * @throws CheckpointError `invalid-argument` when the map is not a string, table or function, or
 *   yields something that is not a non-empty printable-ASCII device string.
 */
export function mapLocation(root: TorchValue, map: LocationMap): MapLocationResult {
  const target = resolver(map);
  let storages = 0;
  let tensors = 0;
  // Each storage's location before mapping, so tensors can be matched to it after the walk.
  const original = new Map<Storage, string>();
  const found: Tensor[] = [];
  visitGraph(root, (v) => {
    if (isStorage(v)) {
      if (original.has(v)) return;
      original.set(v, v.location);
      const next = checkDevice(target(v.location), v.location);
      if (next !== v.location) {
        v.location = next;
        storages++;
      }
    } else if (isTensor(v)) {
      found.push(v);
    }
  });
  for (const t of found) {
    const s = t.storage;
    // A tensor whose device differs from its storage's (an xla tensor saved through a CPU copy)
    // keeps it: torch's map_location moves storages, not those.
    if (s === undefined || t.device !== original.get(s) || t.device === s.location) continue;
    t.device = s.location;
    tensors++;
  }
  return { value: root, storages, tensors };
}

function resolver(map: LocationMap): (location: string) => string {
  if (typeof map === "string") {
    checkDevice(map, "");
    return () => map;
  }
  if (typeof map === "function") return map;
  if (typeof map === "object" && map !== null) {
    const table = new Map<string, string>();
    for (const [from, to] of Object.entries(map)) table.set(from, checkDevice(to, from));
    return (location) => table.get(location) ?? location;
  }
  throw new CheckpointError("invalid-argument", "map_location must be a device string, a table of devices, or a function");
}

function checkDevice(device: unknown, from: string): string {
  if (typeof device !== "string" || !/^[\x21-\x7e]+$/.test(device)) {
    throw new CheckpointError("invalid-argument", `location ${JSON.stringify(from)} maps to ${JSON.stringify(device)}, which is not a device string`);
  }
  return device;
}
