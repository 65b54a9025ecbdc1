import { VhdError, type ErrorParameter } from "../errors";

/**
 * Byte counts on the command line: `512`, `4MiB`, `10GiB`, `1.5GiB`, and qemu-img's and PowerShell's shorthands
 * `4M`, `10G`, `10GB`. Every unit is binary (K = 1024): that is what `qemu-img create 10G` and Hyper-V's
 * `New-VHD -SizeBytes 10GB` both mean, and the people who type sizes for VHDs use those two tools.
 */
const UNIT_EXPONENTS: Readonly<Record<string, number>> = { k: 1, m: 2, g: 3, t: 4 };

/** A decimal number, then optionally `B` (bytes) or a unit letter with an optional `iB`/`B`. */
const SIZE_SYNTAX = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i;

/** Options of {@link parseSize}. */
export interface ParseSizeOptions {
  /** Whether `0` is a valid value (an offset may be 0, a disk size may not). Default false. */
  allowZero?: boolean;
  /** The disk the size is for, and the input that named it, for the error (as every other error names them). */
  file?: { path: string; parameter: ErrorParameter };
}

/**
 * Parses a byte count given for `parameter` (the library's name for it: `size`, `offset`, `length`, `blockSize`).
 *
 * @throws VhdError `E_INVALIDARG` naming the parameter, the text given and the file, when the text is not a whole,
 *   non-negative number of bytes within JavaScript's exact integer range.
 */
export function parseSize(text: string, parameter: ErrorParameter, options: ParseSizeOptions = {}): number {
  const match = SIZE_SYNTAX.exec(text.trim());
  const invalid = (why: string): VhdError =>
    new VhdError(
      "E_INVALIDARG",
      `${JSON.stringify(text)} ${why}; give bytes or a number with a binary unit K/KiB, M/MiB, G/GiB or T/TiB, ` +
        "e.g. 512, 4MiB, 10GiB, 1.5GiB",
      { parameter, value: text, path: options.file?.path, pathParameter: options.file?.parameter },
    );
  if (!match) throw invalid("is not a size");
  const [, number = "", unitLetter = ""] = match;
  const bytes = Number(number) * 1024 ** (UNIT_EXPONENTS[unitLetter.toLowerCase()] ?? 0);
  if (!Number.isInteger(bytes)) throw invalid("is not a whole number of bytes");
  if (!Number.isSafeInteger(bytes)) throw invalid("is too large");
  if (bytes === 0 && !options.allowZero) throw invalid("must be more than 0");
  return bytes;
}

const BINARY_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const;

/** Formats a byte count for people, qemu-img style: `10 GiB`, `1.5 MiB`, `512 bytes`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, "");
  return `${shown} ${BINARY_UNITS[unit]}`;
}

/** A byte count for people with the exact count beside it, as qemu-img prints sizes: `10 GiB (10737418240 bytes)`. */
export function formatByteCount(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${formatBytes(bytes)} (${bytes} bytes)`;
}
