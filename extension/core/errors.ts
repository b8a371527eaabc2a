/**
 * An error caused by the user's input (file, parameter, missing array).
 * Its message is one sentence meant to be shown as-is; the CLI maps it to exit code 2.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A method was asked to run without an input role it needs. */
export class MissingInputError extends InputError {
  constructor(
    readonly method: string,
    readonly role: string,
    detail?: string,
  ) {
    super(`${method} needs ${role}${detail ? ` (${detail})` : ''} — not in this bundle.`);
  }
}
