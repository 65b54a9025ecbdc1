import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { batByteSize, decodeBat, encodeBat, encodeBatEntry, forEachAllocated } from "../../../provider/vhd/format";

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

  test("property: entries are read big-endian from any offset of a larger buffer, and short input is refused", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), fc.nat(7), (random, skip) => {
        const bytes = random.subarray(Math.min(skip, random.length));
        const entries = Math.floor(bytes.length / 4);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const expected = Uint32Array.from({ length: entries }, (_, index) => view.getUint32(index * 4));
        expect(decodeBat(bytes, entries)).toEqual(expected);
        expect(() => decodeBat(bytes, entries + 1)).toThrow(RangeError);
      }),
    );
  });

  test("a 2040 GiB disk's table (1,044,480 entries) round-trips, big-endian on disk, padding all 0xFF", () => {
    const bat = new Uint32Array(1_044_480);
    for (let index = 0; index < bat.length; index++) bat[index] = index % 3 === 0 ? 0xffffffff : index * 2053 + 3;
    const bytes = encodeBat(bat);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getUint32(4 * 1)).toBe(2053 + 3);
    expect(view.getUint32(4 * 1_044_479)).toBe(1_044_479 * 2053 + 3);
    expect(bytes.length).toBe(4_177_920);
    // Compared as bytes: a deep equality over a million elements takes seconds.
    const decoded = decodeBat(bytes, bat.length);
    expect(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).equals(Buffer.from(bat.buffer))).toBe(true);
  });

  test("property: forEachAllocated visits exactly the allocated entries in order, across all-unused stretches", () => {
    const entry = fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xfffffffe }));
    const stretch = fc.record({ length: fc.nat(9000), value: entry });
    fc.assert(
      fc.property(fc.array(stretch, { maxLength: 6 }), fc.nat(3), (stretches, skip) => {
        const all = new Uint32Array(stretches.flatMap(({ length, value }) => Array<number>(length).fill(value)).concat([1, 2, 3]));
        const bat = all.subarray(skip);
        const visited: [number, number][] = [];
        const count = forEachAllocated(bat, (index, value) => visited.push([index, value]));
        const expected = [...bat].flatMap((value, index) => (value === 0xffffffff ? [] : [[index, value]]));
        expect(visited).toEqual(expected);
        expect(count).toBe(expected.length);
      }),
      { numRuns: 25 },
    );
  });
});
