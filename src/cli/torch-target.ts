/** `--torch TARGET`, shared by `validate` and `convert --sanitize`. */
import { DEFAULT_TORCH_TARGET, isTorchTarget, TORCH_TARGETS, type TorchTarget } from "../validate/index.js";
import { UsageError } from "./errors.js";

/** The target named by `--torch`, or the default when absent. "latest" is accepted as "current". */
export function parseTorchTarget(value: unknown): TorchTarget {
  if (value === undefined) return DEFAULT_TORCH_TARGET;
  if (value === "latest") return "current";
  if (typeof value === "string" && isTorchTarget(value)) return value;
  throw new UsageError(`--torch takes ${TORCH_TARGETS.map((t) => JSON.stringify(t)).join(", ")}, not ${JSON.stringify(value)}`);
}
