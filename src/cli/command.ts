/** The shape every CLI command has: its options for `util.parseArgs`, help text, and a run function. */
export interface CommandContext {
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Writes one line to stdout. */
  readonly out: (line: string) => void;
  /** Writes one line to stderr (progress, notes). */
  readonly err: (line: string) => void;
  /** True when stderr is a terminal (progress bars). */
  readonly interactive: boolean;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }>;
  /** Fewest positional arguments (default 1: a FILE). */
  readonly minPositionals?: number;
  readonly maxPositionals?: number;
  /** Returns the exit status. */
  run(ctx: CommandContext): number | Promise<number>;
}
