/** Run sources from bytes in memory (a browser File read whole, a test fixture): any format torchsave reads. */
import { readAnySync } from "../convert/index.js";
import { bytesSource } from "../bytes/source.js";
import type { RunSource } from "./run-types.js";

/** A {@link RunSource} over a dump already in memory (torch layouts, pickle, JSON, msgpack, safetensors, gzip). */
export function runSourceFromBytes(name: string, bytes: Uint8Array): RunSource {
  return { name, open: async () => ({ root: readAnySync(bytesSource(bytes, name)).root }) };
}
