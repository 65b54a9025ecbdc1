/**
 * The exit statuses of `vhd`, one meaning each, so that scripts can tell "the disk is bad" from "I typed it wrong".
 * 128 + signal number for cancellation follows the shell's convention (bash reports a Ctrl-C'd job as 130).
 */
export const ExitStatus = {
  /** Everything asked for was done (for `verify`: every check held). */
  ok: 0,
  /** The operation failed with a `VhdError` (for `verify`: at least one check failed). */
  failed: 1,
  /** The command line itself is wrong: unknown command or option, missing argument (commander's errors). */
  usage: 2,
  /** Cancelled by SIGINT (Ctrl-C). */
  interrupted: 130,
  /** Cancelled by SIGTERM. */
  terminated: 143,
} as const;

/** One of the {@link ExitStatus} values. */
export type ExitStatusCode = (typeof ExitStatus)[keyof typeof ExitStatus];
