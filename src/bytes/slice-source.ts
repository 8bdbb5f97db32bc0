/** A window `[offset, offset + length)` of another source, itself a source (a DCP item inside a `.distcp` file). */
import { checkReadRange, type ByteSource } from "./source.js";

/**
 * The bytes `[offset, offset + length)` of `parent` as a source of their own: reads are shifted,
 * and the sync and in-memory abilities of the parent are kept.
 * @throws CheckpointError `truncated` when the window reaches past the parent's end.
 */
export function sliceSource(parent: ByteSource, offset: number, length: number, name?: string): ByteSource {
  checkReadRange(parent.size, offset, length, parent.name);
  const label = name ?? parent.name;
  const named = label === undefined ? {} : { name: label };
  if (parent.bytes !== undefined) {
    const bytes = parent.bytes.subarray(offset, offset + length);
    const readSync = (o: number, n: number): Uint8Array => {
      checkReadRange(length, o, n, label);
      return bytes.subarray(o, o + n);
    };
    return { size: length, bytes, readSync, read: async (o, n) => readSync(o, n), ...named };
  }
  const parentSync = parent.readSync;
  return {
    size: length,
    read: async (o, n) => {
      checkReadRange(length, o, n, label);
      return parent.read(offset + o, n);
    },
    ...(parentSync === undefined
      ? {}
      : {
          readSync: (o: number, n: number) => {
            checkReadRange(length, o, n, label);
            return parentSync.call(parent, offset + o, n);
          },
        }),
    ...named,
  };
}
