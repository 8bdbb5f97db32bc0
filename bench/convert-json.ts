/**
 * Benchmark: throughput of the lossless JSON and msgpack formats, and of plain JSON, on a
 * state_dict (default 64 MiB of float32 tensors).
 *
 * Run (no TS runner needed):
 *   node_modules/.bin/esbuild bench/convert-json.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/convert-json.mjs && node /tmp/convert-json.mjs [MiB=64]
 *
 * Prints, for each format, encode and decode time (median of 5; 3 for plain JSON, on 1/8 of the
 * tensors) and MB/s of tensor bytes and of document bytes; each decoded value is checked.
 */
import { fromJson, toJson } from "../src/convert/json.js";
import { fromMsgpack, toMsgpack } from "../src/convert/msgpack.js";
import { fromPlainJson, toPlainJson } from "../src/convert/plain-json.js";
import { stateDict, tensor } from "../src/torch/builder.js";
import type { Tensor, TorchValue } from "../src/torch/model.js";
import { tensorBytes } from "../src/torch/tensor-data.js";
import { walkTensors } from "../src/torch/walk.js";

const MIB = 1024 * 1024;
const mib = Number(process.argv[2] ?? "64");
const TENSOR_BYTES = 4 * MIB;
const count = Math.max(1, Math.round((mib * MIB) / TENSOR_BYTES));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed<T>(run: () => T, runs = 5): { value: T; seconds: number } {
  let value = run();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    value = run();
    out.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { value, seconds: median(out) };
}

/** Every tensor of `b` has the bytes of the same tensor of `a`. */
function check(a: TorchValue, b: TorchValue): void {
  const x = walkTensors(a);
  const y = walkTensors(b);
  if (x.length !== y.length) throw new Error("tensor count differs");
  x.forEach((e, i) => {
    const p = tensorBytes(e.tensor);
    const q = tensorBytes(y[i]!.tensor);
    if (Buffer.compare(Buffer.from(p.buffer, p.byteOffset, p.length), Buffer.from(q.buffer, q.byteOffset, q.length)) !== 0) {
      throw new Error(`${String(e.path)} differs`);
    }
  });
}

function stateDictOf(n: number): TorchValue {
  const entries: Record<string, Tensor> = {};
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(TENSOR_BYTES / 4);
    for (let j = 0; j < data.length; j++) data[j] = Math.sin(i * 7 + j);
    entries[`layers.${i}.weight`] = tensor(data, { shape: [TENSOR_BYTES / 4 / 256, 256] });
  }
  return stateDict(entries);
}

function report(label: string, seconds: number, tensorBytesTotal: number, docBytes: number): void {
  console.log(
    `${label.padEnd(24)} ${(seconds * 1000).toFixed(0).padStart(7)} ms  ` +
      `${(tensorBytesTotal / 1e6 / seconds).toFixed(0).padStart(6)} MB/s of tensors  ${(docBytes / 1e6 / seconds).toFixed(0).padStart(6)} MB/s of document`,
  );
}

const sd = stateDictOf(count);
const total = count * TENSOR_BYTES;
console.log(`state_dict: ${count} float32 tensors, ${(total / 1e6).toFixed(0)} MB of tensor data (Node ${process.version})`);

const json = timed(() => toJson(sd));
report("JSON encode", json.seconds, total, json.value.length);
const jsonBack = timed(() => fromJson(json.value));
report("JSON decode", jsonBack.seconds, total, json.value.length);
check(sd, jsonBack.value);

const mp = timed(() => toMsgpack(sd));
report("msgpack encode", mp.seconds, total, mp.value.length);
const mpBack = timed(() => fromMsgpack(mp.value));
report("msgpack decode", mpBack.seconds, total, mp.value.length);
check(sd, mpBack.value);

const smallCount = Math.max(1, Math.round(count / 8));
const small = stateDictOf(smallCount);
const plain = timed(() => toPlainJson(small, { indent: 0 }), 3);
report("plain JSON encode (1/8)", plain.seconds, smallCount * TENSOR_BYTES, plain.value.length);
const plainBack = timed(() => fromPlainJson(plain.value), 3);
report("plain JSON decode (1/8)", plainBack.seconds, smallCount * TENSOR_BYTES, plain.value.length);
check(small, plainBack.value);
