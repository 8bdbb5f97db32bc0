/**
 * Every irregularity the zip reader notices and tolerates, as one table. The reader records a
 * {@link ZipQuirk} instead of failing, so the validator can report it; `torchLoads` says whether
 * `torch.load` still succeeds with it (measured on torch 1.13, whose miniz 2.x rejects some
 * central-directory flags that picklescan's `RelaxedZipFile` ignores).
 */

/** A stable name for one kind of irregularity. */
export type ZipQuirkCode =
  | "empty-archive"
  | "no-prefix"
  | "prefix-mismatch"
  | "duplicate-name"
  | "case-duplicate"
  | "encrypted-flag"
  | "strong-encryption-flag"
  | "patch-flag"
  | "masked-local-header"
  | "unknown-flags"
  | "compressed-entry"
  | "unsupported-method"
  | "stored-size-mismatch"
  | "missing-compressed-data"
  | "invalid-utf8-name"
  | "entry-comment"
  | "multi-disk"
  | "eocd-count-mismatch"
  | "zip64-eocd-mismatch"
  | "zip64-locator-invalid"
  | "comment"
  | "comment-length-mismatch"
  | "data-before-archive"
  | "data-after-archive"
  | "unreferenced-data"
  | "directory-gap"
  | "directory-overlap"
  | "overlapping-entries"
  | "local-name-mismatch"
  | "local-size-mismatch"
  | "local-crc-mismatch"
  | "local-header-mismatch"
  | "quirks-omitted";

/** One irregularity found in an archive. */
export interface ZipQuirk {
  readonly code: ZipQuirkCode;
  readonly message: string;
  /** Byte offset in the archive where the irregular structure starts. */
  readonly offset: number;
  /** The entry name, for per-entry quirks. */
  readonly entry?: string;
}

export interface ZipQuirkInfo {
  readonly code: ZipQuirkCode;
  /** True when torch.load reads the file anyway; false when torch refuses it (or the record). */
  readonly torchLoads: boolean;
  /** When the reader can notice it: opening the directory, or reading a local header. */
  readonly found: "open" | "local-header";
  readonly doc: string;
}

/** The most quirks of one code an archive records; later ones collapse into one "quirks-omitted". */
export const MAX_QUIRKS_PER_CODE = 100;

const q = (code: ZipQuirkCode, torchLoads: boolean, found: ZipQuirkInfo["found"], doc: string): ZipQuirkInfo => ({ code, torchLoads, found, doc });

