import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DYNAMIC_HEADER_SIZE, decodeDynamicHeader, encodeDynamicHeader, formatUniqueId } from "../../../provider/vhd/format";
import { dynamicHeaderArbitrary } from "./arbitraries";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../../support/fixtures";

const FIXTURES = DFVFS_FIXTURES;

/** The first 64 bytes of fat-differential.vhd's dynamic header (Hyper-V): BAT at 0x2000, 2 blocks of 2 MiB. */
const HYPERV_HEADER_START_HEX =
  "6378737061727365ffffffffffffffff0000000000002000000100000000000200200000ffffd951" +
  "5fa21a55f394aa4d99581951a67d55400000000000000000";

/** Its two locator entries (absolute offset 1088): W2ku 84 bytes at 0x1000 in 4096, W2ru 32 bytes at 0x3000 in 65536. */
const HYPERV_LOCATORS_HEX =
  "57326b75000010000000005400000000000000000000100057327275000100000000002000000000000000000000" + "3000";

function hyperVHeader(): Buffer {
  return readFileSync(`${FIXTURES}/fat-differential.vhd`).subarray(512, 512 + DYNAMIC_HEADER_SIZE);
}

describe("dynamic header codec", () => {
  test("the fixture bytes are the golden hex", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const bytes = hyperVHeader();
    expect(bytes.subarray(0, 64).toString("hex")).toBe(HYPERV_HEADER_START_HEX);
    expect(bytes.subarray(576, 624).toString("hex")).toBe(HYPERV_LOCATORS_HEX);
  });

  test("decodes the Hyper-V header field by field", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const { header, checksumValid } = decodeDynamicHeader(hyperVHeader());
    expect(checksumValid).toBe(true);
    expect(header).toMatchObject({
      cookie: "cxsparse",
      dataOffset: null,
      tableOffset: 0x2000,
      headerVersion: 0x00010000,
      maxTableEntries: 2,
      blockSize: 2 * 1024 * 1024,
      parentTimeStamp: 0,
      parentUnicodeName: "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd",
    });
    expect(formatUniqueId(header.parentUniqueId)).toBe("5fa21a55-f394-aa4d-9958-1951a67d5540");
    expect(header.locators).toHaveLength(8);
    expect(header.locators.slice(0, 2)).toEqual([
      { platformCode: "W2ku", platformDataSpace: 4096, platformDataLength: 84, platformDataOffset: 0x1000 },
      { platformCode: "W2ru", platformDataSpace: 65536, platformDataLength: 32, platformDataOffset: 0x3000 },
    ]);
    expect(header.locators.slice(2).every((entry) => entry.platformCode === "" && entry.platformDataOffset === 0)).toBe(true);
  });

  test("the parent name is UTF-16 big-endian in the file", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    expect(hyperVHeader().subarray(64, 68).toString("hex")).toBe("0043003a"); // "C:" big-endian
  });

  test.for(["ext2.vhd", "fat-differential.vhd"])("%s: the header round-trips byte for byte", (name, ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const bytes = readFileSync(`${FIXTURES}/${name}`).subarray(512, 512 + DYNAMIC_HEADER_SIZE);
    expect(Buffer.from(encodeDynamicHeader(decodeDynamicHeader(bytes).header)).equals(bytes)).toBe(true);
  });

  test("property: encode then decode gives the same record with a valid checksum", () => {
    fc.assert(
      fc.property(dynamicHeaderArbitrary, (header) => {
        const decoded = decodeDynamicHeader(encodeDynamicHeader(header));
        expect(decoded.checksumValid).toBe(true);
        expect(decoded.header).toEqual(header);
      }),
    );
  });

  test("property: any changed byte outside the checksum is detected", () => {
    fc.assert(
      fc.property(
        dynamicHeaderArbitrary,
        fc.integer({ min: 0, max: DYNAMIC_HEADER_SIZE - 1 }).filter((index) => index < 36 || index >= 40),
        fc.integer({ min: 1, max: 255 }),
        (header, index, delta) => {
          const bytes = encodeDynamicHeader(header);
          bytes[index] = ((bytes[index] ?? 0) + delta) & 0xff;
          expect(decodeDynamicHeader(bytes).checksumValid).toBe(false);
        },
      ),
    );
  });

  test("fewer than 8 locators are padded with unused slots; more than 8 are refused", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const { header } = decodeDynamicHeader(hyperVHeader());
    const short = encodeDynamicHeader({ ...header, locators: header.locators.slice(0, 2) });
    expect(Buffer.from(short).equals(hyperVHeader())).toBe(true);
    expect(() => encodeDynamicHeader({ ...header, locators: [...header.locators, ...header.locators] })).toThrow(/E_INVALIDARG/);
  });

  test("a parent name longer than the 512-byte field is refused", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const { header } = decodeDynamicHeader(hyperVHeader());
    expect(() => encodeDynamicHeader({ ...header, parentUnicodeName: "x".repeat(257) })).toThrow(/parentUnicodeName/);
  });
});
