/**
 * Every real VHDX in the samples' `vhdx/` folder (walked, so files added later are covered): it opens, its facts match
 * what vhdiinfo reports, and the whole disk reads byte for byte as pyvhdi reads it. Known oracle limits
 * (docs/vhdx-format.md §7): libvhdi never replays a log, so for a file with a pending log the test checks instead that
 * the replayed reading differs from libvhdi's stale one and equals qemu's reading of a copy qemu replayed
 * (`qemu-img check -r all`); a child without its parent is checked for its facts only.
 */
import { copyFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { NIL_GUID } from "../../provider/vhdx/format";
import { fixtureFiles, skipWithoutFixtures, VHDX_FIXTURES } from "../support/fixtures";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import {
  decompressFixture,
  decompressedName,
  HAVE,
  openVhdxPath,
  pyvhdiRanges,
  run,
  sha256OfImage,
  sha256OfRanges,
} from "./support";

const FIXTURES = fixtureFiles(VHDX_FIXTURES).filter((file) => /\.a?vhdx(\.(gz|bz2|zip))?$/i.test(file));

/** Disks up to this size are read whole by both readers. */
const WHOLE_READ_LIMIT = 1024 ** 3;

const temp = useTempDir("vhdx-fixtures");
const pathOf = (file: string): string => join(temp.path(), decompressedName(file));

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

beforeAll(async () => {
  for (const file of FIXTURES) await decompressFixture(file, pathOf(file));
});

describe.each(FIXTURES)("%s", (file) => {
  test("opens, and its facts are vhdiinfo's", async (ctx) => {
    const image = await openVhdxPath(pathOf(file));
    try {
      expect(image.virtualSize).toBeGreaterThan(0);
      expect(image.creator).toMatch(/^Microsoft Windows/);
      if (!HAVE.vhdiinfo) ctx.skip("vhdiinfo (libvhdi-utils) is not installed here");
      const info = await vhdiinfo(pathOf(file));
      expect(info.mediaSize).toBe(image.virtualSize);
      expect(info.diskType).toBe({ fixed: "Fixed", dynamic: "Dynamic", differencing: "Differential" }[image.kind]);
      // vhdiinfo's Identifier is the header's DataWriteGuid (MANIFEST.md, oracle disagreements (2)).
      expect(info.identifier).toBe(image.dataWriteGuid);
      expect(info.fields["Bytes per sector"]).toBe(`${image.logicalSectorSize} bytes`);
      if (image.kind === "differencing") expect(`{${info.parentIdentifier ?? ""}}`).toBe(image.parentLocator?.parentLinkage);
    } finally {
      await image.close();
    }
  });

  test("reads as pyvhdi reads it", async (ctx) => {
    const image = await openVhdxPath(pathOf(file));
    try {
      if (image.kind === "differencing") {
        // The parent of this Windows checkpoint is in no public repository (MANIFEST.md); pyvhdi cannot read it either.
        await expect(image.read(0, 1024 * 1024)).rejects.toMatchObject({ code: "ERROR_VHD_PARENT_VHD_NOT_FOUND" });
        return;
      }
      if (!HAVE.pyvhdi) ctx.skip("pyvhdi (python3-pyvhdi) is not installed here");
      if (image.virtualSize > WHOLE_READ_LIMIT) {
        // Whole 10 GiB reads take over a minute per oracle here: compare every data run our BAT maps, and the
        // first MiB of every run we read as zeros, instead.
        const ranges = (await image.mapRange(0, image.virtualSize)).map((extent) =>
          extent.kind === "data" ? extent : { offset: extent.offset, length: Math.min(extent.length, 1024 * 1024) },
        );
        expect(image.replayedLog).toHaveLength(0);
        expect(await sha256OfRanges(image, ranges)).toBe(await pyvhdiRanges(pathOf(file), ranges));
        return;
      }
      const ours = await sha256OfImage(image);
      const theirs = await pyvhdiReadChain([pathOf(file)], "/dev/null");
      expect(theirs.mediaSize).toBe(image.virtualSize);
      if (image.replayedLog.length === 0) {
        expect(ours).toBe(theirs.sha256);
        return;
      }
      // libvhdi does not replay the log (docs/vhdx-format.md §7): its reading is the stale one; qemu replays it.
      expect(image.header.logGuid).not.toBe(NIL_GUID);
      expect(ours).not.toBe(theirs.sha256);
      if (!HAVE.qemuImg) ctx.skip("qemu-img (qemu-utils) is not installed here");
      const copy = join(temp.path(), `${decompressedName(file)}.replayed`);
      await copyFile(pathOf(file), copy);
      await run("qemu-img", ["check", "-q", "-r", "all", "-f", "vhdx", copy]).catch(() => undefined);
      const qemuRaw = `${copy}.raw`;
      await run("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", copy, qemuRaw]);
      expect(ours).toBe(await sha256File(qemuRaw));
      await rm(qemuRaw, { force: true });
      await rm(copy, { force: true });
    } finally {
      await image.close();
    }
  });
});

test("the fixture folder is walked", async (ctx) => {
  skipWithoutFixtures(ctx, VHDX_FIXTURES);
  expect((await readdir(VHDX_FIXTURES)).length).toBeGreaterThan(FIXTURES.length);
  expect(FIXTURES.length).toBeGreaterThanOrEqual(12);
});
