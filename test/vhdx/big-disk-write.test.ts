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
import { openChain } from "../../provider/disk/chain";
import { writeDisk } from "../../provider/disk/formats";
import { openVhdx } from "../../provider/vhdx/reader";
import { parentFactsOf, writeVhdxBase, writeVhdxChild } from "../../provider/vhdx/writer";
import { useTempDir } from "../vhd/reader/temp-dir";
import { countingStorage, fillNewFile, newTraffic } from "./support";

const temp = useTempDir("vhdx-big-write");

test("a 3 MiB write into a 64 TB dynamic VHDX of 1 MiB blocks reads a few KiB of its 512 MiB BAT, and lands", async () => {
  const path = await fillNewFile(join(temp.path(), "huge.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: VHDX_MAX_VIRTUAL_SIZE, blockSize: MIB }),
  );
  const data = new Uint8Array(3 * MIB).map((_, index) => (index * 7) % 251);
  // Near the end of the disk: the entries sit at the end of the BAT, far from anything the open reads.
  const offset = VHDX_MAX_VIRTUAL_SIZE - 5 * MIB + 512;
  const traffic = newTraffic();
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

test("a sector-unaligned write into a child of a 64 TB VHDX reads a few KiB of the parent's 512 MiB BAT, and the parent's bytes fill the sector", async () => {
  const parentPath = await fillNewFile(join(temp.path(), "huge-parent.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: VHDX_MAX_VIRTUAL_SIZE, blockSize: MIB }),
  );
  const below = Uint8Array.from({ length: 4096 }, (_, index) => 1 + (index % 200));
  const offset = VHDX_MAX_VIRTUAL_SIZE - 8 * MIB;
  await writeDisk(parentPath, offset, below);
  // Written straight from the parent's facts (validating a 64 TB parent reads its whole BAT: not what is measured).
  // 256 MiB blocks: the child's own BAT is small, so what is measured is the parent's.
  const parent = await openVhdx(await localStorage.open(parentPath), { bat: "on-demand" });
  const facts = parentFactsOf(parent, { relativePath: ".\\huge-parent.vhdx" });
  await parent.close();
  const childPath = await fillNewFile(join(temp.path(), "child.vhdx"), (file) => writeVhdxChild(file, { parent: facts, blockSize: 256 * MIB }));
  const traffic = newTraffic();
  await writeDisk(childPath, offset + 100, Uint8Array.of(0xaa, 0xbb), { storage: countingStorage(traffic) });
  expect(traffic.bytesRead).toBeLessThan(2 * MIB);
  const chain = await openChain(childPath, { mapsOnDemand: true });
  try {
    expect([...(await chain.read(offset + 98, 6))]).toEqual([below[98], below[99], 0xaa, 0xbb, below[102], below[103]]);
  } finally {
    await chain.close();
  }
});
