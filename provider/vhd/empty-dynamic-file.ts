/**
 * The bytes of a new dynamic or differencing file before any block is allocated (SPEC: "no blocks are allocated
 * initially"; vhd-format.md §3 "A fresh differencing disk"): head footer copy, dynamic header, an all-unused BAT,
 * locator data, tail footer. The layout is `planDynamicFile`'s (format/layout.ts).
 */
import {
  DYNAMIC_HEADER_COOKIE,
  DYNAMIC_HEADER_VERSION,
  SECTOR_SIZE,
  BAT_ENTRY_SIZE,
  UNUSED_BAT_ENTRY,
  encodeBat,
  encodeDynamicHeader,
  encodeFooter,
  encodeLocatorData,
  planDynamicFile,
  type DynamicFilePlan,
  type DynamicHeader,
  type Footer,
  type ParentLocatorEntry,
} from "./format";
import type { ParentLink } from "./parent-link";

/** A new file's bytes and the structures they hold. */
export interface EmptyDynamicFile {
  /** The whole file, ready for one write at offset 0. */
  bytes: Buffer;
  header: DynamicHeader;
  plan: DynamicFilePlan;
}

const NO_PARENT_ID = new Uint8Array(16);
const BAT_ENTRIES_PER_SECTOR = SECTOR_SIZE / BAT_ENTRY_SIZE;

/**
 * Writes an all-unused BAT of `entries` entries into `target` at `offset`. Encoding a million entries one by one
 * takes ~16 ms against ~1 ms to write them (a 2040 GiB disk), so one sector is encoded and repeated: every sector of
 * an all-unused BAT is identical, and the last one is encoded on its own, with its padding.
 */
function fillUnusedBat(target: Buffer, offset: number, entries: number, batBytes: number): void {
  const fullSector = encodeBat(new Uint32Array(BAT_ENTRIES_PER_SECTOR).fill(UNUSED_BAT_ENTRY));
  target.fill(fullSector, offset, offset + batBytes);
  const lastEntries = entries % BAT_ENTRIES_PER_SECTOR;
  if (lastEntries > 0) {
    target.set(encodeBat(new Uint32Array(lastEntries).fill(UNUSED_BAT_ENTRY)), offset + batBytes - SECTOR_SIZE);
  }
}

/**
 * Encodes the empty file for `footer` (a dynamic or differencing footer): a dynamic disk when `parentLink` is absent,
 * a differencing one (locator data right after the BAT) when it is given.
 */
export function encodeEmptyDynamicFile(footer: Footer, blockSize: number, parentLink?: ParentLink): EmptyDynamicFile {
  const locators = parentLink?.locators ?? [];
  const plan = planDynamicFile({
    virtualSize: footer.currentSize,
    blockSize,
    locatorDataSpaces: locators.map((locator) => locator.dataSpace),
  });
  const locatorData = locators.map((locator) => encodeLocatorData(locator.code, locator.path));
  const locatorEntries: ParentLocatorEntry[] = locators.map((locator, slot) => ({
    platformCode: locator.code,
    platformDataSpace: locator.dataSpace,
    platformDataLength: locatorData[slot]?.length ?? 0,
    platformDataOffset: plan.locatorOffsets[slot] ?? 0,
  }));
  const header: DynamicHeader = {
    cookie: DYNAMIC_HEADER_COOKIE,
    dataOffset: null,
    tableOffset: plan.tableOffset,
    headerVersion: DYNAMIC_HEADER_VERSION,
    maxTableEntries: plan.maxTableEntries,
    blockSize,
    parentUniqueId: parentLink?.parentUniqueId ?? NO_PARENT_ID,
    parentTimeStamp: parentLink?.parentTimeStamp ?? 0,
    parentUnicodeName: parentLink?.parentUnicodeName ?? "",
    locators: locatorEntries,
  };

  const bytes = Buffer.alloc(plan.emptyFileSize);
  const footerBytes = encodeFooter(footer);
  bytes.set(footerBytes, 0);
  bytes.set(encodeDynamicHeader(header), plan.headerOffset);
  fillUnusedBat(bytes, plan.tableOffset, plan.maxTableEntries, plan.batBytes);
  locatorData.forEach((data, slot) => bytes.set(data, plan.locatorOffsets[slot] ?? 0));
  bytes.set(footerBytes, plan.firstBlockOffset);
  return { bytes, header, plan };
}
