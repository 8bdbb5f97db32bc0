/**
 * `torchsave diff A B [--atol X] [--rtol X] [--top N] [--json] [--ignore-prefix] [--exact-keys]`:
 * tensors and values matched by key path and compared. Exit status 0 when equal (within the
 * tolerances), 1 when different, 2 when a file cannot be read or the command line is wrong.
 */
import { diffCheckpoints } from "../../analyze/index.js";
import type { Command } from "../command.js";
import { openAnalysisInput } from "../analyze-input.js";
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
    atol: { type: "string", arg: "X", doc: "absolute tolerance: elements with |a−b| ≤ atol + rtol·|b| count as equal (default 0: bit-identical values only)." },
    rtol: { type: "string", arg: "X", doc: "relative tolerance, as torch.allclose's (default 0)." },
    top: { type: "string", arg: "N", doc: "rows of the table of changed tensors, largest relL2 first (default 20)." },
    json: { type: "boolean", doc: "print one JSON object {equal, onlyA, onlyB, prefix, changed, values} instead of the table." },
    "ignore-prefix": { type: "boolean", doc: "a wrapper prefix (module., model., _orig_mod.) that differs between A and B alone does not make them different." },
    "exact-keys": { type: "boolean", doc: "match keys exactly: no prefix stripping (module., model., _orig_mod.)." },
  },
  examples: [
    "torchsave diff before.pt after.pt                     # table of changed tensors by relL2; exit 1 when anything differs",
    "torchsave diff model.pt model.safetensors --rtol 1e-3 # CI: did the conversion keep the weights?",
    "torchsave diff ddp.pt plain.pt --ignore-prefix --json",
  ],
  minPositionals: 2,
  maxPositionals: 2,
  async run({ positionals, values, out }) {
    const [fa, fb] = positionals as [string, string];
    const atol = numberOption(values, "atol", 0);
    const rtol = numberOption(values, "rtol", 0);
    const top = numberOption(values, "top", 20, true);
    const a = await openAnalysisInput(fa);
    try {
      const b = await openAnalysisInput(fb);
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
