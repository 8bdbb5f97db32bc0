import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateCommand } from "../../../src/cli/commands/validate.js";
import { UsageError } from "../../../src/cli/errors.js";
import { REPO } from "../../helpers/corpus.js";
import { callPickle } from "./pickle-asm.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const clean = join(REPO, "fixtures/torch/protocol-2.pt");
const warned = join(REPO, "fixtures/torch/whole-module.pt");
const evil = join(dir, "evil.pkl");
writeFileSync(evil, callPickle("os", "system", "id"));

async function run(args: string[], values: Record<string, string | boolean | string[]> = {}) {
  const lines: string[] = [];
  const code = await validateCommand.run({ positionals: args, values, out: (l) => lines.push(l), err: (l) => lines.push(l), interactive: false });
  return { code, text: lines.join("\n") };
}

describe("torchsave validate", () => {
  it("exits 0 on a clean checkpoint and prints a summary", async () => {
    const { code, text } = await run([clean]);
    expect(code).toBe(0);
    expect(text).toMatch(/protocol-2\.pt: ok \(zip, \d+ bytes\): 0 error\(s\), 0 warning\(s\)/);
    expect(text).toMatch(/imports collections\.OrderedDict \(allowed by weights_only \(torch current\)\)/);
  });

  it("exits 1 on a dangerous import, one line per finding with its location", async () => {
    const { code, text } = await run([evil]);
    expect(code).toBe(1);
    expect(text).toContain(`${evil}: error global-dangerous at byte 2: imports os.system`);
    expect(text).toMatch(/FAILED/);
  });

  it("fails on a global that is not on the allow-list, and passes once --allow admits it", async () => {
    const refused = await run([warned]);
    expect(refused.code).toBe(1);
    expect(refused.text).toMatch(/error global-unknown .*imports torch_models\.TinyNet: not on the allow-list/);
    expect(refused.text).toMatch(/torch_models\.TinyNet \(not on the allow-list\)/);
    const admitted = await run([warned], { allow: ["torch_models.TinyNet", "torch.nn.modules.**"] });
    expect(admitted.code, admitted.text).toBe(0);
    expect(admitted.text).toMatch(/info global-allowed-by-user .*torch_models\.TinyNet: admitted by --allow torch_models\.TinyNet/);
    expect(admitted.text).toMatch(/torch\.nn\.modules\.linear\.Linear \(allowed by --allow torch\.nn\.modules\.\*\*\)/);
    // One star stays inside one dotted component.
    expect((await run([warned], { allow: ["torch_models.TinyNet", "torch.nn.modules.*"] })).code).toBe(1);
  });

  it("reads rules from --allow-file (comments and blank lines ignored) and names the file and line", async () => {
    const file = join(dir, "allow.txt");
    writeFileSync(file, "# my project\n\ntorch_models.*   # the model\ntorch.nn.modules.**\n");
    const { code, text } = await run([warned], { "allow-file": [file] });
    expect(code, text).toBe(0);
    expect(text).toContain(`admitted by ${file}:3 torch_models.*`);
    await expect(run([warned], { allow: ["os..system"] })).rejects.toBeInstanceOf(UsageError);
    await expect(run([warned], { "allow-file": [join(dir, "none.txt")] })).rejects.toBeInstanceOf(UsageError);
  });

  it("never lets a user rule admit a known gadget", async () => {
    const { code, text } = await run([evil], { allow: ["os.system", "os.**"] });
    expect(code).toBe(1);
    expect(text).toContain("error global-dangerous at byte 2: imports os.system");
  });

  it("fails on warnings only with --strict", async () => {
    const allow = ["torch_models.TinyNet", "torch.nn.modules.**"];
    const warnedOnly = join(dir, "extra.pkl");
    writeFileSync(warnedOnly, new Uint8Array([0x80, 0x02, 0x4e, 0x2e, 0x4e, 0x2e]));
    expect((await run([warnedOnly], { allow })).code).toBe(0);
    expect((await run([warnedOnly], { allow, strict: true })).code).toBe(1);
  });

  it("answers --weights-only for the chosen torch version", async () => {
    const current = await run([clean], { "weights-only": true });
    expect(current.text).toMatch(/torch\.load\(weights_only=True\) \(torch current\): accepted/);
    const old = await run([join(REPO, "fixtures/torch/optim-adam.pt")], { "weights-only": true, torch: "1.13" });
    expect(old.code).toBe(1);
    expect(old.text).toMatch(/weights-only-opcode .*BINFLOAT/);
    await expect(run([clean], { torch: "3.0" })).rejects.toBeInstanceOf(UsageError);
  });

  it("exits 2 when a file cannot be read, after checking the others", async () => {
    const { code, text } = await run([clean, join(dir, "missing.pt")]);
    expect(code).toBe(2);
    expect(text).toMatch(/missing\.pt: error unreadable: no such file/);
    expect(text).toMatch(/2 files: 1 failed, 1 ok/);
  });

  it("prints one JSON document with --json", async () => {
    const { code, text } = await run([clean, evil], { json: true });
    expect(code).toBe(1);
    const doc = JSON.parse(text) as { failOn: string; files: { file: string; findings: { code: string }[] }[] };
    expect(doc.failOn).toBe("error");
    expect(doc.files.map((f) => f.file)).toEqual([clean, evil]);
    expect(doc.files[1]!.findings.map((f) => f.code)).toContain("global-dangerous");
  });
});
