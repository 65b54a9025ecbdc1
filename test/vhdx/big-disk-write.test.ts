/**
 * A write into a huge sparse VHDX reads only the BAT entries it touches (issue 10): a 64 TB dynamic disk of 1 MiB
 * blocks has a 512 MiB BAT, and `vhd write` used to read it whole (and check every entry) three times per 8 MiB
 * piece. Counted through the storage port, not timed: the bytes read must stay within a few pages of BAT, the
 * headers, region table, metadata and log, whatever the disk's size.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MIB, VHDX_MAX_VIRTUAL_SIZE } from "../../provider/vhdx/format";
import { writeDisk } from "../../provider/disk/formats";
import { openVhdx } from "../../provider/vhdx/reader";
import { writeVhdxBase } from "../../provider/vhdx/writer";
import { useTempDir } from "../vhd/reader/temp-dir";
import { countingStorage, fillNewFile, type FileTraffic } from "./support";

const temp = useTempDir("vhdx-big-write");

test("a 3 MiB write into a 64 TB dynamic VHDX of 1 MiB blocks reads a few KiB of its 512 MiB BAT, and lands", async () => {
  const path = await fillNewFile(join(temp.path(), "huge.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: VHDX_MAX_VIRTUAL_SIZE, blockSize: MIB }),
  );
  const data = new Uint8Array(3 * MIB).map((_, index) => (index * 7) % 251);
  // Near the end of the disk: the entries sit at the end of the BAT, far from anything the open reads.
  const offset = VHDX_MAX_VIRTUAL_SIZE - 5 * MIB + 512;
  const traffic: FileTraffic = { bytesRead: 0, writes: [] };
  const result = await writeDisk(path, offset, data, { storage: countingStorage(traffic) });
  expect(result).toMatchObject({ bytesWritten: data.length, blocksAllocated: 4, fileSize: statSync(path).size });
  // Headers, region table, metadata table and items (64 KiB apiece at most), the log (1 MiB, read in full when live;
  // empty here) and the BAT pages of four entries: well under 1 MiB, where the whole BAT is 512 MiB.
  expect(traffic.bytesRead).toBeLessThan(MIB);
  // Read back the same way (the BAT on demand): reading 512 MiB of BAT whole would take most of this test's time.
  const image = await openVhdx(await localStorage.open(path), { bat: "on-demand" });
  try {
    expect(Buffer.from(await image.read(offset - 512, data.length + 512)).equals(Buffer.concat([Buffer.alloc(512), data]))).toBe(true);
  } finally {
    await image.close();
  }
});
