/**
 * Would `torch.load(weights_only=True)` accept this file? Answered from the scans of the pickles
 * torch would unpickle, against a {@link WeightsOnlyPolicy}: every opcode it does not implement,
 * every GLOBAL outside its allow-list, and every REDUCE, NEWOBJ, BUILD, APPEND, SETITEM or
 * persistent id applied to something it refuses is a blocker. torch stops at the first; we list
 * them all, each with its offset.
 */
import { python3Name } from "./compat-names.js";
import type { FindingCode } from "./rules.js";
import { describeDesc, type Desc, type PickleScan, type TargetEvent } from "./scan-pickle.js";
import type { WeightsOnlyPolicy, WeightsOnlyVersion } from "./weights-only-policy.js";

/** Which loader's persistent_load receives the ids: the zip and legacy loaders need ('storage', ...) tuples. */
export type PersistentIdStyle = "zip" | "legacy" | "tar";

/** One pickle torch would unpickle with the restricted unpickler. */
export interface WeightsOnlyInput {
  readonly scan: PickleScan;
  readonly record: string | undefined;
  readonly persistentIds: PersistentIdStyle;
}

/** One reason torch.load(weights_only=True) refuses the file. */
export interface WeightsOnlyBlocker {
  readonly code: Extract<FindingCode, `weights-only-${string}`>;
  readonly message: string;
  readonly byteOffset?: number;
  readonly record?: string;
}

/** The weights_only answer for a whole file. */
export interface WeightsOnlyVerdict {
  /** The torch version modelled. */
  readonly version: WeightsOnlyVersion;
  readonly accepted: boolean;
  /** Why not, when not accepted (empty when accepted). */
  readonly blockers: readonly WeightsOnlyBlocker[];
}

/** Rebuild calls whose result is exactly a torch.Tensor or Parameter (what BUILD accepts). */
const TENSOR_RESULTS = new Set([
  "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
  "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
  "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
  "torch.nn.parameter.Parameter", "torch.Tensor",
]);
const BUILD_ALWAYS = new Set([...TENSOR_RESULTS, "collections.OrderedDict"]);

/** The key torch looks a GLOBAL up by under this policy. */
export function policyKey(policy: WeightsOnlyPolicy, module: string, name: string): { key: string; module: string } {
  if (!policy.mapsPython2Names) return { key: `${module}.${name}`, module };
  const py3 = python3Name(module, name);
  return { key: `${py3.module}.${py3.name}`, module: py3.module };
}

