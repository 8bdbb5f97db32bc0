// Asserting on errors: what `f` threw, and that it was a torchsave error with the expected code.
import { expect } from "vitest";
import { isTorchsaveError } from "../../src/errors.js";

/** What `f` threw; fails the test when it returns normally. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** `f` throws a torchsave error with this `code` (and this key `path`, when given). */
export function expectCode(f: () => unknown, code: string, path?: (string | number)[]): void {
  const error = thrown(f);
  expect(isTorchsaveError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (path !== undefined) expect((error as { path?: unknown }).path).toEqual(path);
}
