import { SingleBar } from 'cli-progress';

/** What a command may touch of the outside world: passed in, so tests run commands in process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  interactive: boolean;
}

export function processIo(): Io {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stderr.isTTY) && !process.env['CI'],
  };
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** A progress reporter: a bar on a terminal, nothing otherwise. */
export function progress(
  io: Io,
  label: string,
  total?: number,
): { update: (n: number) => void; stop: () => void } {
  if (!io.interactive) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: total ? `${label} [{bar}] {percentage}% {value}/{total}` : `${label} {value} records`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total ?? 0, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

export const short = (digest: string): string => digest.slice(0, 12);
