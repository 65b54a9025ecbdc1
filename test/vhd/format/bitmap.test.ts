import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { bitmapSize, isSectorSet, sectorRunLength, setSectors } from "../../../provider/vhd/format";

describe("sector bitmaps", () => {
  test("sizes: 2 MiB blocks -> one sector; 512 KiB -> one sector; 4 MiB -> 2 sectors", () => {
    expect(bitmapSize(2 * 1024 * 1024)).toBe(512);
    expect(bitmapSize(512 * 1024)).toBe(512);
    expect(bitmapSize(4 * 1024 * 1024)).toBe(1024);
  });

  test("MSB first: sector 0 is bit 0x80 of byte 0, sector 9 is bit 0x40 of byte 1", () => {
    const bitmap = new Uint8Array(4);
    setSectors(bitmap, 0, 1);
    setSectors(bitmap, 9, 1);
    expect(Array.from(bitmap)).toEqual([0x80, 0x40, 0, 0]);
    expect(isSectorSet(bitmap, 0)).toBe(true);
    expect(isSectorSet(bitmap, 1)).toBe(false);
    expect(isSectorSet(bitmap, 9)).toBe(true);
  });

  test("setting a range sets whole bytes and the partial ends", () => {
    const bitmap = new Uint8Array(4);
    setSectors(bitmap, 5, 14);
    expect(Array.from(bitmap)).toEqual([0b00000111, 0xff, 0b11100000, 0]);
  });

  test("property: after setSectors, exactly the union of the ranges is set", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 64 }))), (ranges) => {
        const bitmap = new Uint8Array(40);
        const model = new Array<boolean>(320).fill(false);
        for (const [first, count] of ranges) {
          setSectors(bitmap, first, count);
          for (let sector = first; sector < first + count; sector++) model[sector] = true;
        }
        model.forEach((set, sector) => expect(isSectorSet(bitmap, sector)).toBe(set));
      }),
    );
  });

  test("property: sectorRunLength matches a sector-by-sector scan", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }).chain((bytes) =>
          fc.tuple(fc.constant(bytes), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 64 })),
        ),
        ([bitmap, first, span]) => {
          const limit = Math.min(64, first + span);
          let expected = 1;
          while (first + expected < limit && isSectorSet(bitmap, first + expected) === isSectorSet(bitmap, first)) expected++;
          expect(sectorRunLength(bitmap, first, limit)).toBe(expected);
        },
      ),
    );
  });
});
