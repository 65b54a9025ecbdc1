/**
 * Helpers for the CLI tests: run the BUILT `vhd` (built once per run by test/support/build-once.ts) as a child process,
 * and give each test its own temporary folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { ERROR_TABLE, formatHresult, type ErrorName } from "../../provider/errors";
import { runProcess, type RunProcessOptions } from "../support/run-process";

export const REPO_ROOT = resolve(__dirname, "../..");
/** The built entry point, which the `bin.vhd` launcher (provider/bin/vhd.js) requires. */
export const CLI_MAIN = join(REPO_ROOT, "provider/dist/cli/main.js");

/** What a `vhd` run gave back. */
export interface VhdRun {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as text. */
  text: string;
}

/** Runs the built `vhd` with `args`, feeding `input` to its stdin. */
export async function runVhd(
  args: readonly string[],
  options: { input?: Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv; user?: RunProcessOptions["user"] } = {},
): Promise<VhdRun> {
  const run = await runProcess(process.execPath, [CLI_MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    input: options.input,
    user: options.user,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString("utf8"), text: run.stdout.toString("utf8") };
}

/** Starts the built `vhd` without waiting, for tests that signal it. */
export function startVhd(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [CLI_MAIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `vhd` expecting success, and returns its output; a failure shows the CLI's stderr. */
export async function runVhdOk(args: readonly string[], options: { input?: Uint8Array } = {}): Promise<VhdRun> {
  const run = await runVhd(args, options);
  expect(run.stderr, `vhd ${args.join(" ")}`).toBe("");
  expect(run.status).toBe(0);
  return run;
}

/**
 * Asserts the CLI failed the way every failure must look: a non-zero exit and exactly ONE stderr line
 * `vhd: NAME (0xHRESULT): [parameter] "path": sentence`.
 */
export function expectOneLineError(run: VhdRun, code: ErrorName, path?: string, status = 1): void {
  expect(run.status, run.stderr).toBe(status);
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  expect(lines, run.stderr).toHaveLength(1);
  const prefix = `vhd: ${code} (${formatHresult(ERROR_TABLE[code].hresult)}): `;
  expect(lines[0]?.startsWith(prefix), run.stderr).toBe(true);
  if (path !== undefined) expect(lines[0]).toContain(JSON.stringify(path));
}

/** A fresh temporary folder, and a function that removes it. */
export function makeTempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `vhd-cli-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
