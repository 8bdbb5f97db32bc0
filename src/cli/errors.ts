/** How the CLI reports failures: one line on stderr, never a stack trace, and a fixed exit status. */
import { formatKeyPath, isTorchsaveError } from "../errors.js";

export const EXIT_OK = 0;
/** validate: findings at or above the failing severity. */
export const EXIT_FINDINGS = 1;
/** Usage errors and unreadable input. */
export const EXIT_USAGE = 2;

/** Thrown for bad command lines; printed as-is with exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** `torchsave: truncated at byte 1234 in archive/data.pkl of model.pt: expected 4 bytes for BININT, 2 remain` */
export function formatCliError(e: unknown): string {
  if (e instanceof UsageError) return `torchsave: ${e.message} (see torchsave --help)`;
  if (isTorchsaveError(e)) {
    const where: string[] = [];
    if (e.offset !== undefined) where.push(`at byte ${e.offset}`);
    if (e.entry !== undefined) where.push(`in ${e.entry}`);
    if (e.path !== undefined && e.path.length > 0) where.push(`at ${formatKeyPath(e.path)}`);
    if (e.opcode !== undefined) where.push(`(opcode ${e.opcode})`);
    const file = e.file !== undefined ? `${e.file}: ` : "";
    return `torchsave: ${file}${e.code}${where.length ? ` ${where.join(" ")}` : ""}: ${e.reason}`;
  }
  const err = e as { code?: string; message?: string };
  if (err?.code === "EPIPE") return "";
  return `torchsave: internal error: ${err?.message ?? String(e)} (please report this with the file that caused it)`;
}
