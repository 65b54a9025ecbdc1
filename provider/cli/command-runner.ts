import type { Command } from "commander";
import { asVhdError, isVhdError, type ErrorParameter } from "../errors";
import type { Storage } from "../storage/port";
import { closeAllSessions } from "../storage/ssh/session-pool";
import { cancelOnSignals } from "./signals";
import { namedOnHost } from "./host-names";
import { locate, withRemoteOptions, type Located, type RemoteOptions } from "./location";
import { ExitStatus, type ExitStatusCode } from "./exit-status";
import { printError } from "./output";
import { startProgress, type Progress } from "./progress-bar";

/** The options every subcommand takes. */
export interface CommonOptions extends RemoteOptions {
  /** Machine output: one JSON document on stdout, errors as JSON on stderr, no progress bar. */
  json?: boolean;
  /** No progress bar. */
  quiet?: boolean;
}

/** What a subcommand's body gets to work with. */
export interface CommandContext {
  readonly json: boolean;
  /** Fires on SIGINT/SIGTERM; pass it to every op as `signal`. */
  readonly signal: AbortSignal;
  /** A progress bar on stderr, silent unless stderr is a terminal and neither `--json` nor `--quiet` was given. */
  progress(label: string): Progress;
  /**
   * The storage holding the command's paths and their paths on it (location.ts `locate`, with the command's remote
   * options). From then on the command's error names its file as that storage does (`ssh://user@host:port/path`).
   */
  locate(paths: readonly { path: string; parameter: ErrorParameter }[]): Promise<Located>;
  /** {@link locate} for one path. */
  locateOne(path: string, parameter: ErrorParameter): Promise<{ storage: Storage; path: string }>;
  /** A result with its host paths named as the located storage names them (host-names.ts), for printing. */
  named<T>(result: T): T;
}

/** Adds `--json`, `--quiet` and the remote-host options (location.ts) to a subcommand; every subcommand has them. */
export function withCommonOptions(command: Command): Command {
  return withRemoteOptions(
    command.option("--json", "machine output: JSON on stdout, errors as JSON on stderr").option("-q, --quiet", "no progress bar"),
  );
}

/**
 * Runs a subcommand's body and turns its outcome into an exit status: the status the body returns (0 when it returns
 * nothing), 1 and one error line for a failure (anything not a `VhdError` becomes `DISP_E_EXCEPTION`), 130/143 when
 * SIGINT/SIGTERM cancelled it.
 */
export async function runCommand(
  options: CommonOptions,
  body: (context: CommandContext) => Promise<ExitStatusCode | void>,
): Promise<void> {
  const json = options.json === true;
  const showProgress = process.stderr.isTTY === true && !json && options.quiet !== true;
  const cancellation = cancelOnSignals();
  const bars: Progress[] = [];
  let located: Storage | undefined;
  const describe = (path: string): string => located?.describe(path) ?? path;
  const context: CommandContext = {
    json,
    signal: cancellation.signal,
    progress(label) {
      const bar = startProgress(label, showProgress);
      bars.push(bar);
      return bar;
    },
    async locate(paths) {
      const found = await locate(paths, options);
      located = found.storage;
      return found;
    },
    async locateOne(path, parameter) {
      const { storage, paths } = await context.locate([{ path, parameter }]);
      return { storage, path: paths[0] ?? path };
    },
    named: (result) => namedOnHost(result, describe),
  };
  try {
    process.exitCode = (await body(context)) ?? ExitStatus.ok;
  } catch (error) {
    for (const bar of bars) bar.stop();
    const cancelled = cancellation.exitStatus();
    // Node's own AbortError (e.g. from a stream given the signal) says less than the cancellation's VhdError.
    const reported = cancelled !== undefined && !isVhdError(error) ? cancellation.signal.reason : error;
    printError(asVhdError(reported).withPathNamed(describe), json);
    // Work that ignores the signal may still hold the event loop; the failure is reported, so leave now.
    if (cancelled !== undefined) process.exit(cancelled);
    process.exitCode = ExitStatus.failed;
  } finally {
    for (const bar of bars) bar.stop();
    cancellation.dispose();
    // An open SSH connection would keep the process alive after the answer.
    await closeAllSessions();
  }
}
