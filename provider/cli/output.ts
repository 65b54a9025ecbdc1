import type { VhdError } from "../errors";

/**
 * Everything `vhd` prints goes through here: results on stdout (aligned `key: value` lines for people, one JSON
 * document with `--json`), errors on stderr (one line for people, one JSON object with `--json`), so that a pipeline
 * can parse stdout and a person can grep stderr.
 */

/** One line of human output: a label and its value. A value of `undefined` leaves the line out. */
export type OutputLine = readonly [label: string, value: string | number | undefined];

/** Prints `label: value` lines with the values aligned in one column, as `qemu-img info` does for its keys. */
export function printFields(fields: readonly OutputLine[]): void {
  const shown = fields.filter((field): field is readonly [string, string | number] => field[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  process.stdout.write(shown.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}\n`).join(""));
}

/** Prints `value` as one pretty JSON document on stdout. Byte arrays become hex text, 64-bit integers decimal text. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonSafe, 2)}\n`);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * Reports a failure on stderr: `vhd: ERROR_ALREADY_EXISTS (0x800700B7): imagePath "/x/y.vhd": <sentence>` on ONE line
 * (a reason spanning lines, such as a list of parent paths tried, is joined with "; "), or with `json` the error's
 * `{code, hresult, parameter, path, message, ...}` object.
 */
export function printError(error: VhdError, json: boolean): void {
  if (json) {
    process.stderr.write(`${JSON.stringify(error.toJSON(), jsonSafe)}\n`);
  } else {
    process.stderr.write(`vhd: ${error.message.trim().replace(/\s*\n\s*/g, "; ")}\n`);
  }
}
