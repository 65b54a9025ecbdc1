import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeLocatorData,
  decodeLocatorEntry,
  encodeLocatorData,
  encodeLocatorEntry,
  locatorDataSpaceBytes,
} from "../../../provider/vhd/format";
import { locatorEntryArbitrary } from "./arbitraries";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../../support/fixtures";

/** dfvfs fat-differential.vhd, made by Hyper-V; read when a test runs, so the file collects without the samples. */
const hyperVDisk = (): Buffer => readFileSync(join(DFVFS_FIXTURES, "fat-differential.vhd"));

describe("parent locators", () => {
  test("golden: the Hyper-V W2ku entry and its UTF-16LE data", (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const hyperV = hyperVDisk();
    const entryBytes = hyperV.subarray(1088, 1112);
    expect(entryBytes.toString("hex")).toBe("57326b750000100000000054000000000000000000001000");
    const entry = decodeLocatorEntry(entryBytes);
    expect(Buffer.from(encodeLocatorEntry(entry)).equals(entryBytes)).toBe(true);
    const data = hyperV.subarray(entry.platformDataOffset, entry.platformDataOffset + entry.platformDataLength);
    expect(data.subarray(0, 4).toString("hex")).toBe("43003a00"); // "C:" little-endian, unlike the parent name
    expect(decodeLocatorData("W2ku", data)).toBe("C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd");
    expect(Buffer.from(encodeLocatorData("W2ku", "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd")).equals(data)).toBe(true);
  });

  test("golden: the Hyper-V W2ru data is a relative path", (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const data = hyperVDisk().subarray(0x3000, 0x3000 + 32);
    expect(decodeLocatorData("W2ru", data)).toBe(".\\fat-parent.vhd");
  });

  test("trailing NUL units are stripped", () => {
    const data = Buffer.concat([Buffer.from(".\\p.vhd", "utf16le"), Buffer.alloc(6)]);
    expect(decodeLocatorData("W2ru", data)).toBe(".\\p.vhd");
  });

  test("MacX is a UTF-8 file URL of a POSIX path, percent-encoded", () => {
    const bytes = encodeLocatorData("MacX", "/vms/golden images/ü.vhd");
    expect(Buffer.from(bytes).toString("utf8")).toBe("file://localhost/vms/golden%20images/%C3%BC.vhd");
    expect(decodeLocatorData("MacX", bytes)).toBe("/vms/golden images/ü.vhd");
    expect(decodeLocatorData("MacX", Buffer.from("file://./parent.vhd"))).toBe("./parent.vhd");
  });

  test("codes without a path decode to null; writing them is refused", () => {
    expect(decodeLocatorData("Mac ", Buffer.from("alias"))).toBeNull();
    expect(() => encodeLocatorData("Mac ", "x")).toThrow(/E_INVALIDARG/);
  });

  test("data space: below 512 is sectors, a multiple of 512 is bytes, anything else is invalid (blktap's rule)", () => {
    expect(locatorDataSpaceBytes(1)).toBe(512);
    expect(locatorDataSpaceBytes(2)).toBe(1024);
    expect(locatorDataSpaceBytes(4096)).toBe(4096);
    expect(locatorDataSpaceBytes(65536)).toBe(65536);
    expect(locatorDataSpaceBytes(1000)).toBeNull();
  });

  test("property: entries round-trip", () => {
    fc.assert(
      fc.property(locatorEntryArbitrary, (entry) => {
        expect(decodeLocatorEntry(encodeLocatorEntry(entry))).toEqual(entry);
      }),
    );
  });

  test("property: W2ku/W2ru/MacX paths round-trip", () => {
    const path = fc.string({ minLength: 1, maxLength: 100 }).filter((text) => !text.includes("\0"));
    fc.assert(
      fc.property(fc.constantFrom("W2ku", "W2ru"), path, (code, text) => {
        expect(decodeLocatorData(code, encodeLocatorData(code, text))).toBe(text);
      }),
    );
    fc.assert(
      fc.property(path, (text) => {
        expect(decodeLocatorData("MacX", encodeLocatorData("MacX", `/${text}`))).toBe(`/${text}`);
      }),
    );
  });
});
