import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { batByteSize, decodeBat, encodeBat, encodeBatEntry } from "../../../provider/vhd/format";

describe("BAT codec", () => {
  test("golden: big-endian entries, padded to a sector with 0xFF", () => {
    const bytes = encodeBat(Uint32Array.of(0x00000010, 0xffffffff, 0x00001011));
    expect(bytes.length).toBe(512);
    expect(Buffer.from(bytes.subarray(0, 12)).toString("hex")).toBe("00000010ffffffff00001011");
    expect(bytes.subarray(12).every((byte) => byte === 0xff)).toBe(true);
  });

  test("sizes: 128 entries fill one sector exactly, 129 take two, 2040 GiB of 2 MiB blocks take 4,177,920 bytes", () => {
    expect(batByteSize(128)).toBe(512);
    expect(batByteSize(129)).toBe(1024);
    expect(batByteSize(1_044_480)).toBe(4_177_920);
  });

  test("a single entry encodes as 4 big-endian bytes", () => {
    expect(Buffer.from(encodeBatEntry(0x12345678)).toString("hex")).toBe("12345678");
  });

  test("property: decode(encode(bat)) is the BAT", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 600 }), (entries) => {
        const bat = Uint32Array.from(entries);
        const bytes = encodeBat(bat);
        expect(bytes.length % 512).toBe(0);
        expect(decodeBat(bytes, bat.length)).toEqual(bat);
      }),
    );
  });
});
