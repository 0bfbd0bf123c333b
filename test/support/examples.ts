/** The examples under examples/ as child processes on a free port, stopped by PID. */
import { type ChildProcess, spawn } from 'node:child_process';

const children: ChildProcess[] = [];

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Starts `npx tsx <path>` with PORT=0 and resolves with the URL it prints ("listening on <url>"). */
export function startExample(
  path: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ url: url.replace(/\/$/, ''), child });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`${path} exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`${path} did not start: ${out}`)), 45_000).unref();
  });
}

export async function stopExample(child: ChildProcess): Promise<void> {
  if (!running(child) || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** For `after()`: kills, by PID, every example still running (a test that failed midway). */
export function killExamples(): void {
  for (const child of children)
    if (running(child) && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
}

/**
 * Asserts that every non-blank line of `code` appears in the file, in order:
 * the README's snippets are copied from tested examples, never written apart.
 */
export function linesInOrder(code: string, file: string): string | undefined {
  let at = 0;
  for (const line of code.trimEnd().split('\n')) {
    if (line.trim() === '') continue;
    const found = file.split('\n').indexOf(line, at);
    if (found < 0) return line;
    at = found + 1;
  }
  return undefined;
}
