/**
 * The writer's speed path for the tensor a checkpoint holds thousands of: a plain dense tensor
 * over a typed storage of its own dtype, pickled as
 * `torch._utils._rebuild_tensor_v2(<persistent id>, offset, size, stride, requires_grad, OrderedDict())`.
 * Its opcodes go straight to the encoder (`EncodeOptions.writeHost`) instead of through the call
 * objects `reduceHost` would build: the same bytes, without five objects, five memo entries and
 * seven encoder frames per tensor. Anything else (Parameters, subclasses, kept `origin` calls,
 * quantized, sparse, device copies, untyped storages, legacy view storages) takes the general path.
 */
import type { HostWriter } from "../../pickle/encode-host.js";
import type { PyGlobal } from "../../pickle/value.js";
import { dtypeByName } from "../dtypes.js";
import type { Storage, Tensor, TorchHost } from "../model.js";
import { isTensor } from "../model.js";
import type { StorageRecord } from "./write-pickle-tensor.js";

/** What the direct writer needs from the hooks (`write-pickle-tensor.ts`). */
export interface DirectTensorContext {
  readonly layout: "zip" | "legacy";
  /** The shared global objects (one per name, as the general path uses). */
  readonly G: (module: string, name: string) => PyGlobal;
  readonly isTyped: (s: Storage) => boolean;
  /** The storage's record (key, numel), made the first time a persistent id names it. */
  readonly record: (s: Storage) => StorageRecord;
  /** True when a legacy-layout storage is written as a view of another. */
  readonly isLegacyView: (s: Storage) => boolean;
}

/**
 * Frames the general encoder pushes for a rebuild call below the tensor's own depth (call, args
 * tuple, persistent id, its tuple): at less depth left than this, the general path runs and
 * reports the depth limit as it always does.
 */
const FRAMES_BELOW = 4;

/** The predicate and writer for `EncodeOptions.writeHost`. */
export function directTensorWriter(ctx: DirectTensorContext): {
  /** True for the tensors written directly (their call needs no weights-only check: every global in it is allowed). */
  readonly isDirect: (host: TorchHost) => host is Tensor;
  readonly writeHost: (host: TorchHost, w: HostWriter) => boolean;
} {
  const legacy = ctx.layout === "legacy";
  // The conditions under which `freshCall` (write-pickle-tensor.ts) makes `_rebuild_tensor_v2` of exactly these arguments.
  const isDirect = (host: TorchHost): host is Tensor => {
    if (!isTensor(host)) return false;
    const s = host.storage;
    return (
      s !== undefined && host.origin === undefined && host.sparse === undefined && !host.isParameter &&
      host.subclass === undefined && host.state === undefined && host.quantization === undefined &&
      host.device === s.location && host.dtype === s.dtype && ctx.isTyped(s) && !(legacy && ctx.isLegacyView(s))
    );
  };
  const rebuild = ctx.G("torch._utils", "_rebuild_tensor_v2");
  const classes = new Map<string, PyGlobal>();
  const storageClass = (s: Storage): PyGlobal => {
    let g = classes.get(s.dtype);
    if (g === undefined) classes.set(s.dtype, (g = ctx.G("torch", dtypeByName(s.dtype)!.storageClass!)));
    return g;
  };
  const orderedDict = ctx.G("collections", "OrderedDict");
  const writeHost = (host: TorchHost, w: HostWriter): boolean => {
    if (!isDirect(host) || w.depthLeft() < FRAMES_BELOW) return false;
    if (w.fetch(host)) return true;
    const s = host.storage!;
    w.value(rebuild);
    w.beginTuple(6);
    // The storage: its persistent id ("storage", torch.<X>Storage, key, location, numel[, None]).
    const rec = ctx.record(s);
    const n = legacy ? 6 : 5;
    w.beginTuple(n);
    w.value("storage");
    w.value(storageClass(s));
    w.value(rec.key);
    w.value(s.location);
    w.value(rec.numel);
    if (legacy) w.value(null);
    w.endTuple(n);
    w.persistentId();
    w.value(host.storageOffset);
    w.ints(host.shape);
    w.ints(host.stride);
    w.value(host.requiresGrad);
    // OrderedDict() for the backward hooks: its class called with no arguments.
    w.value(orderedDict);
    w.beginTuple(0);
    w.reduce();
    w.endTuple(6);
    w.reduce(host);
    return true;
  };
  return { isDirect, writeHost };
}