/** Blockers in one pickle. */
export function weightsOnlyBlockers(input: WeightsOnlyInput, policy: WeightsOnlyPolicy): WeightsOnlyBlocker[] {
  const { scan, record } = input;
  const out: WeightsOnlyBlocker[] = [];
  const at = (code: WeightsOnlyBlocker["code"], message: string, byteOffset: number | undefined): void => {
    const b: { code: WeightsOnlyBlocker["code"]; message: string; byteOffset?: number; record?: string } = { code, message };
    if (byteOffset !== undefined) b.byteOffset = byteOffset;
    if (record !== undefined) b.record = record;
    out.push(b);
  };
  const allowed = (d: Desc): boolean => d.t === "global" && isAllowedGlobal(policy, d.module, d.name);

  for (const [name, use] of scan.opcodes) {
    if (!policy.opcodes.has(name)) {
      at("weights-only-opcode", `opcode ${name} (${use.count}×) is not implemented by the weights_only unpickler ("Unsupported operand")`, use.first);
    }
  }
  const seenGlobals = new Set<string>();
  for (const g of scan.globals) {
    if (g.opcode !== "GLOBAL") continue; // STACK_GLOBAL and INST are refused as opcodes
    const { key, module } = policyKey(policy, g.module, g.name);
    if (seenGlobals.has(key)) continue;
    seenGlobals.add(key);
    if (policy.blockedModules.has(module)) at("weights-only-global", `GLOBAL ${key}: module ${module} is blocked`, g.offset);
    else if (!policy.globals.has(key)) at("weights-only-global", `GLOBAL ${key} is not an allowed global`, g.offset);
  }
  const seenCalls = new Set<string>();
  const refuse = (e: TargetEvent, what: string): void => {
    const k = `${e.op}\0${what}`;
    if (seenCalls.has(k)) return;
    seenCalls.add(k);
    at(e.op === "BINPERSID" ? "weights-only-persistent-id" : "weights-only-call", what, e.offset);
  };
  for (const e of scan.events) {
    switch (e.op) {
      case "REDUCE": {
        if (!allowed(e.target)) refuse(e, `REDUCE calls ${describeDesc(e.target)}, which is not an allowed function`);
        else if (policy.sparseCooOnly && e.target.t === "global" && e.target.key === "torch._utils._rebuild_sparse_tensor") {
          const data = e.args?.t === "tuple" ? e.args.items?.[1] : undefined;
          const n = data?.t === "tuple" ? data.items?.length : undefined;
          if (n !== undefined && n !== 3) {
            refuse(e, `_rebuild_sparse_tensor gets ${n} parts: torch ${policy.version} rebuilds only sparse COO from (indices, values, size); ` +
              `this is torch >= 2.0's form (COO with is_coalesced, or CSR/CSC/BSR/BSC)`);
          }
        }
        break;
      }
      case "NEWOBJ": {
        const ok = policy.newobjAnyAllowed ? allowed(e.target) : e.target.t === "global" && e.target.key === "torch.nn.parameter.Parameter";
        if (!ok) refuse(e, `NEWOBJ instantiates ${describeDesc(e.target)}${policy.newobjAnyAllowed ? "" : " (only torch.nn.Parameter may be)"}`);
        break;
      }
      case "BUILD": {
        const t = e.target;
        const ok = t.t === "obj" && t.by !== undefined && (BUILD_ALWAYS.has(t.by) || (policy.buildAnyAllowed && policy.globals.has(t.by)));
        if (!ok) refuse(e, `BUILD sets the state of ${describeDesc(t)} (only Tensor, Parameter, OrderedDict${policy.buildAnyAllowed ? " or allowed classes" : ""})`);
        break;
      }
      case "APPEND":
      case "APPENDS":
        refuse(e, `${e.op} on ${describeDesc(e.target)} (only lists)`);
        break;
      case "SETITEM":
      case "SETITEMS":
        if (policy.checksSetItemTarget || (e.target.t !== "list" && e.target.t !== "obj")) {
          refuse(e, `${e.op} on ${describeDesc(e.target)} (only dict, OrderedDict, Counter)`);
        }
        break;
      case "BINPERSID": {
        const reason = persistentIdRefusal(e.target, input.persistentIds, policy);
        if (reason !== undefined) refuse(e, reason);
        break;
      }
    }
  }
  if (scan.eventsTruncated) at("weights-only-call", "too many operations to check them all; the rest were not checked", undefined);
  if (scan.error !== undefined) {
    at("weights-only-format", `the pickle is damaged (${scan.error.message}), so unpickling fails`, scan.error.offset);
  }
  return out;
}

function isAllowedGlobal(policy: WeightsOnlyPolicy, module: string, name: string): boolean {
  const { key, module: m } = policyKey(policy, module, name);
  return !policy.blockedModules.has(m) && policy.globals.has(key);
}

/** Why the restricted unpickler (or the loader's persistent_load after it) refuses this id, or undefined. */
function persistentIdRefusal(pid: Desc, style: PersistentIdStyle, policy: WeightsOnlyPolicy): string | undefined {
  const items = pid.t === "tuple" ? pid.items : undefined;
  const first = items?.[0];
  const tag = first?.t === "str" ? first.v : first?.t === "bytes" ? String.fromCharCode(...first.data.subarray(0, 16)) : undefined;
  if (pid.t === "tuple") {
    if (items === undefined || items.length === 0 || tag === "storage") return undefined;
    return `persistent id (${tag === undefined ? describeDesc(first ?? pid) : JSON.stringify(tag)}, ...) is not a storage`;
  }
  if (pid.t === "int") {
    if (!policy.intPersistentId) return "an int persistent id (refused by this torch's check)";
    return style === "tar" ? undefined : "an int persistent id (the zip and legacy loaders need a tuple)";
  }
  if (style === "tar" && !policy.intPersistentId) return undefined; // torch 1.13 lets any non-int through to the tar loader
  return `persistent id is ${describeDesc(pid)}, not a ('storage', ...) tuple`;
}

/** The verdict for a whole file: its pickles' blockers plus any format-level refusal. */
export function weightsOnlyVerdict(
  inputs: readonly WeightsOnlyInput[], policy: WeightsOnlyPolicy, formatRefusal: WeightsOnlyBlocker | undefined,
): WeightsOnlyVerdict {
  const blockers: WeightsOnlyBlocker[] = [];
  if (formatRefusal !== undefined) blockers.push(formatRefusal);
  for (const input of inputs) blockers.push(...weightsOnlyBlockers(input, policy));
  return { version: policy.version, accepted: blockers.length === 0, blockers };
}
