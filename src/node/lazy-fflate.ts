/**
 * The part of fflate the reader uses, loaded on first call instead of at import. The
 * `torchsave/node/read` build resolves the core's `import ... from "fflate"` to this file (an alias
 * in tsup.config.ts): loading fflate costs about 15–20 ms on Node 20 (module resolution, compiling
 * 90 KB, building its Huffman tables, `worker_threads`), and most checkpoints never need it (torch
 * stores records uncompressed). A name missing here fails that build, never a read at run time.
 */
import { createRequire } from "node:module";
import type * as Fflate from "fflate";

type FflateModule = typeof Fflate;

// Made on each call, not at import (createRequire at import costs ~0.4 ms); Node caches the
// module itself after the first call, so later calls are cheap next to inflating anything.
const fflate = (): FflateModule => createRequire(import.meta.url)("fflate") as FflateModule;

/** fflate's `inflateSync`, loading fflate on first use. */
export function inflateSync(data: Uint8Array, opts?: Fflate.InflateOptions): Uint8Array {
  return fflate().inflateSync(data, opts);
}

/** fflate's `Inflate` (call it with `new`); the instance is fflate's own. */
export const Inflate = function Inflate(...args: ConstructorParameters<FflateModule["Inflate"]>): Fflate.Inflate {
  return new (fflate().Inflate)(...args);
} as unknown as FflateModule["Inflate"];

/** fflate's `Gunzip` (call it with `new`); the instance is fflate's own. */
export const Gunzip = function Gunzip(...args: ConstructorParameters<FflateModule["Gunzip"]>): Fflate.Gunzip {
  return new (fflate().Gunzip)(...args);
} as unknown as FflateModule["Gunzip"];
