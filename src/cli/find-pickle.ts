/**
 * Where `pickle-dis` finds the pickle in a file, as the other commands read it: gzip is inflated
 * (bounded), a zip's `data.pkl` (or `--record`), a tar checkpoint's `pickle` member, an object
 * `.npy`'s pickle after its header; a plain pickle or a legacy file as it is. Files that hold no
 * pickle (safetensors, JSON, msgpack, numeric `.npy`) are refused with an error naming the file.
 */
import { bytesSource } from "../bytes/source.js";
import { decodeLatin1 } from "../bytes/text.js";
import { gunzip, isGzip } from "../convert/index.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { detectContainer, findTarMember, openZipSync, readEntrySync, readTar } from "../torch/read/zip-access.js";

/** The pickle to disassemble: its bytes, where it starts, and a label of where it came from. */
export interface FoundPickle {
  readonly bytes: Uint8Array;
  readonly start: number;
  /** "data.pkl in archive/", "gzip" ...; undefined for a plain pickle file. */
  readonly from: string | undefined;
}

const NO_PICKLE: Readonly<Record<string, string>> = {
  safetensors: "a safetensors file holds no pickle (a JSON header and raw tensor bytes); try `torchsave inspect`",
  json: "a JSON file holds no pickle; try `torchsave inspect`",
  msgpack: "a msgpack file holds no pickle; try `torchsave inspect`",
};

/**
 * Finds the pickle in `bytes` (the whole file `file`).
 * @throws CheckpointError naming `file`: `invalid-data` for an empty file, `unsupported` for a
 *   file that holds no pickle, `missing-record` for a `record` the archive lacks; gzip and zip errors.
 */
export function findPickle(bytes: Uint8Array, file: string, record: string | undefined, maxInflatedBytes?: number): FoundPickle {
  try {
    return find(bytes, file, record, maxInflatedBytes, []);
  } catch (e) {
    if (isTorchsaveError(e) && e.file === undefined) throw e.withLocation({ file });
    throw e;
  }
}

function find(bytes: Uint8Array, file: string, record: string | undefined, maxInflated: number | undefined, via: string[]): FoundPickle {
  if (bytes.length === 0) throw new CheckpointError("invalid-data", via.length === 0 ? "the file is empty (0 bytes)" : `the ${via.join(" in ")} content is empty`, { file });
  const kind = detectContainer(bytes.subarray(0, 1024), bytes.length);
  const label = (what: string) => [what, ...via].join(" in ");
  if (kind === "gzip" && via.length === 0) {
    const inner = gunzip(bytes, maxInflated === undefined ? {} : { maxBytes: maxInflated });
    if (isGzip(inner)) throw new CheckpointError("unsupported", "gzip inside gzip is not read (a decompression bomb pattern)", { file });
    return find(inner, file, record, maxInflated, ["gzip"]);
  }
  if (kind === "zip") {
    const zip = openZipSync(bytesSource(bytes, file));
    const name = record ?? (zip.get("data.pkl") === undefined && zip.get("constants.pkl") !== undefined ? "constants.pkl" : "data.pkl");
    const entry = zip.get(name) ?? zip.entries.find((e) => e.name === name);
    if (entry === undefined) {
      const pkls = zip.entries.filter((e) => /\.(pkl|pickle)$/i.test(e.name)).map((e) => e.name).slice(0, 5);
      throw new CheckpointError("missing-record", `no record ${zip.prefix}${name} in the archive${pkls.length > 0 ? ` (pickles: ${pkls.join(", ")}; pick one with --record)` : ""}`, { file });
    }
    return { bytes: readEntrySync(zip, entry), start: 0, from: label(entry.name) };
  }
  if (kind === "tar") {
    const members = readTar(bytes);
    const name = record ?? "pickle";
    const m = findTarMember(members, name);
    if (m === undefined) throw new CheckpointError("missing-record", `no member ${name} in the tar archive`, { file });
    return { bytes: m.data, start: 0, from: label(`tar member ${m.name}`) };
  }
  if (kind === "npy") return npyPickle(bytes, file, label);
  if (record !== undefined) throw new CheckpointError("invalid-argument", `--record names a record of a zip or tar archive; this is a ${kind} file`, { file });
  const refused = NO_PICKLE[kind];
  if (refused !== undefined) throw new CheckpointError("unsupported", refused, { file });
  if (kind === "unknown") throw new CheckpointError("unsupported", "this is no pickle and no container torchsave knows (zip, gzip, tar, npy)", { file, offset: 0 });
  return { bytes, start: 0, from: via.length === 0 ? undefined : via.join(" in ") };
}

/** An object array's `.npy` holds a pickle after its header; a numeric one holds none. */
function npyPickle(bytes: Uint8Array, file: string, label: (what: string) => string): FoundPickle {
  const major = bytes[6];
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) throw new CheckpointError("truncated", ".npy header is cut short", { file, offset: bytes.length });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = lenSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenSize + headerLen;
  if (start > bytes.length) throw new CheckpointError("truncated", ".npy header runs past the end", { file, offset: 8 + lenSize });
  const header = decodeLatin1(bytes.subarray(8 + lenSize, start));
  if (!/'descr'\s*:\s*'\|O'/.test(header)) throw new CheckpointError("unsupported", "this .npy array holds numbers, not a pickle (only object arrays are pickled)", { file });
  return { bytes, start, from: label("object .npy") };
}
