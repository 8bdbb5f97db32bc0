/**
 * `torchsave diff A B [--atol X] [--rtol X] [--top N] [--json] [--ignore-prefix] [--exact-keys]`:
 * tensors and values matched by key path and compared. Exit status 0 when equal (within the
 * tolerances), 1 when different, 2 when a file cannot be read or the command line is wrong.
 */
import { diffCheckpoints } from "../../analyze/index.js";
import type { Command } from "../command.js";
import { openInput } from "../analyze-input.js";
import { diffJson, diffText } from "../diff-format.js";
import { EXIT_FINDINGS, EXIT_OK, UsageError } from "../errors.js";

/** A non-negative number option. */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number, integer = false): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} needs a ${integer ? "whole " : ""}number ≥ 0, not ${JSON.stringify(v)}`);
  }
  return n;
}

export const diffCommand: Command = {
  name: "diff",
  summary: "compare two checkpoints tensor by tensor (maxAbs, relL2, cosine …); exit 0 equal, 1 different",
  usage: "torchsave diff A B [--atol X] [--rtol X] [--top N] [--json] [--ignore-prefix] [--exact-keys]",
  options: {
    atol: { type: "string" },
    rtol: { type: "string" },
    top: { type: "string" },
    json: { type: "boolean" },
    "ignore-prefix": { type: "boolean" },
    "exact-keys": { type: "boolean" },
  },
  minPositionals: 2,
  maxPositionals: 2,
  async run({ positionals, values, out }) {
    const [fa, fb] = positionals as [string, string];
    const atol = numberOption(values, "atol", 0);
    const rtol = numberOption(values, "rtol", 0);
    const top = numberOption(values, "top", 20, true);
    const a = openInput(fa);
    try {
      const b = openInput(fb);
      try {
        const report = await diffCheckpoints(a.root, b.root, {
          atol, rtol, ignorePrefix: values["ignore-prefix"] === true, ...(values["exact-keys"] === true ? { prefixes: [] } : {}),
        });
        if (values.json) out(diffJson(report));
        else out(diffText(report, fa, fb, top).join("\n"));
        return report.equal ? EXIT_OK : EXIT_FINDINGS;
      } finally {
        b.close();
      }
    } finally {
      a.close();
    }
  },
};
