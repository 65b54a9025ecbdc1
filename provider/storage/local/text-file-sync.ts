/**
 * Synchronous text appends and reads of files on this machine, for records that must be on disk the moment a line is
 * written (the engine ends the provider process without notice): not part of the port, which is asynchronous.
 */
import { appendFileSync, readFileSync } from "node:fs";

/** Appends `text` (UTF-8) to `file`, creating it. @throws the raw `node:fs` error; callers that must not fail catch it. */
export function appendTextSync(file: string, text: string): void {
  appendFileSync(file, text);
}

/** The text of `file` (UTF-8). @throws the raw `node:fs` error (ENOENT, ...). */
export function readTextSync(file: string): string {
  return readFileSync(file, "utf8");
}
