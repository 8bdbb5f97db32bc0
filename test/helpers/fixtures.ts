/**
 * Access to the pickle fixtures that fixtures/gen_pickle.py wrote (fixtures/pickle/README.md):
 * the manifest, each fixture's bytes, transcript and expected JSON, and the decode options
 * (out-of-band buffers, extension registry) its manifest entry asks for.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "../../src/convert/json-value.js";
import type { DecodeOptions } from "../../src/pickle/decoder.js";
import { pyGlobal, type PyGlobal } from "../../src/pickle/value.js";

export const PICKLE_FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/pickle");

/** One decode of one fixture pickle (a `.pkl` may appear in several entries with other options). */
export interface PickleFixture {
  /** The pickle, relative to fixtures/pickle. */
  readonly file: string;
  /** The protocol given to the pickler; pickletools' highest opcode protocol for hand-made pickles. */
  readonly protocol: number;
  /** The decoded value in the lossless JSON format. */
  readonly expected: string;
  /** Out-of-band buffers, a JSON list of base64 strings. */
  readonly buffers?: string;
  /** The extension registry, a JSON list of `{code, module, name}`. */
  readonly extensions?: string;
  /** Which kind of persistent ids the pickle holds (they decode to `$persid` without a hook). */
  readonly persistent?: "text" | "binary";
  readonly description?: string;
  /** Names of the opcodes the pickle contains, sorted. */
  readonly opcodes: readonly string[];
}

export interface PickleManifest {
  /** The CPython version that wrote the fixtures. */
  readonly python: string;
  readonly fixtures: readonly PickleFixture[];
}

/** One row of opcodes.json: pickletools' view of an opcode. */
export interface OpcodeRow {
  readonly name: string;
  readonly code: number;
  readonly arg: string | null;
  readonly stack_before: readonly string[];
  readonly stack_after: readonly string[];
  readonly proto: number;
}

export const fixturePath = (name: string): string => resolve(PICKLE_FIXTURES, name);
export const readFixtureBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(name)));
export const readFixtureText = (name: string): string => readFileSync(fixturePath(name), "utf8");
export const readFixtureJson = <T = JsonValue>(name: string): T => JSON.parse(readFixtureText(name)) as T;

export const loadPickleManifest = (): PickleManifest => readFixtureJson<PickleManifest>("manifest.json");
export const loadOpcodesJson = (): OpcodeRow[] => readFixtureJson<OpcodeRow[]>("opcodes.json");

/** The `.dis` transcript next to a fixture's `.pkl`. */
export const disFileOf = (fx: PickleFixture): string => fx.file.replace(/\.pkl$/, ".dis");

/** A readable test name: the file, plus what differs when a `.pkl` is decoded more than one way. */
export const fixtureLabel = (fx: PickleFixture): string => `${fx.file} → ${fx.expected}`;

/** Decode options a manifest entry asks for: its out-of-band buffers and extension registry. */
export function decodeOptionsFor(fx: PickleFixture): DecodeOptions<never> {
  const options: { buffers?: Uint8Array[]; extensions?: Map<number, PyGlobal> } = {};
  if (fx.buffers !== undefined) {
    options.buffers = readFixtureJson<string[]>(fx.buffers).map((b) => new Uint8Array(Buffer.from(b, "base64")));
  }
  if (fx.extensions !== undefined) {
    const rows = readFixtureJson<{ code: number; module: string; name: string }[]>(fx.extensions);
    options.extensions = new Map(rows.map((r) => [r.code, pyGlobal(r.module, r.name)]));
  }
  return options;
}
