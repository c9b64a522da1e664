/**
 * An error whose message is meant for the user as-is: the CLI prints it as one
 * line on stderr and exits non-zero. Anything else is a bug and gets a stack.
 */
export class ReshootError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReshootError';
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isReshootError(err: unknown): err is ReshootError {
  return err instanceof ReshootError;
}
