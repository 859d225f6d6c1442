// Runs the tabby CLI from source in a child process (`vite-node test/dataplane/run-cli.ts <args>`), for suites
// that need a real agent process to kill.
import { runCli } from '../../src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(),
});
