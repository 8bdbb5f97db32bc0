#!/usr/bin/env node
/** The `torchsave` command line: dispatch, option parsing, exit codes. */
import { parseArgs } from "node:util";
import type { Command } from "./command.js";
import { convertCommand } from "./commands/convert.js";
import { diffCommand } from "./commands/diff.js";
import { inspectCommand } from "./commands/inspect.js";
import { pickleDisCommand } from "./commands/pickle-dis.js";
import { statsCommand } from "./commands/stats.js";
import { tensorsCommand } from "./commands/tensors.js";
import { validateCommand } from "./commands/validate.js";
import { viewCommand } from "./commands/view.js";
import { EXIT_USAGE, formatCliError, UsageError } from "./errors.js";
import { commandHelp, parseArgsOptions } from "./help.js";

const COMMANDS: readonly Command[] = [
  inspectCommand,
  tensorsCommand,
  convertCommand,
  validateCommand,
  pickleDisCommand,
  diffCommand,
  statsCommand,
  viewCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "torchsave: read, write, convert and validate PyTorch checkpoints and pickles, without Python.",
    "",
    "usage: torchsave COMMAND [options]",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `torchsave COMMAND --help` for a command's options. Exit status: 0 ok, 1 findings (validate), 2 bad usage or unreadable input.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const out = (line: string) => void process.stdout.write(`${line}\n`);
  const err = (line: string) => void process.stderr.write(`${line}\n`);
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      out(help());
      return name === undefined ? EXIT_USAGE : 0;
    }
    if (name === "--version" || name === "-V") {
      out(VERSION);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes("--help") || rest.includes("-h")) {
      out(commandHelp(command));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: parseArgsOptions(command), allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, "")}; usage: ${command.usage}`);
    }
    const min = command.minPositionals ?? 1;
    const max = command.maxPositionals ?? 1;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(`usage: ${command.usage}`);
    }
    return await command.run({ positionals: parsed.positionals, values: parsed.values, out, err, interactive: process.stderr.isTTY === true });
  } catch (e) {
    const line = formatCliError(e);
    if (line) err(line);
    if (process.env.TORCHSAVE_DEBUG) err(String((e as Error)?.stack ?? e));
    return EXIT_USAGE;
  }
}

declare const __TORCHSAVE_VERSION__: string | undefined;
const VERSION = typeof __TORCHSAVE_VERSION__ === "string" ? __TORCHSAVE_VERSION__ : "0.1.0";

process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
});
const code = await main(process.argv.slice(2));
process.exitCode = code;
