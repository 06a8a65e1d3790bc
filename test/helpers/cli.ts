import { run } from '../../src/cli/run.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in process in `cwd`, capturing its output. */
export async function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  return cliEnv(cwd, {}, ...args);
}

/** Runs the CLI with environment variables (e.g. CORDON_TOKEN). */
export async function cliEnv(
  cwd: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const status = await run(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd,
    interactive: false,
  });
  return { status, stdout, stderr };
}

export async function cliJson<T>(cwd: string, ...args: string[]): Promise<T> {
  const r = await cli(cwd, '--json', ...args);
  if (r.status !== 0) throw new Error(`cordon ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
