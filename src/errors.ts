/**
 * One error tree for the whole library. Programs read the fields (`code`, `offset`, `entry`,
 * `path`); people read `message`, which already names all of them.
 */

/** What went wrong, as a stable string a program can switch on. */
export type ErrorCode =
  /** The input ended before a complete value; `incomplete` is true. */
  | "truncated"
  | "unknown-opcode"
  | "stack-underflow"
  | "mark-missing"
  | "memo-missing"
  /** A configured bound (depth, memo size, stack, bytes, container items) was exceeded. */
  | "limit-exceeded"
  /** An opcode argument or a record is malformed (bad text, bad number, wrong type). */
  | "invalid-data"
  /** A value of an unexpected Python type stands where another was needed. */
  | "type-mismatch"
  /** A global the caller's policy refuses. */
  | "disallowed-global"
  | "unknown-extension"
  | "missing-buffer"
  /** The container (zip, legacy stream, tar, gzip) is damaged or not what it claims. */
  | "bad-archive"
  /** A zip record's bytes do not match the CRC-32 its directory records (damaged in storage or transit). */
  | "crc-mismatch"
  /** A record the pickle refers to does not exist. */
  | "missing-record"
  /** Readable in principle, but not by this version of torchsave. */
  | "unsupported"
  /** The encoder was given a value it cannot express at the requested protocol or format. */
  | "unencodable"
  /** A caller passed an argument that makes no sense (bad option, bad shape). */
  | "invalid-argument"
  /** Reading or writing through the host failed (file system, source callback). */
  | "io";

/** A path of dict keys and list/tuple indices from the root of a value. */
export type KeyPath = readonly (string | number)[];

/** Where an error happened; every field is optional because not every layer knows each. */
export interface ErrorLocation {
  /** Byte offset in the stream the failing layer was reading (the pickle, the record or the file). */
  readonly offset?: number;
  /** The zip entry or legacy record name the offset refers to. */
  readonly entry?: string;
  /** Key path of the value being built or converted. */
  readonly path?: KeyPath;
  /** Name of the pickle opcode that failed. */
  readonly opcode?: string;
  /** File name, filled in by the Node and CLI layers. */
  readonly file?: string;
}

export interface TorchsaveErrorOptions extends ErrorLocation {
  readonly cause?: unknown;
}

const ERROR_BRAND = "TorchsaveError";

/** The base of every error torchsave throws on purpose. */
export class TorchsaveError extends Error {
  override readonly name: string = ERROR_BRAND;
  readonly code: ErrorCode;
  /** The reason without the location suffix, for renderers that place the location themselves. */
  readonly reason: string;
  readonly offset: number | undefined;
  readonly entry: string | undefined;
  readonly path: KeyPath | undefined;
  readonly opcode: string | undefined;
  readonly file: string | undefined;
  /** True when the input looks valid but ends too early (a truncated download, a killed writer). */
  readonly incomplete: boolean;

  constructor(code: ErrorCode, reason: string, options: TorchsaveErrorOptions = {}) {
    super(formatMessage(code, reason, options), options.cause === undefined ? undefined : { cause: options.cause });
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.reason = reason;
    this.offset = options.offset;
    this.entry = options.entry;
    this.path = options.path;
    this.opcode = options.opcode;
    this.file = options.file;
    this.incomplete = code === "truncated";
  }

  /** A copy of this error with more location filled in (outer layers know the entry or file). */
  withLocation(extra: ErrorLocation): TorchsaveError {
    const merged: TorchsaveErrorOptions = {
      ...pickDefined({ offset: this.offset, entry: this.entry, path: this.path, opcode: this.opcode, file: this.file }),
      ...pickDefined(extra as Record<string, unknown>),
      cause: this.cause,
    };
    const copy = new (this.constructor as new (c: ErrorCode, r: string, o: TorchsaveErrorOptions) => TorchsaveError)(
      this.code,
      this.reason,
      merged,
    );
    return copy;
  }
}

export class PickleDecodeError extends TorchsaveError {
  override readonly name = "PickleDecodeError";
}
export class PickleEncodeError extends TorchsaveError {
  override readonly name = "PickleEncodeError";
}
export class CheckpointError extends TorchsaveError {
  override readonly name = "CheckpointError";
}
export class ConvertError extends TorchsaveError {
  override readonly name = "ConvertError";
}

/** True for any torchsave error, even one from a second copy of the package (checks shape, not instanceof). */
export function isTorchsaveError(e: unknown): e is TorchsaveError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { reason?: unknown }).reason === "string" &&
    typeof (e as { name?: unknown }).name === "string" &&
    /Error$/.test((e as { name: string }).name) &&
    "incomplete" in e
  );
}

/** Renders a key path the way Python code would index it: `["state"][0]["exp_avg"]`. */
export function formatKeyPath(path: KeyPath): string {
  return path.map((k) => (typeof k === "number" ? `[${k}]` : `[${JSON.stringify(k)}]`)).join("");
}

function formatMessage(code: ErrorCode, reason: string, where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.opcode !== undefined) parts.push(`opcode ${where.opcode}`);
  if (where.offset !== undefined) parts.push(`byte ${where.offset}`);
  if (where.entry !== undefined) parts.push(`in ${where.entry}`);
  if (where.path !== undefined && where.path.length > 0) parts.push(`at ${formatKeyPath(where.path)}`);
  if (where.file !== undefined) parts.push(`of ${where.file}`);
  const location = parts.length > 0 ? ` (${parts.join(", ")})` : "";
  return `${code}: ${reason}${location}`;
}

function pickDefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
