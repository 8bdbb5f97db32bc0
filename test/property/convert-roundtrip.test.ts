// Arbitrary checkpoints (nested values, every dtype, views and shared storages, optimizer-state
// shapes, standard and non-standard rebuild calls) through every format and back. The lossless
// formats must give the identical value graph with byte-equal storages; torch's own formats the
// same tensors and values torch.load would see.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fromJson, fromMsgpack, fromMsgpackSource, fromSafetensors, gunzip, gzip, toJson, toMsgpack, toPickle, toSafetensors,
} from "../../src/convert/index.js";
import type { TorchValue } from "../../src/torch/index.js";
import { readCheckpoint } from "../../src/torch/index.js";
import { writeCheckpoint } from "../../src/torch/write/write-checkpoint.js";
import { checkpointArb } from "../unit/convert/arbitraries.js";
import { torchDiff } from "../unit/convert/torch-equal.js";

const RUNS = 100;
/** Generous: the machine running CI may be busy, and shrinking a failure takes many runs. */
const TIMEOUT = 300_000;

const lossless: [string, (v: TorchValue) => TorchValue][] = [
  ["json", (v) => fromJson(toJson(v))],
  ["json (one line)", (v) => fromJson(toJson(v, { indent: 0 }))],
  ["msgpack", (v) => fromMsgpack(toMsgpack(v))],
  ["safetensors", (v) => fromSafetensors(toSafetensors(v)).root],
  ["msgpack.gz", (v) => fromMsgpack(gunzip(gzip(toMsgpack(v))))],
  // As a file is read: item by item through a 16-byte window, storage bytes read only when compared.
  ["msgpack from a readSync source", (v) => fromMsgpackSource(readSyncOnly(toMsgpack(v)), {}, 16)],
];

/** A source that reads only through readSync (as a file does), each read a copy. */
function readSyncOnly(bytes: Uint8Array) {
  const readSync = (o: number, n: number): Uint8Array => bytes.slice(o, o + n);
  return { size: bytes.length, readSync, read: async (o: number, n: number) => readSync(o, n) };
}

const torchFormats: [string, (v: TorchValue) => TorchValue][] = [
  ["pt", (v) => readCheckpoint(writeCheckpoint(v)).root],
  ["pt-legacy", (v) => readCheckpoint(writeCheckpoint(v, { layout: "legacy" })).root],
  ["pickle", (v) => readCheckpoint(toPickle(v)).root],
];

describe("checkpoints round-trip through every format", () => {
  for (const [name, through] of lossless) {
    it(`${name}: identical value graph, byte-equal storages`, () => {
      fc.assert(fc.property(checkpointArb(), (v) => {
        const diff = torchDiff(v, through(v));
        expect(diff).toBeUndefined();
      }), { numRuns: RUNS });
    }, TIMEOUT);
  }
  for (const [name, through] of torchFormats) {
    it(`${name}: the same tensors and values`, () => {
      fc.assert(fc.property(checkpointArb({ torchFormats: true }), (v) => {
        expect(torchDiff(v, through(v), { tensors: "logical" })).toBeUndefined();
      }), { numRuns: RUNS });
    }, TIMEOUT);
  }
});
