// A source that reads only through readSync, as a file does (each read a copy, never a view of
// the input), counting the bytes read: tests that a reader leaves what it should in the file.
export function fileLike(bytes: Uint8Array) {
  const stats = { read: 0 };
  const readSync = (o: number, n: number): Uint8Array => {
    if (o < 0 || o + n > bytes.length) throw new Error(`read past the end: ${o} + ${n}`);
    stats.read += n;
    return bytes.slice(o, o + n);
  };
  return { source: { size: bytes.length, readSync, read: async (o: number, n: number) => readSync(o, n) }, stats };
}
