/**
 * TorchScript archives (`torch.jit.save`): the TorchScript code they carry under `code/` runs when
 * the archive is loaded with `torch.jit.load` (torch 1.13's `torch.load` hands such archives to
 * it). The code files are listed, their pickles (`.debug_pkl`) and constants.pkl are scanned with
 * the rest of the archive, and the finding says plainly that loading runs that code.
 */
import type { ZipArchive } from "../torch/index.js";
import { report, type Ctx } from "./context.js";

/** Code files named in the finding (the rest are counted). */
const MAX_LISTED = 12;

/** Reports the TorchScript code an archive carries. */
export function reportTorchScript(ctx: Ctx, zip: ZipArchive): void {
  const code = zip.entries.filter((e) => e.name.startsWith(`${zip.prefix}code/`) && !e.name.endsWith("/"));
  const sources = code.filter((e) => e.name.endsWith(".py"));
  const listed = sources.slice(0, MAX_LISTED).map((e) => e.name.slice(zip.prefix.length)).join(", ");
  const more = sources.length > MAX_LISTED ? ` and ${sources.length - MAX_LISTED} more` : "";
  const bytes = sources.reduce((n, e) => n + e.size, 0);
  report(ctx, "torchscript-code",
    `a TorchScript archive: its code runs when it is loaded with torch.jit.load (${sources.length} code file(s), ${bytes} bytes: ${listed || "none"}${more}); `
    + "its pickles (constants.pkl, data.pkl, code/*.debug_pkl) were scanned", { record: `${zip.prefix}code/` });
}
