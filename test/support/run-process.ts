/**
 * Runs a process to its end without blocking the test worker. `spawnSync` would block the worker's event loop for the
 * whole run; past vitest's 60 s RPC timeout (several slow runs in a row, or over SSH), the worker's pending
 * `onTaskUpdate` call times out and the run exits 1 though every test passed.
 */
import { spawn, type StdioOptions } from "node:child_process";

/** How a process ended, and all it wrote (the shape of `spawnSync`'s result, as Buffers). */
export interface ProcessRun {
  /** The exit code, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is closed at once (as `spawnSync` does). */
  input?: Uint8Array | string;
  /** Sends SIGTERM after this many milliseconds (as `spawnSync`'s `timeout`). */
  timeout?: number;
  /** stdout and stderr; `stdio[1]` may be a file descriptor, then `stdout` is empty. Default: all pipes. */
  stdio?: StdioOptions;
  /** Run as this user and group (as root only): what a file unreadable to that user does, which root reads anyway. */
  user?: { uid: number; gid: number };
}

/** Runs `command` with `args` and resolves with how it ended; rejects only when it cannot be started. */
export function runProcess(command: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: options.stdio ?? ["pipe", "pipe", "pipe"],
      timeout: options.timeout,
      ...options.user,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (status, signal) =>
      resolvePromise({ status, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }),
    );
    // A child that exits without reading all its input closes the pipe: EPIPE then is no failure of the run.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? Buffer.alloc(0));
  });
}
