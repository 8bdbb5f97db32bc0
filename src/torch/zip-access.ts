// Container access for tools (CLI, validate): detection and the zip directory, re-exported in one place.
export { detectContainer } from "./detect.js";
export type { ContainerKind } from "./detect.js";
export { openZip, openZipSync, readEntry, readEntrySync, entryDataOffset, entryDataOffsetSync } from "./zip-reader.js";
export type { ZipArchive, ZipEntry, ZipQuirk } from "./zip-reader.js";
