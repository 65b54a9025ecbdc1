/**
 * The range check every driver's `writeAt` makes (disk/driver.ts), so a write outside the disk is the same error
 * whatever the format: the CLI's `write` recognises its `length` form to say how much of a longer input was written.
 */
import { VhdError } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";

/**
 * Checks that `length` bytes at virtual byte `offset` lie inside a disk of `virtualSize` bytes stored in `file`.
 * @throws `E_INVALIDARG` naming `offset` (not a whole number, negative, or past the end) or `length` (the bytes run
 * past the end), then the file by the input that named it; details `{ offset, length, virtualSize }`.
 */
export function checkWriteRange(file: Pick<RandomAccessFile, "path" | "parameter">, virtualSize: number, offset: number, length: number): void {
  const context = { path: file.path, pathParameter: file.parameter, details: { offset, length, virtualSize } };
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > virtualSize) {
    throw new VhdError("E_INVALIDARG", `offset ${offset} is not inside the ${virtualSize}-byte disk`, {
      ...context,
      parameter: "offset",
      value: offset,
    });
  }
  if (offset + length > virtualSize) {
    throw new VhdError(
      "E_INVALIDARG",
      `${length} bytes at offset ${offset} run past the end of the ${virtualSize}-byte disk`,
      { ...context, parameter: "length", value: length },
    );
  }
}
