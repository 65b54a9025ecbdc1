/** CHS geometry of the footer (SPEC appendix "CHS Calculation"; docs/vhd-format.md §1.3). */
import { SECTOR_SIZE } from "./constants";

/** Cylinders, heads and sectors per track, as stored in the footer. */
export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** 65535 cylinders x 16 heads x 255 sectors: the most a VHD geometry can describe (about 127.5 GiB). */
const MAX_CHS_SECTORS = 65535 * 16 * 255;

/**
 * The geometry the SPEC's algorithm gives for a disk of `bytes`. It rounds down (4 MiB -> 120/4/17, 32 sectors
 * short), which is what Hyper-V, qemu, VirtualBox and blktap all write; sizes at or above the cap give 65535/16/255.
 */
export function chsFromSize(bytes: number): Geometry {
  const totalSectors = Math.min(Math.floor(bytes / SECTOR_SIZE), MAX_CHS_SECTORS);
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    heads = Math.max(4, Math.ceil(cylinderTimesHeads / 1024));
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}
