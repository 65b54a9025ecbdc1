/**
 * A record of every parent checksum the provider computes, with its bytes and duration, for the benchmark's "bytes
 * hashed" figure and its per-phase breakdown, and for tests that prove a no-change preview reads nothing. Off unless
 * `PULUMI_VHD_STATS_FILE` names a file. The same file takes the provider hooks' timings (resource/hook-trace.ts).
 *
 * One JSON line is appended per event, at once: the engine ends the provider process without notice, so nothing
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
  /** Milliseconds the checksum took (reading and hashing). */
  ms: number;
  /** The provider process. */
  pid: number;
}

/**
 * Appends one event (a JSON object with an `event` name) when the record is on. Never throws: a statistics file must
 * not fail a deployment.
 */
export function appendStatsLine(line: { event: string; pid: number }): void {
  const file = process.env[HASH_STATS_ENV];
  if (file === undefined || file === "") return;
  try {
    appendTextSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // Deliberately ignored: see above.
  }
}

/** Any line of the record: a {@link HashStatsLine}, or an event another module appends (e.g. a hook's timing). */
export type StatsLine = { event: string; pid: number } & Record<string, unknown>;

/** Records one checksum computed: `bytes` read and hashed from `path` in `ms` milliseconds. */
export function recordHash(path: string, bytes: number, ms: number): void {
  const line: HashStatsLine = { event: "sha256", path, bytes, ms, pid: process.pid };
  appendStatsLine(line);
}

/** The lines of the record in `file` (none when there is none). */
export function readStatsLines(file: string): StatsLine[] {
  let text: string;
  try {
    text = readTextSync(file);
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as StatsLine);
}

/** The bytes hashed according to the record in `file` (0 when there is none): what tests and the benchmark report. */
export function totalBytesHashed(file: string): number {
  return readStatsLines(file)
    .filter((line) => line.event === "sha256")
    .reduce((sum, line) => sum + Number(line.bytes), 0);
}
