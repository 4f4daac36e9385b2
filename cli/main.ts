// ambientctl: the operator's command line.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { caCommand } from './ca.js';
import { isMeshError } from '../core/errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('ambientctl')
  .description('operate the ambient mesh: certificates today; the local cluster, enrolment, waypoints and status as they land')
  .version(pkg.version)
  .showHelpAfterError()
  .addCommand(caCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Errors go to stderr with their stable code and a non-zero exit (docs/errors.md).
  const code = isMeshError(err) ? `${err.code}: ` : '';
  process.stderr.write(`error: ${code}${(err as Error).message}\n`);
  process.exitCode = 1;
}
