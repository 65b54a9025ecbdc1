import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatByteCount, formatBytes, parseSize } from "../../provider/cli/sizes";
import { isVhdError } from "../../provider/errors";

describe("parseSize", () => {
  it.each([
    ["512", 512],
    ["512B", 512],
    ["4MiB", 4 * 2 ** 20],
    ["4M", 4 * 2 ** 20],
    ["10GiB", 10 * 2 ** 30],
    ["10G", 10 * 2 ** 30],
    ["10GB", 10 * 2 ** 30],
    ["10 gib", 10 * 2 ** 30],
    ["1.5GiB", 1.5 * 2 ** 30],
    ["2040GiB", 2040 * 2 ** 30],
    ["2T", 2 * 2 ** 40],
    ["64KiB", 65536],
  ])("reads %s as %d bytes (binary units, like qemu-img and PowerShell)", (text, bytes) => {
    expect(parseSize(text, "--size")).toBe(bytes);
  });

  it.each([
    ["10X", "is not a size"],
    ["", "is not a size"],
    ["-1", "is not a size"],
    ["1e3", "is not a size"],
    ["0x10", "is not a size"],
    ["MiB", "is not a size"],
    ["0.3KiB", "is not a whole number of bytes"],
    ["0.5", "is not a whole number of bytes"],
    ["0", "must be more than 0"],
    ["99999999T", "is too large"],
  ])("refuses %j with E_INVALIDARG naming the option (%s)", (text, why) => {
    let caught: unknown;
    try {
      parseSize(text, "--size");
    } catch (error) {
      caught = error;
    }
    expect(isVhdError(caught, "E_INVALIDARG")).toBe(true);
    expect(caught).toMatchObject({ parameter: "--size", hresultHex: "0x80070057" });
    expect((caught as Error).message).toContain(why);
    expect((caught as Error).message).toContain("--size");
  });

  it("accepts 0 where zero is allowed (offsets)", () => {
    expect(parseSize("0", "--offset", { allowZero: true })).toBe(0);
  });

  it("reads every plain integer and every whole count of each unit exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (bytes) => {
        expect(parseSize(String(bytes), "--size")).toBe(bytes);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.constantFrom("K", "M", "G", "T"), (count, letter) => {
        const bytes = count * 1024 ** (["K", "M", "G", "T"].indexOf(letter) + 1);
        expect(parseSize(`${count}${letter}iB`, "--size")).toBe(bytes);
        expect(parseSize(`${count}${letter.toLowerCase()}`, "--size")).toBe(bytes);
      }),
    );
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 bytes"],
    [512, "512 bytes"],
    [1023, "1023 bytes"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [10 * 2 ** 30, "10 GiB"],
    [2040 * 2 ** 30, "1.99 TiB"],
  ])("formats %d as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

});

describe("formatByteCount", () => {
  it("adds the exact count beside a rounded size, and only the count below 1 KiB", () => {
    expect(formatByteCount(10 * 2 ** 30)).toBe("10 GiB (10737418240 bytes)");
    expect(formatByteCount(5244416)).toBe("5 MiB (5244416 bytes)");
    expect(formatByteCount(512)).toBe("512 bytes");
  });
});
