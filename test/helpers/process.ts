// Runs the real `vakt` command as a child process, the way an operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment without the operator's language: vakt's own output is English (LANG=C) unless a
 * test sets LC_ALL, LC_MESSAGES or LANG itself, whatever the machine running the tests speaks.
 */
function withoutLocale(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !/^(LC_ALL|LC_MESSAGES|LANG)$/.test(name)) result[name] = value;
  }
  return { ...result, LANG: 'C' };
}

export interface VaktProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

// Every server child still running when this test file's process ends is killed with it, so a
// test that fails half-way cannot leave a server behind that keeps the run from ending.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts several `vakt` processes at once; when one fails to start, the others are stopped
 * before the error is thrown (nothing else would hold them to stop them).
 */
export async function startVaktProcesses(
  starts: { args: string[]; env: Record<string, string>; port: number }[],
): Promise<VaktProcess[]> {
  const results = await Promise.allSettled(starts.map((s) => startVaktProcess(s.args, s.env, s.port)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<VaktProcess>).value);
  await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  throw failed.reason;
}

/** Starts `vakt <args>` and waits until it answers /healthz on `port`. */
export async function startVaktProcess(
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<VaktProcess> {
  const child = spawn(process.execPath, ['bin/vakt.js', ...args], {
    env: {
      ...withoutLocale(process.env),
      NODE_NO_WARNINGS: '1',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `vakt exited with ${child.exitCode}: ${output.replace(/^oidc-provider WARNING.*\n/m, '')}`,
      );
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`vakt did not start within 30 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface VaktRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of the test run without anything that would point vakt elsewhere, and in
 * English (see withoutLocale).
 */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(withoutLocale(process.env))) {
    if (value === undefined || /^(VAKT_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$|NODE_OPTIONS$)/.test(name))
      continue;
    env[name] = value;
  }
  return { ...env, NODE_NO_WARNINGS: '1' };
}

/** Runs one `vakt` command to its end, in a clean environment plus `env`, with `stdin` as input. */
export function runVakt(args: string[], env: Record<string, string>, stdin?: string): Promise<VaktRun> {
  return runNode(['bin/vakt.js', ...args], { env: { ...cleanEnv(), ...env }, stdin });
}

/**
 * Runs Node with `args` to its end, with `stdin` as input; after `timeoutMs` (60 s unless told)
 * it is killed, and `timedOut` says so.
 */
export function runNode(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<VaktRun & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
