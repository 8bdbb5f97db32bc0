// Container access for tools (CLI, validate): detection and the zip directory, re-exported in one place.
export { detectContainer } from "./detect.js";
export type { ContainerKind } from "./detect.js";
export { openZip, openZipSync, readEntry, readEntrySync, entryDataOffset, entryDataOffsetSync } from "../../containers/zip/zip-reader.js";
export type { ZipArchive, ZipEntry, ZipQuirk } from "../../containers/zip/zip-reader.js";
export { scanLocalHeaders, scanLocalHeadersSync } from "../../containers/zip/zip-reader.js";
export { ZIP_QUIRKS, ZIP_QUIRKS_BY_CODE, DEFAULT_MAX_DIRECTORY_BYTES, DEFAULT_MAX_ZIP_ENTRIES, DEFAULT_MAX_INFLATED_SIZE } from "../../containers/zip/zip-reader.js";
export type { ZipOpenOptions, ReadEntryOptions, ZipQuirkCode, ZipQuirkInfo } from "../../containers/zip/zip-reader.js";
export { isTar, readTar, findTarMember } from "../../containers/tar-reader.js";
export type { TarMember } from "../../containers/tar-reader.js";
