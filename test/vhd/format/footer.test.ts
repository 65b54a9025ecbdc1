import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FOOTER_SIZE, decodeFooter, encodeFooter, formatUniqueId, vhdChecksum } from "../../../provider/vhd/format";
import { footerArbitrary } from "./arbitraries";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../../support/fixtures";

const FIXTURES = DFVFS_FIXTURES;

/** The first 85 bytes of fat-differential.vhd's footer (Hyper-V, creator `win `); the rest is zero. */
const HYPERV_FOOTER_HEX =
  "636f6e65637469780000000200010000000000000000020027198e1b77696e20000a00005769326b0000000000400000" +
  "00000000004000000078041100000004fffff02cf84f1636cd9e9041a69edcc2380e416a00";

function hyperVFooterBytes(): Uint8Array {
  const bytes = new Uint8Array(FOOTER_SIZE);
  bytes.set(Buffer.from(HYPERV_FOOTER_HEX, "hex"));
  return bytes;
}

describe("footer codec", () => {
  test("decodes the Hyper-V sample's footer field by field", () => {
    const { footer, checksumValid, storedChecksum } = decodeFooter(hyperVFooterBytes());
    expect(checksumValid).toBe(true);
    expect(storedChecksum).toBe(0xfffff02c);
    expect(footer).toMatchObject({
      cookie: "conectix",
      features: 2,
      fileFormatVersion: 0x00010000,
      dataOffset: 512,
      timeStamp: 0x27198e1b,
      creatorApplication: "win ",
      creatorVersion: 0x000a0000,
      creatorHostOs: "Wi2k",
      originalSize: 4 * 1024 * 1024,
      currentSize: 4 * 1024 * 1024,
      cylinders: 120,
      heads: 4,
      sectorsPerTrack: 17,
      diskType: 4,
      savedState: 0,
    });
    expect(formatUniqueId(footer.uniqueId)).toBe("f84f1636-cd9e-9041-a69e-dcc2380e416a");
  });

  test("encodes the decoded Hyper-V footer back to the same 512 bytes", () => {
    const bytes = hyperVFooterBytes();
    expect(Buffer.from(encodeFooter(decodeFooter(bytes).footer)).toString("hex")).toBe(Buffer.from(bytes).toString("hex"));
  });

  test.for(["ext2.vhd", "fat-differential.vhd"])("%s: both footer copies round-trip byte for byte", (name, ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const file = readFileSync(`${FIXTURES}/${name}`);
    for (const copy of [file.subarray(0, FOOTER_SIZE), file.subarray(file.length - FOOTER_SIZE)]) {
      expect(Buffer.from(encodeFooter(decodeFooter(copy).footer)).equals(copy)).toBe(true);
    }
  });

  test("reports the stale checksum of dfvfs image.vhd as a fact, without throwing", (ctx) => {
    skipWithoutFixtures(ctx, FIXTURES);
    const file = readFileSync(`${FIXTURES}/image.vhd`);
    const decoded = decodeFooter(file.subarray(0, FOOTER_SIZE));
    expect(decoded.checksumValid).toBe(false);
    expect(decoded.storedChecksum).toBe(0xfffff683);
    expect(decoded.computedChecksum).toBe(vhdChecksum(file.subarray(0, FOOTER_SIZE), 64));
    expect(decoded.footer.currentSize).toBe(104448);
  });

  test("all-ones data offset (a fixed disk) decodes to null and encodes back to all-ones", () => {
    const bytes = encodeFooter({ ...decodeFooter(hyperVFooterBytes()).footer, dataOffset: null });
    expect(Buffer.from(bytes.subarray(16, 24)).toString("hex")).toBe("ffffffffffffffff");
    expect(decodeFooter(bytes).footer.dataOffset).toBeNull();
  });

  test("property: encode then decode gives the same record with a valid checksum", () => {
    fc.assert(
      fc.property(footerArbitrary, (footer) => {
        const decoded = decodeFooter(encodeFooter(footer));
        expect(decoded.checksumValid).toBe(true);
        expect(decoded.footer).toEqual(footer);
      }),
    );
  });

  test("property: changing any one byte outside the checksum field makes the checksum invalid", () => {
    fc.assert(
      fc.property(
        footerArbitrary,
        fc.integer({ min: 0, max: FOOTER_SIZE - 1 }).filter((index) => index < 64 || index >= 68),
        fc.integer({ min: 1, max: 255 }),
        (footer, index, delta) => {
          const bytes = encodeFooter(footer);
          bytes[index] = ((bytes[index] ?? 0) + delta) & 0xff;
          expect(decodeFooter(bytes).checksumValid).toBe(false);
        },
      ),
    );
  });

  test("refuses to encode a value that does not fit its field, naming the field", () => {
    const footer = decodeFooter(hyperVFooterBytes()).footer;
    expect(() => encodeFooter({ ...footer, heads: 256 })).toThrow(/footer\.heads/);
    expect(() => encodeFooter({ ...footer, uniqueId: new Uint8Array(15) })).toThrow(/footer\.uniqueId/);
    expect(() => encodeFooter({ ...footer, currentSize: 2 ** 60 })).toThrow(/E_INVALIDARG/);
  });
});
