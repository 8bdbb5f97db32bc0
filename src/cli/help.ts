/** `torchsave COMMAND --help`: usage, summary, every option with what it does, examples, exit status. */
import type { Command, CommandOption } from "./command.js";

/** The options as `util.parseArgs` wants them (help fields stripped). */
export function parseArgsOptions(command: Command): Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(command.options)) {
    out[name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple === undefined ? {} : { multiple: o.multiple }) };
  }
  return out;
}

function optionLabel(name: string, o: CommandOption): string {
  const long = `--${name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
  return o.short === undefined ? long : `-${o.short}, ${long}`;
}

/** Wraps `text` to `width` columns, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line.length > 0 && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line.length === 0 ? w : `${line} ${w}`;
  }
  if (line.length > 0) lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The whole help text of one command. */
export function commandHelp(command: Command): string {
  const entries = Object.entries(command.options);
  const labels = entries.map(([n, o]) => optionLabel(n, o));
  const column = Math.min(30, Math.max(...labels.map((l) => l.length), 0) + 4);
  const pad = " ".repeat(column);
  const options = entries.map(([, o], i) => {
    const label = `  ${labels[i]!}`;
    const lead = label.length + 2 <= column ? label.padEnd(column) : `${label}\n${pad}`;
    return `${lead}${wrap(o.doc, 100 - column, pad)}`;
  });
  return [
    `usage: ${command.usage}`,
    "",
    `${command.summary}.`,
    "",
    "options:",
    ...options,
    `  -h, --help`.padEnd(column) + "show this help",
    "",
    "examples:",
    ...command.examples.map((e) => `  ${e}`),
    "",
    "exit status: 0 ok, 1 findings (validate), 2 bad usage or unreadable input; errors are one line on stderr naming the file.",
  ].join("\n");
}
