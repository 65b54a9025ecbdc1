/**
 * Supplements the real-mount tests in validate.test.ts (which need `mount`): the volume rules at their exact
 * boundaries, with the volume's facts injected. Paths, the parent and the folder chain stay real.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIN_FREE_BYTES, validateCreateDifferencing } from "../../provider/inputs/validate";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage, VolumeFacts } from "../../provider/storage/port";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";
import { copyFixture, makeTemp, removeTemp } from "./fixtures";

const injected: { facts?: Partial<VolumeFacts> } = {};

/** This machine's storage, with the volume's facts overridden by `injected`. */
const storage: Storage = {
  ...localStorage,
  volumeFacts: async (folder, options) => ({ ...(await localStorage.volumeFacts(folder, options)), ...injected.facts }),
};

let temp: string;
let parentPath: string;

beforeEach(async (ctx) => {
  skipWithoutFixtures(ctx, DFVFS_FIXTURES);
  temp = await makeTemp("volume-rules");
  parentPath = await copyFixture("image.vhd", temp, "parent.vhd");
});

afterEach(async () => {
  delete injected.facts;
  await removeTemp(temp);
});

function validate() {
  return validateCreateDifferencing({ imagePath: path.join(temp, "sub", "child.vhd"), parentPath }, { storage });
}

describe("volume rules at their boundaries (injected facts)", () => {
  it("read-only volume: ERROR_INVALID_DRIVE, before any space rule", async () => {
    injected.facts = { readOnly: true, writable: false, freeBytes: 0 };
    await expect(validate()).rejects.toMatchObject({ code: "ERROR_INVALID_DRIVE", hresultHex: "0x8007000F", parameter: "imagePath" });
  });

  it("a folder this process may not write: ERROR_ACCESS_DENIED", async () => {
    injected.facts = { readOnly: false, writable: false };
    await expect(validate()).rejects.toMatchObject({ code: "ERROR_ACCESS_DENIED", parameter: "imagePath" });
  });

  it("8 MB - 1 byte free: ERROR_DISK_FULL; exactly 8 MB: accepted", async () => {
    injected.facts = { freeBytes: MIN_FREE_BYTES - 1 };
    await expect(validate()).rejects.toMatchObject({
      code: "ERROR_DISK_FULL",
      hresultHex: "0x80070070",
      details: expect.objectContaining({ freeBytes: MIN_FREE_BYTES - 1, neededBytes: MIN_FREE_BYTES }),
    });
    injected.facts = { freeBytes: MIN_FREE_BYTES };
    expect((await validate()).volume.freeBytes).toBe(MIN_FREE_BYTES);
  });

  it("a file-size limit one byte below the child's full expansion: VM_E_FILE_TOO_LARGE_FOR_VOLUME; at it: accepted", async () => {
    const { fullyExpandedSize } = await validate();
    injected.facts = { maxFileSize: fullyExpandedSize - 1 };
    await expect(validate()).rejects.toMatchObject({ code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME", hresultHex: "0xA0040679" });
    injected.facts = { maxFileSize: fullyExpandedSize };
    expect((await validate()).fullyExpandedSize).toBe(fullyExpandedSize);
    // Nothing was created by any of these validations.
    expect(await fsp.readdir(temp)).toEqual(["parent.vhd"]);
  });
});
