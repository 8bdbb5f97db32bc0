/** `--torch TARGET`, shared by `validate` and `convert --sanitize`. */
import { DEFAULT_TORCH_TARGET, isTorchTarget, TORCH_TARGETS, type TorchTarget } from "../validate/index.js";
import { UsageError } from "./errors.js";

/** Help text for the option. */
export const TORCH_TARGET_HELP =
  `--torch 1.13|2.6|current  the torch whose torch.load(weights_only=True) rules apply: 1.13, 2.6 (both checked against ` +
  `the real torch), or current (the newest rules modelled, pytorch main; the default)`;

/** The target named by `--torch`, or the default when absent. "latest" is accepted as "current". */
export function parseTorchTarget(value: unknown): TorchTarget {
  if (value === undefined) return DEFAULT_TORCH_TARGET;
  if (value === "latest") return "current";
  if (typeof value === "string" && isTorchTarget(value)) return value;
  throw new UsageError(`--torch takes ${TORCH_TARGETS.map((t) => JSON.stringify(t)).join(", ")}, not ${JSON.stringify(value)}`);
}
