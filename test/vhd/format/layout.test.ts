import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  MAX_VIRTUAL_SIZE,
  allocateBlockAt,
  blockDataOffset,
  blockSpan,
  fullyExpandedFileSize,
  isBlockDataAligned,
  maxTableEntriesFor,
  planDynamicFile,
} from "../../../provider/vhd/format";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("file layout arithmetic", () => {
  test.each([
    // docs/vhd-format.md §3: empty child = 512 + 1024 + BAT + locator spaces + 512.
    ["1 GiB child, two 512 B locators (DiscUtils-sized, MEAS 5,120)", GiB, [512, 512], 512, 5120],
    ["127 GiB child, two 512 B locators (MEAS 263,168)", 127 * GiB, [512, 512], 65024, 263168],
    ["1 GiB child with our two 1024 B locators (VirtualBox-sized, 6,144)", GiB, [1024, 1024], 512, 6144],
    ["1 GiB dynamic, no locators (4,096)", GiB, [], 512, 4096],
  ])("%s", (_label, virtualSize, spaces, entries, fileSize) => {
    const plan = planDynamicFile({ virtualSize, blockSize: 2 * MiB, locatorDataSpaces: spaces });
    expect(plan.maxTableEntries).toBe(entries);
    expect(plan.emptyFileSize).toBe(fileSize);
    expect(plan.headerOffset).toBe(512);
    expect(plan.tableOffset).toBe(1536);
  });

  test("locator areas follow the BAT back to back", () => {
    const plan = planDynamicFile({ virtualSize: 16 * MiB, blockSize: 2 * MiB, locatorDataSpaces: [1024, 1024] });
    expect(plan.locatorOffsets).toEqual([2048, 3072]);
    expect(plan.firstBlockOffset).toBe(4096);
  });

  test("a 2040 GiB disk has 1,044,480 blocks of 2 MiB", () => {
    expect(maxTableEntriesFor(MAX_VIRTUAL_SIZE, 2 * MiB)).toBe(1_044_480);
  });

  test("allocating a block at the footer: data on the next 4 KiB boundary, the bitmap just before it (as Hyper-V)", () => {
    const allocation = allocateBlockAt(4096, 2 * MiB);
    expect(allocation).toEqual({ batEntry: 15, bitmapOffset: 7680, dataOffset: 8192, newFooterOffset: 8192 + 2 * MiB });
    expect(blockDataOffset(allocation.batEntry, 2 * MiB)).toBe(allocation.dataOffset);
    // dfvfs fat-differential.vhd, made by Windows: bitmap at 0x13E00, data at 0x14000.
    expect(allocateBlockAt(0x13e00, 2 * MiB)).toMatchObject({ bitmapOffset: 0x13e00, dataOffset: 0x14000 });
    expect(isBlockDataAligned(0x13e00 / 512, 2 * MiB)).toBe(true);
    expect(isBlockDataAligned(8, 2 * MiB)).toBe(false);
  });

  test("the fully expanded size of a planned file is where the last of its aligned blocks ends, plus the footer", () => {
    const plan = planDynamicFile({ virtualSize: 5 * 2 * MiB, blockSize: 2 * MiB, locatorDataSpaces: [] });
    let footer = plan.firstBlockOffset;
    for (let index = 0; index < plan.maxTableEntries; index++) footer = allocateBlockAt(footer, 2 * MiB).newFooterOffset;
    expect(fullyExpandedFileSize(plan, 2 * MiB)).toBe(footer + 512);
  });

  test("property: consecutive allocations never overlap and stay sector aligned", () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 23 }).map((log) => 2 ** log), fc.integer({ min: 1, max: 20 }), (blockSize, count) => {
        let footer = 2048;
        for (let index = 0; index < count; index++) {
          const allocation = allocateBlockAt(footer, blockSize);
          expect(allocation.bitmapOffset).toBeGreaterThanOrEqual(footer);
          expect(allocation.bitmapOffset % 512).toBe(0);
          expect(allocation.dataOffset % 4096).toBe(0);
          expect(allocation.bitmapOffset - footer).toBeLessThan(4096);
          expect(allocation.newFooterOffset - allocation.bitmapOffset).toBe(blockSpan(blockSize));
          footer = allocation.newFooterOffset;
        }
      }),
    );
  });
});
