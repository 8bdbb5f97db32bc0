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

/** One option of a command: how `util.parseArgs` reads it, and what `--help` says about it. */
export interface CommandOption {
  readonly type: "boolean" | "string";
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help (`N`, `FORMAT`); string options only. */
  readonly arg?: string;
  /** What the option does, its default, and the values it takes (one or two sentences). */
  readonly doc: string;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, CommandOption>>;
  /** Command lines a user can copy, each with a `# what it does` comment; at least one. */
  readonly examples: readonly string[];
  /** Fewest positional arguments (default 1: a FILE). */
  readonly minPositionals?: number;
  readonly maxPositionals?: number;
  /** Returns the exit status. */
  run(ctx: CommandContext): number | Promise<number>;
}
