import { type Geometry, SECTOR_SIZE } from "../../provider/vhd/format";

/**
 * Bytes a CHS geometry addresses, C x H x S x 512: what qemu takes as a VHD's size for most creators
 * (docs/vhd-format.md §1.2, §1.3). An oracle for the geometry tests; the engine itself never needs it.
 */
export function chsCapacity(geometry: Geometry): number {
  return geometry.cylinders * geometry.heads * geometry.sectorsPerTrack * SECTOR_SIZE;
}
