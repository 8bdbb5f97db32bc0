/**
 * THE rules table: every finding code the validator can report, with its severity, its category
 * and what it means. Findings take their severity from here, `docs/validate.md` documents every
 * row (a test checks both directions), and adding a check is adding a row.
 */
import type { Severity } from "./finding.js";

/** Which part of the validation a rule belongs to (docs/validate.md groups by it). */
export type RuleCategory = "input" | "integrity" | "security" | "weights-only" | "training" | "report";

/** One row of the rules table. */
export interface RuleInfo {
  readonly code: string;
  readonly severity: Severity;
  readonly category: RuleCategory;
  readonly doc: string;
}

const r = <C extends string>(code: C, severity: Severity, category: RuleCategory, doc: string) =>
  ({ code, severity, category, doc }) as const;

/** Every finding code, grouped by what it checks. */
export const RULES = [
  // The input as a whole.
  r("unreadable", "error", "input", "The input could not be read at all (missing file, I/O failure, an asynchronous source too large to buffer)."),
  r("unknown-format", "error", "input", "Not a container torchsave recognises; the bytes were searched for embedded pickles, which are reported as such."),
  r("not-a-checkpoint", "info", "input", "A recognised format that holds no pickle (safetensors, JSON, msgpack, a numeric .npy): nothing in it can execute code."),
  r("read-failed", "error", "integrity", "The checkpoint's object graph could not be rebuilt; the message carries the reader's error code and location. Everything still readable was checked."),
  r("internal-error", "error", "report", "A check failed unexpectedly inside torchsave (a bug: please report it with the file). The other checks still ran."),
  r("findings-omitted", "info", "report", "More findings of one code than the report keeps; the count of the rest is given."),
  r("validation-limit", "error", "report", "A bound on the validator's work was reached (opcodes walked, inflated size, nesting depth, carving attempts), so that part of the check is incomplete: what cannot be read cannot be declared safe. The imports seen so far are still listed."),

  // Checkpoint folders (DCP, safetensors-based DCP, Hugging Face shards, DeepSpeed ZeRO): the set's own consistency.
  r("folder-file-missing", "error", "integrity", "A file the checkpoint needs (named by .metadata, the shard index, or DeepSpeed's layout) is absent or cannot be opened."),
  r("folder-file-unreferenced", "warning", "integrity", "A data file in the folder (.distcp, a shard) that the checkpoint's metadata or index does not name: loaders never read it (dead or planted bytes)."),
  r("folder-layout-invalid", "error", "integrity", "The folder breaks its layout's rules as the reader checks them (DeepSpeed: a rank file missing, stages or world sizes that disagree, partitions that do not add up; safetensors-based DCP: sharding info missing or chunks that disagree; a shard that holds no dict); the message carries the reader's error."),
  r("dcp-metadata-invalid", "error", "integrity", "A DCP folder's .metadata cannot be read as torch.distributed.checkpoint Metadata (its pickle is still scanned)."),
  r("dcp-slice-out-of-range", "error", "integrity", "A storage_data item's bytes [offset, offset+length) reach past the end of its file."),
  r("dcp-slices-overlap", "error", "integrity", "Two storage_data items of one file overlap: one file region is read as two items."),
  r("dcp-bytes-unreferenced", "warning", "integrity", "Bytes of a .distcp file that no storage_data item covers (torch writes items back to back): dead or hidden bytes torch never reads."),
  r("dcp-chunks-invalid", "error", "integrity", "A tensor's chunks do not tile it as torch's planner requires: a chunk out of bounds, two chunks overlapping, or volumes that do not add up."),
  r("dcp-item-mismatch", "error", "integrity", "A tensor item's torch.save archive holds no tensor, or one of another dtype or size than .metadata gives its chunk."),
  r("shard-index-invalid", "error", "integrity", "The shard index (model.safetensors.index.json, pytorch_model.bin.index.json) is not JSON with a weight_map of safe file names."),
  r("shard-key-conflict", "error", "integrity", "A key is in two shards, or in another shard than the index says: which tensor a loader gets depends on its order."),
  r("shard-key-unlisted", "error", "integrity", "A shard holds a key the index does not list."),
  r("shard-key-absent", "error", "integrity", "The index lists a key in a shard that does not hold it: loading that tensor fails."),

  // Zip container: directory and records.
  r("zip-truncated", "error", "integrity", "The file starts like a zip but has no end-of-central-directory record: it was cut short. Entries are recovered from their local headers."),
  r("zip-damaged", "error", "integrity", "The end record, zip64 records or central directory cannot be followed; entries are recovered from their local headers where possible."),
  r("zip-recovered-entry", "info", "integrity", "An entry found by scanning local headers because the central directory was unusable."),
  r("zip-local-header-unreadable", "error", "integrity", "An entry's local header is missing, damaged, or its data runs past the end of the file."),
  r("zip-record-unreadable", "error", "integrity", "An entry's bytes cannot be read: unsupported compression method, damaged deflate stream, or sizes that disagree."),
  r("crc-mismatch", "error", "integrity", "The CRC-32 of an entry's bytes differs from the central directory's: the record was altered or damaged (torch does not check CRCs, so it would load the altered bytes)."),
  r("record-missing", "error", "integrity", "A record torch needs is absent (data.pkl in a zip checkpoint)."),
  r("storage-record-missing", "error", "integrity", "data.pkl refers to a storage whose data/<key> record does not exist."),
  r("storage-record-unreferenced", "warning", "integrity", "A data/<key> record exists but no persistent id in data.pkl refers to it (dead or hidden bytes)."),
  r("storage-record-short", "error", "integrity", "A storage record holds fewer bytes than its declared numel × itemsize: tensors read past its end."),
  r("storage-record-long", "warning", "integrity", "A storage record holds more bytes than its declared numel × itemsize (extra bytes torch never reads)."),
  r("storage-conflict", "error", "integrity", "One storage key is declared twice with different storage classes or element counts."),
  r("tensor-out-of-bounds", "error", "integrity", "A tensor's shape, stride and offset reach outside its storage."),
  r("bad-version-record", "error", "integrity", "The `version`, `.data/version` or `.format_version` record is not an integer torch supports."),
  r("bad-byteorder-record", "error", "integrity", "The `byteorder` record is neither \"little\" nor \"big\"."),
  r("bad-alignment-record", "warning", "integrity", "The `.storage_alignment` record is not a positive power of two, or a storage record is not aligned to it."),
  r("unexpected-record", "info", "integrity", "A record torch.save does not write (outside data/ and the known text records); pickles among them are scanned."),

  // Zip irregularities the reader tolerates (one row per ZipQuirkCode of src/torch/zip-quirks.ts).
  r("zip-empty-archive", "error", "integrity", "The central directory lists no entries; torch refuses the file."),
  r("zip-no-prefix", "error", "integrity", "The first entry is not inside a folder, so torch finds no archive name and refuses the file."),
  r("zip-prefix-mismatch", "warning", "security", "An entry lies outside the archive folder: torch never reads it, other zip tools do (a hiding place)."),
  r("zip-duplicate-name", "warning", "security", "Two entries share a name; which one a reader picks differs between tools (a scanner-evasion trick)."),
  r("zip-case-duplicate", "warning", "security", "Two names differ only in ASCII case; torch looks names up case-insensitively, other tools do not."),
  r("zip-encrypted-flag", "error", "integrity", "Flag bit 0 (encrypted) is set; torch's miniz refuses the entry, strict scanners may skip it."),
  r("zip-strong-encryption-flag", "error", "integrity", "Flag bit 6 (strong encryption) is set; miniz refuses the entry, Python's zipfile refuses to scan it."),
  r("zip-patch-flag", "error", "integrity", "Flag bit 5 (compressed patch data) is set; miniz refuses the entry, Python's zipfile refuses to scan it."),
  r("zip-masked-local-header", "error", "integrity", "Flag bit 13 (masked local header) is set; miniz refuses the archive."),
  r("zip-unknown-flags", "warning", "security", "Reserved general-purpose flag bits are set (tools disagree on such entries)."),
  r("zip-compressed-entry", "info", "integrity", "The entry is deflated; torch writes records stored, and compressed storages cannot be memory-mapped."),
  r("zip-unsupported-method", "error", "integrity", "A compression method other than stored or deflate; the entry cannot be read."),
  r("zip-stored-size-mismatch", "error", "integrity", "A stored entry's compressed and uncompressed sizes differ; miniz refuses the archive."),
  r("zip-missing-compressed-data", "error", "integrity", "The entry claims uncompressed bytes from no compressed bytes; miniz refuses the archive."),
  r("zip-invalid-utf8-name", "warning", "integrity", "Flag bit 11 says the name is UTF-8 but it is not; tools decode the name differently."),
  r("zip-entry-comment", "info", "integrity", "An entry carries a file comment."),
  r("zip-multi-disk", "error", "integrity", "Disk numbers say the archive spans several disks; miniz refuses it."),
  r("zip-eocd-count-mismatch", "error", "integrity", "Entries on this disk differ from total entries; miniz refuses the archive."),
  r("zip64-eocd-mismatch", "warning", "security", "The zip64 end record disagrees with the classic one; tools that read different records see different archives."),
  r("zip64-locator-invalid", "warning", "integrity", "A zip64 locator points at something that is not a zip64 end record."),
  r("zip-comment", "info", "integrity", "The archive has a comment."),
  r("zip-comment-length-mismatch", "warning", "integrity", "The declared archive comment runs past the end of the file."),
  r("zip-data-before-archive", "warning", "security", "Bytes precede the first local header: a prepended file or polyglot. Pickles in them are scanned."),
  r("zip-data-after-archive", "warning", "security", "Bytes follow the end record and its comment: an appended file or polyglot. Pickles in them are scanned."),
  r("zip-unreferenced-data", "warning", "security", "Bytes between entries that no entry claims (a hiding place). Pickles in them are scanned."),
  r("zip-directory-gap", "warning", "security", "Bytes between the central directory and the end record."),
  r("zip-directory-overlap", "warning", "integrity", "The central directory, as declared, runs into the end record."),
  r("zip-overlapping-entries", "error", "security", "Entries' bytes overlap each other or the central directory (a zip bomb or polyglot trick)."),
  r("zip-local-name-mismatch", "warning", "security", "The local header names the entry differently from the central directory; tools reading local headers see another file."),
  r("zip-local-size-mismatch", "warning", "security", "The local header's sizes differ from the central directory's."),
  r("zip-local-crc-mismatch", "warning", "security", "The local header's CRC-32 differs from the central directory's."),
  r("zip-local-header-mismatch", "warning", "security", "The local header's flags or method differ from the central directory's (torch reads only the central directory's)."),
  r("zip-quirks-omitted", "info", "report", "The zip reader stopped listing irregularities of one kind after many."),

  // Legacy (torch < 1.6) stream.
  r("legacy-bad-magic", "error", "integrity", "The first pickle is not torch's legacy magic number 0x1950a86a20f9469cfc6c."),
  r("legacy-bad-protocol", "error", "integrity", "The second pickle is not the legacy protocol version 1001."),
  r("legacy-bad-sys-info", "warning", "integrity", "The sys_info pickle is not the expected dict (protocol_version, little_endian, type_sizes)."),
  r("legacy-storage-truncated", "error", "integrity", "A storage's 8-byte count or its bytes run past the end of the file."),
  r("legacy-storage-size-mismatch", "error", "integrity", "A storage's stored element count differs from the count its persistent id declared."),
  r("legacy-storage-unreferenced", "warning", "integrity", "The storage-key list names a key no persistent id declared (torch's loader asserts on it)."),
  r("legacy-storage-unlisted", "error", "integrity", "A persistent id declares a storage the storage-key list does not name: its bytes are never loaded."),
  r("trailing-data", "warning", "security", "Bytes follow the end of the checkpoint (after the last storage, tar archive or npy data): an appended file or polyglot. Pickles in them are scanned."),

  // gzip wrapper.
  r("gzip-damaged", "error", "integrity", "The gzip stream cannot be inflated."),
  r("gzip-truncated", "error", "integrity", "The gzip stream ends before its end (the file was cut short)."),
  r("gzip-crc-mismatch", "error", "integrity", "The CRC-32 in the gzip trailer differs from that of the inflated bytes."),
  r("gzip-size-mismatch", "error", "integrity", "The size in the gzip trailer differs from the inflated size (mod 2^32)."),
  r("gzip-trailing-data", "warning", "security", "Bytes follow the first gzip member (another member or junk)."),
  r("gzip-nested", "error", "security", "gzip inside gzip: not inflated further (a decompression-bomb pattern)."),

  // Tar (torch <= 0.1.9) and numpy containers.
  r("tar-damaged", "error", "integrity", "The tar archive cannot be read, or lacks a member torch's tar loader needs (sys_info, pickle, storages, tensors)."),
  r("npy-damaged", "error", "integrity", "A .npy header or its data is malformed or cut short."),

  // Pickle streams.
  r("pickle-truncated", "error", "integrity", "A pickle ends before STOP: the file was cut short."),
  r("pickle-invalid", "error", "integrity", "A pickle is malformed (unknown opcode, bad argument, stack or memo misuse); the message names the decoder's error code, opcode and offset."),
  r("pickle-trailing-bytes", "warning", "security", "Bytes follow the pickle's STOP that are not part of the format (ignored by torch, seen by other tools)."),
  r("joblib-arrays", "info", "integrity", "A joblib dump: each numpy array's raw bytes follow its NumpyArrayWrapper's BUILD inside the pickle stream (not opcodes, so they were stepped over); an object array's nested pickle was scanned as a pickle."),
  r("pickle-multiple", "warning", "security", "Several pickles follow each other where one is expected; each was scanned (a loader reads only the first, another tool may read the rest)."),

  // Security.
  r("global-dangerous", "error", "security", "The pickle imports a callable that can execute code, run commands, touch files or the network, or import modules (see docs/security.md). Nothing was executed."),
  r("global-unresolved", "error", "security", "STACK_GLOBAL takes its module or name from a value computed at load time: the import cannot be known without running the pickle."),
  r("global-type-confusion", "warning", "security", "STACK_GLOBAL is given non-string operands (Python refuses at that point); a known trick to crash scanners."),
  r("global-unknown", "error", "security", "The pickle imports a global that is not on the allow-list (torch's weights_only list for the `--torch` target, the plain-data list, `--allow` rules): loading needs that code (e.g. a whole pickled nn.Module) and runs whatever it does. Not on the allow-list is never ok."),
  r("torchscript-code", "warning", "security", "A TorchScript archive: the code under code/ runs when the archive is loaded with torch.jit.load (torch 1.13's torch.load hands it there). The code files are listed; constants.pkl and the archive's other pickles are scanned."),
  r("global-allowed-by-user", "info", "security", "The pickle imports a global that only a user rule (`--allow`, `--allow-file`) admits; the finding names the rule."),
  r("global-mutation", "error", "security", "BUILD, SETITEM or APPEND is applied to an imported module, class or module-level object itself: it changes that object in the loading process, so later lookups (even of allowed names) return what the pickle planted (picklescan's sys_module_override sample)."),
  r("global-plain-data", "info", "security", "The pickle imports a known plain-data holder (numpy arrays and scalars, argparse.Namespace, ...) that weights_only refuses; `convert --sanitize` can rewrite it."),
  r("nested-pickle", "info", "security", "Bytes handed to a loader (torch.storage._load_from_bytes, pickle.loads, torch.load, ...) hold a pickle; it was scanned, and its findings name it as their record."),
  r("nested-depth-exceeded", "error", "security", "Pickles nested inside pickles deeper than the validator follows (a scanner-evasion pattern)."),
  r("ext-opcode", "warning", "security", "EXT1/EXT2/EXT4 push an object from copyreg's extension registry: what they load depends on the loading process, not on the file."),
  r("persistent-id-unusual", "warning", "security", "A persistent id that is not torch's ('storage', ...) tuple: what it loads depends on the loader's persistent_load."),
  r("expansion-attack", "warning", "security", "Memo references (GET/DUP) vastly outnumber memo stores (PUT/MEMOIZE): a billion-laughs structure that explodes when copied or printed."),
  r("deep-nesting", "warning", "security", "MARKs nest very deeply, which overflows recursive consumers of the pickle."),
  r("embedded-pickle", "warning", "security", "A pickle found where the format has none (inside an unknown file, after an archive, in unclaimed bytes): a polyglot. Its imports are classified as usual."),

  // weights_only=True emulation (only with the weightsOnly option).
  r("weights-only-accepted", "info", "weights-only", "torch.load(weights_only=True) of this torch version would accept the file."),
  r("weights-only-opcode", "error", "weights-only", "An opcode the weights_only unpickler does not implement (it raises 'Unsupported operand')."),
  r("weights-only-global", "error", "weights-only", "A GLOBAL outside the weights_only allow-list (or in a blocked module)."),
  r("weights-only-call", "error", "weights-only", "REDUCE, NEWOBJ, BUILD, APPEND or SETITEM applied to an object the weights_only unpickler refuses."),
  r("weights-only-persistent-id", "error", "weights-only", "A persistent id the weights_only unpickler refuses (not a ('storage', ...) tuple)."),
  r("weights-only-format", "error", "weights-only", "torch.load cannot read this container with weights_only=True (gzip, a plain pickle without the legacy header, TorchScript on newer torch, numpy files)."),

  // Training state.
  r("tensor-non-finite", "warning", "training", "A floating-point tensor holds NaN or infinite values; counts are given."),
  r("scalar-non-finite", "warning", "training", "A Python float (or complex) in the value graph is NaN or infinite, such as a per-step dump's loss (±inf under a best_/min_/max_ key is taken as the usual sentinel and not reported)."),
  r("tensor-scan-skipped", "info", "training", "A tensor's values could not be scanned for NaN/Inf (no data, unreadable storage, or too large to gather)."),
  r("optimizer-param-count", "warning", "training", "The optimizer's param_groups list a different number of parameters than the model state_dict has trainable-looking tensors."),
  r("optimizer-shape-mismatch", "warning", "training", "An optimizer state tensor (exp_avg, momentum_buffer, ...) has a shape no matching model parameter has."),
  r("optimizer-state-orphan", "warning", "training", "Optimizer state is kept for a parameter index that no param_group lists."),
  r("resume-part-found", "info", "training", "A part a training resume needs was found (model, optimizer, scheduler, GradScaler, RNG states, epoch/step, loss), with its key path."),
  r("resume-part-missing", "info", "training", "Parts a training resume needs that are absent, listed in one finding: resuming from this file loses them."),
  r("module-prefix", "info", "training", "Every key of the model state_dict starts with \"module.\" (saved from DataParallel/DDP); `stripPrefix` removes it."),
] as const;

/** Every finding code. */
export type FindingCode = (typeof RULES)[number]["code"];

/** Rules by code. */
export const RULES_BY_CODE: Readonly<Record<FindingCode, RuleInfo & { readonly code: FindingCode }>> = Object.fromEntries(
  RULES.map((rule) => [rule.code, rule]),
) as unknown as Record<FindingCode, RuleInfo & { readonly code: FindingCode }>;