/** The quirk table, grouped by where in the archive each one lives. */
export const ZIP_QUIRKS: readonly ZipQuirkInfo[] = [
  // The archive folder.
  q("empty-archive", false, "open", "The central directory lists no entries; torch raises 'archive does not contain any files'."),
  q("no-prefix", false, "open", "The first entry is not inside a folder, so torch finds no archive name and refuses the file; records are looked up without a prefix."),
  q("prefix-mismatch", true, "open", "An entry lies outside the archive folder: torch never reads it, but other zip tools will (a hiding place)."),
  q("duplicate-name", true, "open", "Two entries have the same name; torch's sorted lookup may pick either, get() returns the first."),
  q("case-duplicate", true, "open", "Two names differ only in ASCII case; torch looks records up case-insensitively, so either may be read."),

  // Entry flags and methods.
  q("encrypted-flag", false, "open", "General-purpose flag bit 0 (encrypted) is set in the central directory; torch's miniz refuses to read the entry. The bytes are read as stored."),
  q("strong-encryption-flag", false, "open", "Flag bit 6 (strong encryption) is set; miniz refuses to read the entry."),
  q("patch-flag", false, "open", "Flag bit 5 (compressed patch data) is set; miniz refuses to read the entry."),
  q("masked-local-header", false, "open", "Flag bit 13 (masked local header) is set; miniz refuses the whole archive."),
  q("unknown-flags", true, "open", "Reserved or unused general-purpose flag bits are set."),
  q("compressed-entry", true, "open", "The entry is deflated; torch writes every record stored, and compressed storages cannot be memory-mapped."),
  q("unsupported-method", false, "open", "A compression method other than stored (0) or deflate (8); reading the entry fails."),
  q("stored-size-mismatch", false, "open", "A stored entry's compressed and uncompressed sizes differ; miniz refuses the archive."),
  q("missing-compressed-data", false, "open", "The entry claims uncompressed bytes but no compressed bytes; miniz refuses the archive."),
  q("invalid-utf8-name", true, "open", "Flag bit 11 says the name is UTF-8 but it is not; it is decoded as latin-1 (torch compares raw bytes)."),
  q("entry-comment", true, "open", "The entry carries a file comment."),

  // End of central directory.
  q("multi-disk", false, "open", "Disk numbers say the archive spans several disks; miniz refuses it."),
  q("eocd-count-mismatch", false, "open", "Entries on this disk differ from total entries; miniz refuses the archive."),
  q("zip64-eocd-mismatch", true, "open", "The zip64 end record disagrees with non-sentinel values of the classic one; the zip64 values are used, as miniz does."),
  q("zip64-locator-invalid", true, "open", "A zip64 locator points at something that is not a zip64 end record; it is ignored, as miniz does."),
  q("comment", true, "open", "The archive has a comment."),
  q("comment-length-mismatch", true, "open", "The declared archive comment runs past the end of the file."),

  // Layout of the bytes.
  q("data-before-archive", true, "open", "Bytes precede the first local header (a prepended file, a polyglot)."),
  q("data-after-archive", true, "open", "Bytes follow the end record and its comment (an appended file, a polyglot)."),
  q("unreferenced-data", true, "local-header", "Bytes between entries, or between the last entry and the central directory, that no entry claims."),
  q("directory-gap", true, "open", "Bytes between the central directory and the end record."),
  q("directory-overlap", true, "open", "The central directory, as declared, runs into the end record."),
  q("overlapping-entries", true, "open", "Two entries' bytes overlap, or an entry's bytes run into the central directory (a zip bomb or polyglot trick)."),

  // Local headers (torch reads only their name and extra lengths).
  q("local-name-mismatch", true, "local-header", "The local header names the entry differently from the central directory."),
  q("local-size-mismatch", true, "local-header", "The local header's sizes differ from the central directory's."),
  q("local-crc-mismatch", true, "local-header", "The local header's CRC-32 differs from the central directory's."),
  q("local-header-mismatch", true, "local-header", "The local header's flags or method differ from the central directory's (torch ignores local flags)."),

  q("quirks-omitted", true, "open", `More than ${MAX_QUIRKS_PER_CODE} quirks of one kind: the rest are not listed.`),
];

/** Quirk documentation by code. */
export const ZIP_QUIRKS_BY_CODE: Readonly<Record<ZipQuirkCode, ZipQuirkInfo>> = Object.fromEntries(
  ZIP_QUIRKS.map((info) => [info.code, info]),
) as Record<ZipQuirkCode, ZipQuirkInfo>;

/** Collects quirks for one archive, keeping at most {@link MAX_QUIRKS_PER_CODE} of each code. */
export interface QuirkSink {
  /** Every quirk recorded so far, in the order found. */
  readonly items: ZipQuirk[];
  add(code: ZipQuirkCode, message: string, offset: number, entry?: string): void;
}

/** A fresh, empty {@link QuirkSink}. */
export function createQuirkSink(): QuirkSink {
  const items: ZipQuirk[] = [];
  const counts = new Map<ZipQuirkCode, number>();
  return {
    items,
    add(code, message, offset, entry) {
      const n = (counts.get(code) ?? 0) + 1;
      counts.set(code, n);
      if (n <= MAX_QUIRKS_PER_CODE) {
        items.push(entry === undefined ? { code, message, offset } : { code, message, offset, entry });
      } else if (n === MAX_QUIRKS_PER_CODE + 1) {
        items.push({ code: "quirks-omitted", message: `further "${code}" quirks are not listed`, offset });
      }
    },
  };
}
