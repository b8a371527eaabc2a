export interface CliCommand {
  readonly name: string;
  /** One usage line, e.g. `prune <bundle.npz> --method <id> [...]`. */
  readonly usage: string;
  /** Returns the exit code; throws InputError for bad input (exit 2). */
  run(args: string[]): Promise<number>;
}
