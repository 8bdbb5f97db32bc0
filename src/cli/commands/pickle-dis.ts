/** `torchsave pickle-dis FILE`: the pickle's opcodes, like `python -m pickletools FILE`. */
import { readFileSync } from "node:fs";
import { formatDisassembly } from "../../pickle/index.js";
import { bytesSource } from "../../bytes/source.js";
import { detectContainer, openZipSync, readEntrySync } from "../../torch/read/zip-access.js";
import { ioError } from "../../node/file-source.js";
import { CheckpointError } from "../../errors.js";
import type { Command } from "../command.js";

export const pickleDisCommand: Command = {
  name: "pickle-dis",
  summary: "disassemble a pickle (a torch zip's data.pkl, or --record NAME) like python -m pickletools",
  usage: "torchsave pickle-dis FILE [--annotate] [--record data.pkl]",
  options: { annotate: { type: "boolean", short: "a" }, record: { type: "string" } },
  run({ positionals, values, out, err }) {
    const file = positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw ioError(e, file);
    }
    let pickle = bytes;
    if (detectContainer(bytes.subarray(0, 1024), bytes.length) === "zip") {
      const zip = openZipSync(bytesSource(bytes, file));
      const record = (values.record as string | undefined) ?? "data.pkl";
      const entry = zip.get(record);
      if (entry === undefined) throw new CheckpointError("missing-record", `no record ${zip.prefix}${record} in the archive`, { file });
      err(`(disassembling ${zip.prefix}${record})`);
      pickle = readEntrySync(zip, entry);
    }
    // Lines go out as they are made, so on a damaged pickle the user sees everything up to the
    // failing opcode (as pickletools does) before the one-line error.
    formatDisassembly(pickle, { annotate: values.annotate === true, onLine: (line) => out(line.replace(/\n$/, "")) });
    return 0;
  },
};
