import { readdirSync, readFileSync } from "node:fs";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import fc from "fast-check";
import { gzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { DETECT_HEAD_BYTES, detectContainer, type ContainerKind } from "../../../../src/torch/read/detect.js";

const CORPUS = new URL("../../../../../shared/corpus/", import.meta.url);
const corpus = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, CORPUS)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
/** What a caller does: look at the first KiB and pass the size. */
const detectFile = (bytes: Uint8Array): ContainerKind => detectContainer(bytes.subarray(0, DETECT_HEAD_BYTES), bytes.length);

// pickle.dumps(0x1950a86a20f9469cfc6c, p) and pickle.dumps(1001, p) from CPython 3.11, p = 0..5.
const MAGIC = [
  "4c3131393534373033373134363033383830313333333335364c0a2e",
  "4c3131393534373033373134363033383830313333333335364c0a2e",
  "80028a0a6cfc9c46f9206aa850192e",
  "80038a0a6cfc9c46f9206aa850192e",
  "8004950d000000000000008a0a6cfc9c46f9206aa850192e",
  "8005950d000000000000008a0a6cfc9c46f9206aa850192e",
];
const VERSION_1001 = ["49313030310a2e", "4de9032e", "80024de9032e", "80034de9032e", "80049504000000000000004de9032e", "80059504000000000000004de9032e"];

describe("detectContainer: signatures", () => {
  it("zip, including an empty archive", () => {
    expect(detectContainer(zipSync({ "a/b": utf8("x") }))).toBe("zip");
    expect(detectContainer(utf8("PK\x05\x06" + "\0".repeat(18)))).toBe("zip");
  });

  it("gzip, npy, tar", () => {
    expect(detectContainer(gzipSync(utf8("hello")))).toBe("gzip");
    expect(detectContainer(cat(Uint8Array.of(0x93), utf8("NUMPY"), Uint8Array.of(1, 0), utf8("{'descr': '<f4'}")))).toBe("npy");
    const tar = new Uint8Array(1024);
    tar.set(utf8("ustar"), 257);
    expect(detectContainer(tar)).toBe("tar");
  });

  it("safetensors: a header length that fits, then '{'", () => {
    const json = utf8('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const file = cat(Uint8Array.of(json.length, 0, 0, 0, 0, 0, 0, 0), json, new Uint8Array(4));
    expect(detectContainer(file, file.length)).toBe("safetensors");
    expect(detectContainer(file.subarray(0, 20))).toBe("safetensors");
    // A declared header longer than the file is not safetensors.
    expect(detectContainer(file, 20)).toBe("unknown");
    const huge = file.slice();
    huge[4] = 1;
    expect(detectContainer(huge)).not.toBe("safetensors");
  });

  it("json and msgpack", () => {
    expect(detectContainer(utf8('  \n{"state_dict": {}}'))).toBe("json");
    expect(detectContainer(utf8("[1, 2, 3]"))).toBe("json");
    expect(detectContainer(msgpackEncode({ "fc.weight": { dtype: "float32" }, b: 1 }))).toBe("msgpack");
    expect(detectContainer(msgpackEncode(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))))).toBe("msgpack");
    // Not sure enough: arrays, scalars, empty maps, maps keyed by numbers.
    expect(detectContainer(msgpackEncode([1, 2, 3]))).toBe("unknown");
    expect(detectContainer(msgpackEncode(7))).toBe("unknown");
    expect(detectContainer(msgpackEncode({}))).toBe("unknown");
    expect(detectContainer(Uint8Array.of(0x81, 0x01, 0x02))).toBe("unknown");
  });

  it("unknown for empty, text and random binary headers", () => {
    expect(detectContainer(new Uint8Array(0))).toBe("unknown");
    expect(detectContainer(utf8("hello world"))).toBe("unknown");
    expect(detectContainer(hex("89504e470d0a1a0a"))).toBe("unknown");
    expect(detectContainer(utf8("cmod\n\xf8\n"))).toBe("unknown");
  });
});

