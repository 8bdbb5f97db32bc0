/** The zip format's fixed numbers: record signatures, fixed sizes, and general-purpose flag bits (APPNOTE 4.3, 4.4.4). */

/** The local file header signature `PK\x03\x04` as a little-endian u32 (the other record signatures follow). */
export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_EOCD64_LOCATOR = 0x07064b50;
/** Size of a local file header's fixed part (before the name and extra field). */
export const LOCAL_HEADER_SIZE = 30;
export const LOCAL_SIGNATURE_BYTES = [0x50, 0x4b, 0x03, 0x04];
export const EOCD_SIZE = 22;
export const EOCD64_SIZE = 56;
export const LOCATOR_SIZE = 20;
export const MAX_COMMENT = 0xffff;
export const U32_MAX = 0xffffffff;
export const U16_MAX = 0xffff;

// General-purpose flag bits.
/** Flag bit 3: sizes and CRC follow the data in a descriptor (torch's writer always sets it). */
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_PATCH = 0x0020;
export const FLAG_STRONG = 0x0040;
export const FLAG_UTF8 = 0x0800;
export const FLAG_MASKED = 0x2000;
// Bits 1-2 are deflate options and bit 3 (a data descriptor follows the data) is set by torch's
// own writer; everything outside KNOWN_FLAGS is reserved or unused.
export const KNOWN_FLAGS = 0x0001 | 0x0002 | 0x0004 | FLAG_DESCRIPTOR | FLAG_PATCH | FLAG_STRONG | FLAG_UTF8 | FLAG_MASKED;
/** The flag bits that are no quirk (everything else makes {@link checkFlags} report). */
export const QUIET_FLAGS = 0x0002 | 0x0004 | FLAG_DESCRIPTOR | FLAG_UTF8;
