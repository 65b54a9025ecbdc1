/**
 * A record of every parent checksum the provider computes, for the benchmark's "bytes hashed" figure and for tests
 * that prove a no-change preview reads nothing. Off unless `PULUMI_VHD_STATS_FILE` names a file.
 *
 * One JSON line is appended per checksum, at once: the engine ends the provider process without notice, so nothing
 * may wait for an exit hook.
 */
// Statistics describe this process, so they go to this machine whatever storage holds the disks.
import { appendTextSync, readTextSync } from "../storage/local/text-file-sync";

/** The environment variable that turns the record on; its value is the file the lines are appended to. */
export const HASH_STATS_ENV = "PULUMI_VHD_STATS_FILE";

/** One line of the record. */
export interface HashStatsLine {
  /** Always `"sha256"`. */
  event: "sha256";
  /** The file hashed. */
  path: string;
  /** Bytes read and hashed. */
  bytes: number;
  /** The provider process. */
  pid: number;
}

/** Appends one line when the record is on. Never throws: a statistics file must not fail a deployment. */
export function recordHash(path: string, bytes: number): void {
  const file = process.env[HASH_STATS_ENV];
  if (file === undefined || file === "") return;
  const line: HashStatsLine = { event: "sha256", path, bytes, pid: process.pid };
  try {
    appendTextSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // Deliberately ignored: see above.
  }
}

/** The bytes hashed according to the record in `file` (0 when there is none): what tests and the benchmark report. */
export function totalBytesHashed(file: string): number {
  let text: string;
  try {
    text = readTextSync(file);
  } catch {
    return 0;
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .reduce((sum, line) => sum + (JSON.parse(line) as HashStatsLine).bytes, 0);
}
