/**
 * Tar archives (ustar, GNU and pax), as torch <= 0.1.9 wrote checkpoints: members `sys_info`,
 * `pickle`, `storages` and `tensors`. Read with the tolerance of Python's `tarfile`, which torch's
 * legacy loader uses: the first header must be valid, and reading stops quietly at the end-of-archive
 * zero block or at a later damaged header.
 */
import { decodeLatin1, decodeUtf8 } from "../bytes/text.js";
import { CheckpointError } from "../errors.js";

/** One regular file in a tar archive. */
export interface TarMember {
  /** Path as tarfile reports it: GNU long names, pax `path` and the ustar prefix applied. */
  readonly name: string;
  /** Byte offset of the member's data in the archive. */
  readonly offset: number;
  readonly size: number;
  /** The data: a `subarray` view of the input (no copy). */
  readonly data: Uint8Array;
}

const BLOCK = 512;
// Type flags: regular files carry data we return; these others carry data we skip or consume.
const REGULAR = new Set(["0", "\0", "7"]);
const GNU_LONGNAME = "L";
const GNU_LONGLINK = "K";
const PAX_HEADER = "x";
const PAX_GLOBAL = "g";
// tarfile's SUPPORTED_TYPES: members of these types (other than regular) have no data blocks.
const NO_DATA = new Set(["1", "2", "3", "4", "5", "6"]);
const GNU_TYPES = new Set([GNU_LONGNAME, GNU_LONGLINK, "S"]);

/** True when `head` starts with a tar header: `ustar` at 257, or a valid header checksum (what tarfile requires). */
export function isTar(head: Uint8Array): boolean {
  if (head.length < BLOCK) return false;
  const block = head.subarray(0, BLOCK);
  if (block.every((b) => b === 0)) return false;
  const magic = decodeLatin1(head.subarray(257, 262));
  return magic === "ustar" || checksumOk(block);
}

/**
 * The regular files of a tar archive, in archive order (a name may repeat: see
 * {@link findTarMember}). Directories, links and devices are skipped; pax and GNU long-name
 * headers are applied to the member they precede.
 * @throws CheckpointError `bad-archive` when the first header is not a tar header or a size
 *   field is malformed; `truncated` when a header or member's data runs past the end.
 */
export function readTar(bytes: Uint8Array): TarMember[] {
  const members: TarMember[] = [];
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let globalPath: string | undefined;
  while (pos < bytes.length) {
    const block = bytes.subarray(pos, pos + BLOCK);
    if (block.every((b) => b === 0)) break; // End-of-archive marker (or a partial zero block).
    if (block.length < BLOCK) {
      throw new CheckpointError("truncated", `tar header needs ${BLOCK} bytes, ${block.length} remain`, { offset: pos });
    }
    if (!checksumOk(block)) {
      // tarfile refuses a bad first header and stops quietly at a later one.
      if (pos === 0) throw new CheckpointError("bad-archive", "tar header checksum is wrong: not a tar archive", { offset: pos });
      break;
    }
    const type = String.fromCharCode(block[156]!);
    const fieldSize = parseNumber(block.subarray(124, 136));
    if (fieldSize === undefined) throw new CheckpointError("bad-archive", "tar header has a malformed size field", { offset: pos + 124 });
    const meta = type === GNU_LONGNAME || type === GNU_LONGLINK || type === PAX_HEADER || type === PAX_GLOBAL;
    const size = meta ? fieldSize : paxSize ?? fieldSize;
    const dataOffset = pos + BLOCK;
    const hasData = !NO_DATA.has(type);
    if (hasData && size > bytes.length - dataOffset) {
      throw new CheckpointError("truncated", `tar member needs ${size} bytes, ${bytes.length - dataOffset} remain`, { offset: dataOffset });
    }
    const data = hasData ? bytes.subarray(dataOffset, dataOffset + size) : bytes.subarray(dataOffset, dataOffset);
    const next = hasData ? dataOffset + Math.ceil(size / BLOCK) * BLOCK : dataOffset;

    if (type === GNU_LONGNAME) {
      longName = text(cString(data));
    } else if (type === PAX_HEADER || type === PAX_GLOBAL) {
      const records = parsePax(data, dataOffset);
      const path = records.get("path");
      const paxSizeText = records.get("size");
      if (type === PAX_GLOBAL) {
        if (path !== undefined) globalPath = path;
      } else {
        paxPath = path;
        if (paxSizeText !== undefined) {
          if (!/^\d+$/.test(paxSizeText) || !Number.isSafeInteger(Number(paxSizeText))) {
            throw new CheckpointError("bad-archive", "pax header has a malformed size", { offset: dataOffset });
          }
          paxSize = Number(paxSizeText);
        }
      }
    } else if (type !== GNU_LONGLINK) {
      if (REGULAR.has(type)) {
        let name = text(cString(block.subarray(0, 100)));
        const prefix = text(cString(block.subarray(345, 500)));
        if (prefix !== "" && !GNU_TYPES.has(type)) name = `${prefix}/${name}`;
        name = longName ?? paxPath ?? globalPath ?? name;
        // tarfile turns an old-style "name/" regular entry into a directory.
        if (!(type === "\0" && name.endsWith("/"))) members.push({ name, offset: dataOffset, size, data });
      }
      longName = undefined;
      paxPath = undefined;
      paxSize = undefined;
    }
    pos = next;
  }
  return members;
}

/** The member tarfile's `extractfile(name)` would open: the LAST one with that name. */
export function findTarMember(members: readonly TarMember[], name: string): TarMember | undefined {
  for (let i = members.length - 1; i >= 0; i--) if (members[i]!.name === name) return members[i];
  return undefined;
}

/** tarfile's check: the stored checksum equals the unsigned or the signed byte sum, with the field read as spaces. */
function checksumOk(block: Uint8Array): boolean {
  const stored = parseNumber(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** A numeric field: octal text (NUL/space padded), or GNU base-256 when the top bit is set. */
function parseNumber(field: Uint8Array): number | undefined {
  const first = field[0];
  if (first === 0x80 || first === 0xff) {
    if (first === 0xff) return undefined; // Negative: no size or checksum may be.
    let v = 0;
    for (let i = 1; i < field.length; i++) {
      v = v * 256 + field[i]!;
      if (!Number.isSafeInteger(v)) return undefined;
    }
    return v;
  }
  const s = decodeLatin1(cString(field)).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  const v = parseInt(s, 8);
  return Number.isSafeInteger(v) ? v : undefined;
}

function cString(b: Uint8Array): Uint8Array {
  const end = b.indexOf(0);
  return end < 0 ? b : b.subarray(0, end);
}

/** Names are UTF-8 as tarfile reads them; bytes that are not fall back to latin-1. */
function text(b: Uint8Array): string {
  try {
    return decodeUtf8(b);
  } catch {
    return decodeLatin1(b);
  }
}

/** pax records: "<length> <key>=<value>\n", lengths counting the whole record. */
function parsePax(data: Uint8Array, offset: number): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    if (data[p] === 0) break;
    const space = data.indexOf(0x20, p);
    const length = space < 0 ? NaN : Number(decodeLatin1(data.subarray(p, space)));
    if (!Number.isSafeInteger(length) || length <= space - p || p + length > data.length || data[p + length - 1] !== 0x0a) {
      throw new CheckpointError("bad-archive", "malformed pax extended header record", { offset: offset + p });
    }
    const record = data.subarray(space + 1, p + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(text(record.subarray(0, eq)), text(record.subarray(eq + 1)));
    p += length;
  }
  return out;
}
