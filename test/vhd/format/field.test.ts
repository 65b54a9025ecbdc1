import { describe, expect, test } from "vitest";
import { decodeLayout, defineLayout, encodeLayout, vhdChecksum } from "../../../provider/vhd/format";

describe("layouts as data", () => {
  test("a layout with a gap, an overlap, a wrong integer width or a wrong total is refused at definition", () => {
    expect(() => defineLayout("gap", 8, [{ name: "a", offset: 0, size: 4, type: "u32" }, { name: "b", offset: 5, size: 3, type: "bytes" }])).toThrow(/b/);
    expect(() => defineLayout("width", 4, [{ name: "a", offset: 0, size: 4, type: "u16" }])).toThrow(/a/);
    expect(() => defineLayout("total", 8, [{ name: "a", offset: 0, size: 4, type: "u32" }])).toThrow(/cover 4/);
  });

  test("one list drives both directions; reserved bytes are written as zero and not decoded", () => {
    const layout = defineLayout("sample", 16, [
      { name: "tag", offset: 0, size: 4, type: "ascii" },
      { name: "count", offset: 4, size: 2, type: "u16" },
      { name: "gap", offset: 6, size: 2, type: "reserved" },
      { name: "next", offset: 8, size: 8, type: "u64OrNone" },
    ] as const);
    const bytes = encodeLayout(layout, { tag: "ab", count: 0x1234, next: 2 ** 40 + 5 });
    expect(Buffer.from(bytes).toString("hex")).toBe("616200001234000000000100" + "00000005");
    expect(decodeLayout(layout, bytes)).toEqual({ tag: "ab", count: 0x1234, next: 2 ** 40 + 5 });
    expect(decodeLayout(layout, bytes)).not.toHaveProperty("gap");
  });

  test("decoding too few bytes is a VhdError naming the structure", () => {
    const layout = defineLayout("tiny", 4, [{ name: "a", offset: 0, size: 4, type: "u32" }] as const);
    expect(() => decodeLayout(layout, new Uint8Array(3))).toThrow(/E_INVALIDARG.*tiny needs 4 bytes/);
  });

  test("checksum: one's complement of the byte sum, the checksum field counted as zero (SPEC)", () => {
    const bytes = Uint8Array.of(1, 2, 0xff, 0xff, 0xff, 0xff, 3);
    expect(vhdChecksum(bytes, 2)).toBe(~6 >>> 0);
    expect(vhdChecksum(new Uint8Array(512), 64)).toBe(0xffffffff);
  });
});
