/**
 * Converters read storage bytes synchronously. A checkpoint opened from an asynchronous source (a
 * Blob, a fetch-backed source) has its storages loaded on demand; load them all first with this.
 */
import type { ConvertInput } from "./input.js";
import { rootOf } from "./input.js";
import { loadStorage } from "../torch/index.js";
import { graphFacts } from "./value-graph.js";

/**
 * Loads the bytes of every storage the value reaches (each once, one at a time), so the `toX`
 * converters can run on a checkpoint from `openCheckpoint(blob)`. Resolves to the bytes loaded.
 * @throws CheckpointError from `loadStorage` (`truncated`, `io`, `bad-archive`).
 */
export async function loadStorages(input: ConvertInput): Promise<number> {
  let total = 0;
  for (const s of graphFacts(rootOf(input)).storages) {
    if (s.view !== undefined) continue;
    total += (await loadStorage(s)).length;
  }
  return total;
}