describe("detectContainer: pickles and legacy torch", () => {
  it("a legacy file starts with the magic number, at any protocol", () => {
    for (let p = 0; p <= 5; p++) {
      const file = cat(hex(MAGIC[p]!), hex(VERSION_1001[p]!), utf8("}q\x00."));
      expect(detectContainer(file), `protocol ${p}`).toBe("legacy");
      // The magic alone (head cut right after it) is enough.
      expect(detectContainer(hex(MAGIC[p]!), 10_000), `protocol ${p}`).toBe("legacy");
    }
  });

  it("a file that computes the magic and then says 1001 still counts as legacy", () => {
    // pytorch_magic_bypass.pt's shape: eval("0x1950...") instead of the LONG1, then the real version pickle.
    const head = cat(hex("8002635f5f6275696c74696e5f5f0a6576616c0a71005816000000307831393530413836413230463934363943464336437101857102527103"), utf8("."), hex(VERSION_1001[2]!));
    expect(detectContainer(head)).toBe("legacy");
  });

  it("a different first number is a plain pickle", () => {
    expect(detectContainer(hex("80028a0a6cfc9c46f9206aa850182e"))).toBe("pickle");
    expect(detectContainer(cat(hex("80024b072e"), hex("80024de8032e")))).toBe("pickle");
  });

  it("PROTO 2..5 is a pickle even when what follows is not parseable", () => {
    for (let p = 2; p <= 5; p++) expect(detectContainer(Uint8Array.of(0x80, p, 0x00, 0xff))).toBe("pickle");
    expect(detectContainer(Uint8Array.of(0x80, 0x06, 0x4e, 0x2e))).toBe("unknown");
    expect(detectContainer(Uint8Array.of(0x80, 0x01, 0x4e, 0x2e))).toBe("unknown");
  });

  it("protocol 0/1 pickles need a plausible start and a clean walk", () => {
    expect(detectContainer(utf8("(dp0\nVa\np1\nI1\ns."))).toBe("pickle");
    expect(detectContainer(utf8("cos\nsystem\n(S'ls'\ntR."))).toBe("pickle");
    expect(detectContainer(utf8("]q\x00(K\x01K\x02e."))).toBe("pickle");
    expect(detectContainer(utf8("N."))).toBe("pickle");
    // A walk that runs off the end of the head is fine when the file goes on...
    expect(detectContainer(utf8("(lp0\nI1\naI2\na"), 5000)).toBe("pickle");
    // ...but not when the head is the whole file.
    const cut = utf8("(lp0\nI1\naI2\na");
    expect(detectContainer(cut, cut.length)).toBe("unknown");
    // Unprintable GLOBAL names, unknown opcodes, implausible first opcodes.
    expect(detectContainer(utf8("cos system\nx\n."))).toBe("unknown");
    expect(detectContainer(utf8("(\x00"))).toBe("unknown");
    expect(detectContainer(utf8("a."))).toBe("unknown");
    expect(detectContainer(utf8("INOT A NUMBER\n."))).toBe("unknown");
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), fc.option(fc.nat(5000), { nil: undefined }), (b, size) => {
        expect(typeof detectContainer(b, size)).toBe("string");
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...MAGIC), fc.uint8Array({ maxLength: 40 }), (m, tail) => {
        expect(detectContainer(cat(hex(m), tail))).toBe("legacy");
      }),
    );
  });
});

describe("detectContainer: the shared corpus", () => {
  const expected: Record<string, ContainerKind> = {
    "burn/simple_legacy.pt": "legacy",
    "burn/legacy_uncloned_views.pt": "legacy",
    "burn/tar_weight_bias.tar": "tar",
    "burn/mnist.pt": "zip",
    "gopickle/tensor_float32_proto1.pt": "legacy",
    "gopickle/tensor_int64_proto4.pt": "legacy",
    "gopickle/tensor_bool_proto5.pt": "legacy",
    "picklescan/pytorch_magic_bypass.pt": "legacy",
    "picklescan/bad_pytorch.pt": "unknown",
    "picklescan/not_a_pickle.bin": "unknown",
    "picklescan/malicious1.7z": "unknown",
    "picklescan/malicious11.pkl": "pickle",
    "picklescan/malicious23.pkl": "pickle",
    "picklescan/benign0_v0.pkl": "pickle",
    "picklescan/int_array.npy": "npy",
    "picklescan/object_arrays.npz": "zip",
    "joblib/joblib_0.11.0_pickle_py36_np111.pkl": "pickle",
    "serde-pickle/tests_py3_proto0.pickle": "pickle",
    "serde-pickle/tests_py2_proto2.pickle": "pickle",
    "safetensors/d.safetensors": "safetensors",
    "djl/list.safetensors": "safetensors",
    "modelscan/password_protected.zip": "zip",
    "lightning-aegnn/last.ckpt": "zip",
  };
  for (const [file, kind] of Object.entries(expected)) {
    it(`${file} is ${kind}`, () => expect(detectFile(corpus(file))).toBe(kind));
  }

  it("every .pt/.pth/.ckpt/.bin in the corpus is zip, legacy, or (for raw pickles of tensors) pickle", () => {
    const seen: string[] = [];
    for (const dir of readdirSync(CORPUS)) {
      if (dir.endsWith(".md")) continue;
      for (const f of readdirSync(new URL(`${dir}/`, CORPUS))) {
        if (!/\.(pt|pth|ckpt)$/.test(f) || f === "bad_pytorch.pt") continue;
        seen.push(`${dir}/${f}: ${detectFile(corpus(`${dir}/${f}`))}`);
      }
    }
    expect(seen.length).toBeGreaterThan(30);
    for (const line of seen) expect(line).toMatch(/: (zip|legacy)$/);
  });

  it("the tar files and every safetensors file are recognized", () => {
    for (const f of ["tar_float32", "tar_int64", "tar_weight_bias"]) expect(detectFile(corpus(`burn/${f}.tar`))).toBe("tar");
    for (const f of readdirSync(new URL("safetensors/", CORPUS))) expect(detectFile(corpus(`safetensors/${f}`)), f).toBe("safetensors");
  });
});
