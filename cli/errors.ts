// Errors of the command line itself (bad arguments, a file that does not parse), shown
// to the user as they are, without a mesh error code.
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
