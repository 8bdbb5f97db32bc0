/** `torchsave pickle-dis FILE`: the pickle's opcodes, like `python -m pickletools FILE`. */
import { readFileSync } from "node:fs";
import { disassemble, formatDisassembly } from "../../pickle/index.js";
import { ioError } from "../../node/file-source.js";
import type { Command } from "../command.js";
import { findPickle } from "../find-pickle.js";

export const pickleDisCommand: Command = {
  name: "pickle-dis",
  summary: "disassemble a pickle (a torch zip's data.pkl, or --record NAME; gzip, tar and object .npy too) like python -m pickletools",
  usage: "torchsave pickle-dis FILE [--annotate] [--record NAME] [--json]",
  options: {
    annotate: { type: "boolean", short: "a", doc: "add the first line of each opcode's documentation, as pickletools -a does." },
    record: { type: "string", arg: "NAME", doc: "the record to disassemble in a zip or tar archive (default data.pkl in a zip, pickle in a tar), e.g. --record constants.pkl." },
    json: { type: "boolean", doc: "print the opcodes as one JSON object: where the pickle came from, its highest protocol, and per opcode its offset, name, argument, and the MARK or memo index it uses." },
  },
  examples: [
    "torchsave pickle-dis model.pt                      # data.pkl's opcodes, as python -m pickletools prints them",
    "torchsave pickle-dis model.pt --record constants.pkl",
    "torchsave pickle-dis dump.pkl.gz -a                # gzip is inflated first; -a explains each opcode",
    "torchsave pickle-dis model.pt --json | jq '.ops | length'",
  ],
  run({ positionals, values, out, err }) {
    const file = positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw ioError(e, file);
    }
    const found = findPickle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, values.record as string | undefined);
    if (values.json === true) {
      let ops;
      try {
        ops = disassemble(found.bytes, found.start);
      } catch (e) {
        throw withFile(e, file, found.from);
      }
      const protocol = ops.reduce((p, o) => Math.max(p, o.op.proto), 0);
      out(JSON.stringify({
        file,
        from: found.from ?? null,
        protocol,
        ops: ops.map((o) => ({
          offset: o.offset, opcode: o.op.name, arg: jsonArg(o.arg),
          ...(o.markAt === undefined ? {} : { markAt: o.markAt }), ...(o.memoIndex === undefined ? {} : { memoIndex: o.memoIndex }),
        })),
      }, null, 2));
      return 0;
    }
    if (found.from !== undefined) err(`(disassembling ${found.from})`);
    // Lines go out as they are made, so on a damaged pickle the user sees everything up to the
    // failing opcode (as pickletools does) before the one-line error.
    try {
      formatDisassembly(found.bytes, { start: found.start, annotate: values.annotate === true, onLine: (line) => out(line.replace(/\n$/, "")) });
    } catch (e) {
      throw withFile(e, file, found.from);
    }
    return 0;
  },
};

function withFile(e: unknown, file: string, from: string | undefined): unknown {
  const err = e as { file?: string; entry?: string; withLocation?: (x: object) => unknown };
  if (typeof err?.withLocation !== "function" || err.file !== undefined) return e;
  return err.withLocation({ file, ...(err.entry === undefined && from !== undefined ? { entry: from } : {}) });
}

/** An opcode argument as JSON: bytes as latin-1 text with their length, bigints as decimal strings. */
function jsonArg(a: unknown): unknown {
  if (a === undefined) return null;
  if (typeof a === "bigint") return { int: a.toString() };
  if (typeof a === "number" && !Number.isFinite(a)) return { float: String(a) };
  if (a instanceof Uint8Array) return { bytes: Array.from(a.subarray(0, 4096), (b) => b.toString(16).padStart(2, "0")).join(""), length: a.length };
  if (Array.isArray(a)) return a.map(jsonArg);
  return a;
}
