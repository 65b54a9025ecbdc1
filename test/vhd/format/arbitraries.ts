/** fast-check generators of valid codec records, shared by the format tests. */
import fc from "fast-check";
import type { DynamicHeader, Footer, ParentLocatorEntry } from "../../../provider/vhd/format";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.maxSafeInteger().map((value) => Math.abs(value));
/** 4 single-byte characters without a trailing NUL (trailing NULs are padding, dropped on decode). */
const fourCc = fc
  .uint8Array({ minLength: 4, maxLength: 4 })
  .map((bytes) => Buffer.from(bytes).toString("latin1"))
  .filter((text) => !text.endsWith("\0"));

export const footerArbitrary: fc.Arbitrary<Footer> = fc.record({
  cookie: fc.constant("conectix"),
  features: u32,
  fileFormatVersion: u32,
  dataOffset: fc.option(u64, { nil: null }),
  timeStamp: u32,
  creatorApplication: fourCc,
  creatorVersion: u32,
  creatorHostOs: fourCc,
  originalSize: u64,
  currentSize: u64,
  cylinders: fc.integer({ min: 0, max: 0xffff }),
  heads: fc.integer({ min: 0, max: 0xff }),
  sectorsPerTrack: fc.integer({ min: 0, max: 0xff }),
  diskType: u32,
  uniqueId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  savedState: fc.integer({ min: 0, max: 0xff }),
});

export const locatorEntryArbitrary: fc.Arbitrary<ParentLocatorEntry> = fc.record({
  platformCode: fc.constantFrom("", "W2ku", "W2ru", "MacX", "Wi2k"),
  platformDataSpace: u32,
  platformDataLength: u32,
  platformDataOffset: u64,
});

/** Names without NUL units (a NUL ends the name) that fit the 512-byte field. */
const parentName = fc
  .string({ unit: "binary", maxLength: 255 })
  .filter((name) => !name.includes("\0") && Buffer.byteLength(name, "utf16le") <= 512);

export const dynamicHeaderArbitrary: fc.Arbitrary<DynamicHeader> = fc.record({
  cookie: fc.constant("cxsparse"),
  dataOffset: fc.option(u64, { nil: null }),
  tableOffset: u64,
  headerVersion: u32,
  maxTableEntries: u32,
  blockSize: u32,
  parentUniqueId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  parentTimeStamp: u32,
  parentUnicodeName: parentName,
  locators: fc.array(locatorEntryArbitrary, { minLength: 8, maxLength: 8 }),
});
