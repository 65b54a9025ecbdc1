import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MAX_VIRTUAL_SIZE, chsFromSize } from "../../../provider/vhd/format";
import { chsCapacity } from "../../support/chs-capacity";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("CHS geometry (SPEC appendix)", () => {
  test.each([
    ["4 MiB (the Hyper-V sample)", 4 * MiB, 120, 4, 17],
    ["1 GiB", GiB, 2080, 16, 63],
    ["127 GiB", 127 * GiB, 65278, 16, 255],
    ["the cap, 65535*16*255 sectors", 65535 * 16 * 255 * 512, 65535, 16, 255],
    ["2040 GiB (above the cap)", MAX_VIRTUAL_SIZE, 65535, 16, 255],
    ["ext2.vhd's 4212736 bytes (qemu)", 4212736, 121, 4, 17],
    ["image.vhd's 104448 bytes (qemu)", 104448, 3, 4, 17],
  ])("%s", (_label, size, cylinders, heads, sectorsPerTrack) => {
    expect(chsFromSize(size)).toEqual({ cylinders, heads, sectorsPerTrack });
  });

  test("rounding down: 4 MiB is 32 sectors short, 1 GiB 512, 127 GiB 4064", () => {
    expect(4 * MiB - chsCapacity(chsFromSize(4 * MiB))).toBe(32 * 512);
    expect(GiB - chsCapacity(chsFromSize(GiB))).toBe(512 * 512);
    expect(127 * GiB - chsCapacity(chsFromSize(127 * GiB))).toBe(4064 * 512);
  });

  test("property: the geometry never exceeds the size and stays within the fields' ranges", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_VIRTUAL_SIZE / 512 }), (sectors) => {
        const size = sectors * 512;
        const geometry = chsFromSize(size);
        expect(chsCapacity(geometry)).toBeLessThanOrEqual(size);
        expect(geometry.cylinders).toBeLessThanOrEqual(65535);
        expect(geometry.heads).toBeLessThanOrEqual(16);
        expect([17, 31, 63, 255]).toContain(geometry.sectorsPerTrack);
      }),
    );
  });

  test("property: agrees with qemu, which rounds a requested size up to the next whole geometry", () => {
    // qemu-img sizes are exact CHS products; the algorithm must give them back unchanged (docs/vhd-format.md §1.3).
    fc.assert(
      fc.property(fc.integer({ min: 3 * MiB, max: 100 * GiB }), (size) => {
        const exact = chsCapacity(chsFromSize(size));
        expect(chsCapacity(chsFromSize(exact))).toBe(exact);
      }),
    );
  });
});
