/** VHD time stamps: u32 seconds since 2000-01-01T00:00:00Z (SPEC "Time Stamp"). */
import { VHD_EPOCH_MS } from "./constants";

/** The date a VHD time stamp stands for. */
export function dateFromVhdTimeStamp(seconds: number): Date {
  return new Date(VHD_EPOCH_MS + seconds * 1000);
}

/**
 * The VHD time stamp of a date (milliseconds since the Unix epoch or a `Date`), clamped to the field's range: a
 * file time before 2000 becomes 0, as docs/vhd-format.md §2.3 recommends for parent time stamps.
 */
export function vhdTimeStampFromDate(date: Date | number): number {
  const ms = typeof date === "number" ? date : date.getTime();
  const seconds = Math.floor((ms - VHD_EPOCH_MS) / 1000);
  return Math.min(Math.max(seconds, 0), 0xffffffff);
}
