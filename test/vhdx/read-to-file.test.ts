/**
 * `vhd read disk.vhdx > out.raw` moves its data as qemu-img convert does (issue 10's read benchmark), counted through
 * the storage port, not timed: one positioned read per block of data and nothing else once the disk is open (no BAT
 * or bitmap read per piece), several reads in flight, and writes one at a time, in order, holes left unwritten.
 * Eight concurrent pwrites into one ext4 file spun on its inode lock (2-3x qemu-img's system time). The pieces read
 * by the time a write ends go out together in one gathered write (pwritev), up to half the pieces in flight.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { VhdError } from "../../provider/errors";
import { wrappedFile } from "../../provider/storage/wrapped-file";
import { writeDisk } from "../../provider/disk/formats";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import { MIB } from "../../provider/vhdx/format";
import { writeVhdxBase } from "../../provider/vhdx/writer";
import { useTempDir } from "../vhd/reader/temp-dir";
import { countingFile, countingStorage, fillNewFile, newTraffic } from "./support";

const temp = useTempDir("vhdx-read-to-file");

test("a read of N allocated 2 MiB blocks to a file: N preads of 2 MiB, several at once; each non-zero block written once, in order, one write at a time", async () => {
  const blockSize = 2 * MIB;
  const blocks = 16;
  const path = await fillNewFile(join(temp.path(), "disk.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: blocks * blockSize, blockSize }),
  );
  const expected = Buffer.alloc(blocks * blockSize);
  const withData = [0, 1, 2, 5, 6, 11, 15];
  // Allocated but all zeros: read, and left a hole (as qemu-img convert -S 4k leaves it).
  const zeroBlock = 9;
  for (const block of withData) expected.fill(block + 1, block * blockSize, (block + 1) * blockSize);
  for (const block of [...withData, zeroBlock].sort((a, b) => b - a)) {
    await writeDisk(path, block * blockSize, expected.subarray(block * blockSize, (block + 1) * blockSize));
  }

  const source = newTraffic();
  const chain = await openChain(path, { storage: countingStorage(source) });
  const outPath = join(temp.path(), "out.raw");
  const target = newTraffic();
  const out = countingFile(await localStorage.createExclusive(outPath), target);
  const readsAtOpen = source.reads.length;
  try {
    await chain.copyToFile(out);
  } finally {
    await out.close();
    await chain.close();
  }

  const dataReads = source.reads.slice(readsAtOpen);
  expect(dataReads).toHaveLength(withData.length + 1);
  expect(dataReads.every((read) => read.length === blockSize && read.position % MIB === 0)).toBe(true);
  expect(source.mostReadsAtOnce).toBeGreaterThan(1);
  expect(target.writes).toEqual(withData.map((block) => ({ position: block * blockSize, length: blockSize })));
  expect(target.mostWritesAtOnce).toBe(1);
  expect(target.gatheredChunks.reduce((sum, chunks) => sum + chunks, 0)).toBe(withData.length);
  expect((await stat(outPath)).size).toBe(expected.length);
  expect((await readFile(outPath)).equals(expected)).toBe(true);
});

test("the pieces read while a write runs go out in the next write together, touching ones as one pwritev, at most half the pieces in flight", async () => {
  const blockSize = 2 * MIB;
  const blocks = 16;
  const workers = 8;
  const path = await fillNewFile(join(temp.path(), "full.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: blocks * blockSize, blockSize }),
  );
  const expected = Buffer.alloc(blocks * blockSize);
  for (let block = 0; block < blocks; block++) expected.fill(block + 1, block * blockSize, (block + 1) * blockSize);
  await writeDisk(path, 0, expected);
  // The first write is held until every worker has read its piece and handed it over (the hand-over follows the
  // read's end in promise continuations, all run before the next turn of the event loop): the next write then finds
  // the rest of pieces 1-7 waiting, and takes half the eight in flight.
  let release: () => void = () => undefined;
  const allRead = new Promise<void>((resolve) => (release = resolve));
  let counting = false;
  let readsDone = 0;
  const storage: Storage = {
    ...localStorage,
    open: async (file, options) => {
      const opened = await localStorage.open(file, options);
      return wrappedFile(opened, {
        read: async (position, length, target, targetOffset) => {
          const bytes = await opened.read(position, length, target, targetOffset);
          if (counting && ++readsDone === workers) setImmediate(release);
          return bytes;
        },
      });
    },
  };
  const chain = await openChain(path, { storage });
  counting = true;
  const outPath = join(temp.path(), "full.raw");
  const target = newTraffic();
  const real = await localStorage.createExclusive(outPath);
  const held = wrappedFile(real, {
    writeGathered: async (position, chunks) => {
      if (position === 0) await allRead;
      await real.writeGathered(position, chunks);
    },
  });
  const out = countingFile(held, target);
  try {
    await chain.copyToFile(out, { workers });
  } finally {
    await real.close();
    await chain.close();
  }
  // The first write took piece 0 and whatever followed it, read by then (out of order); the second the next four.
  expect(target.gatheredChunks[1]).toBe(workers / 2);
  expect(Math.max(...target.gatheredChunks)).toBeLessThanOrEqual(workers / 2);
  expect(target.writes).toEqual(Array.from({ length: blocks }, (_, block) => ({ position: block * blockSize, length: blockSize })));
  expect(target.mostWritesAtOnce).toBe(1);
  expect((await readFile(outPath)).equals(expected)).toBe(true);
});

test("a write that fails mid-copy fails the copy, with no write after it and none left waiting its turn", async () => {
  const blockSize = 2 * MIB;
  const path = await fillNewFile(join(temp.path(), "full.vhdx"), (file) =>
    writeVhdxBase(file, { kind: "dynamic", virtualSize: 8 * blockSize, blockSize }),
  );
  await writeDisk(path, 0, new Uint8Array(8 * blockSize).fill(7));
  const chain = await openChain(path);
  const traffic = newTraffic();
  const real = await localStorage.createExclusive(join(temp.path(), "failing.raw"));
  const counted = countingFile(real, traffic);
  const full = new VhdError("ERROR_DISK_FULL", "no space left", { parameter: "target", path: real.path });
  const failing = wrappedFile(counted, {
    write: (position, bytes) => (position === 3 * blockSize ? Promise.reject(full) : counted.write(position, bytes)),
  });
  try {
    await expect(chain.copyToFile(failing)).rejects.toBe(full);
  } finally {
    await real.close();
    await chain.close();
  }
  expect(traffic.writes.map((write) => write.position)).toEqual([0, blockSize, 2 * blockSize]);
});

test("a 4 KiB unit is written when any byte of it is non-zero, its first, last or one in the middle; an all-zero one stays a hole", async () => {
  const blockSize = 2 * MIB;
  const path = await fillNewFile(join(temp.path(), "bytes.vhdx"), (file) => writeVhdxBase(file, { kind: "dynamic", virtualSize: blockSize, blockSize }));
  const expected = Buffer.alloc(blockSize);
  for (const at of [0, 3 * 4096 + 2048, 6 * 4096 - 1]) expected[at] = 0x7f;
  await writeDisk(path, 0, expected);
  const chain = await openChain(path);
  const outPath = join(temp.path(), "bytes.raw");
  const target = newTraffic();
  const out = countingFile(await localStorage.createExclusive(outPath), target);
  try {
    await chain.copyToFile(out);
  } finally {
    await out.close();
    await chain.close();
  }
  expect(target.writes).toEqual([
    { position: 0, length: 4096 },
    { position: 3 * 4096, length: 4096 },
    { position: 5 * 4096, length: 4096 },
  ]);
  expect((await readFile(outPath)).equals(expected)).toBe(true);
});
