import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { openChain } from "../../../provider/disk/chain";
import { localStorage } from "../../../provider/storage/local/local-storage";
import { inspectDisk } from "../../../provider/disk/inspect";
import { parentCandidates } from "../../../provider/vhd/reader/parent-locator";
import { pyvhdiReadChain } from "../../support/oracles";
import { useTempDir } from "./temp-dir";
import { expectedContent, writeVhd, type SectorWrite } from "./vhd-builder";

const KiB = 1024;
const MiB = 1024 * KiB;
const temp = useTempDir("chain");
let counter = 0;
const freshFolder = async (): Promise<string> => {
  const folder = join(temp.path(), `case-${counter++}`);
  await mkdir(folder, { recursive: true });
  return folder;
};

/** Sector-aligned writes of random bytes inside a disk of `size` bytes, `unit` bytes granular. */
function writesArbitrary(size: number, unit: number): fc.Arbitrary<SectorWrite[]> {
  const units = size / unit;
  return fc.array(
    fc
      .tuple(fc.integer({ min: 0, max: units - 1 }), fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 255 }))
      .map(([first, count, seed]) => {
        const length = Math.min(count, units - first) * unit;
        const data = new Uint8Array(length).map((_, index) => (seed + index * 7) & 0xff);
        return { offset: first * unit, data };
      }),
    { maxLength: 8 },
  );
}

/** Builds base (dynamic) <- child <- ... <- leaf with the given writes per layer, base first; returns the leaf path. */
async function buildChain(folder: string, virtualSize: number, blockSize: number, layers: SectorWrite[][]): Promise<string[]> {
  const paths: string[] = [];
  let parent: { uniqueId: Uint8Array; name: string } | undefined;
  for (const [depth, writes] of layers.entries()) {
    const path = join(folder, `disk${depth}.vhd`);
    const built = await writeVhd(path, {
      type: parent === undefined ? "dynamic" : "differencing",
      virtualSize,
      blockSize,
      writes,
      ...(parent === undefined ? {} : { parent: { ...parent, locators: [{ code: "W2ru", path: `.\\${parent.name}` }] } }),
    });
    parent = { uniqueId: built.footer.uniqueId, name: `disk${depth}.vhd` };
    paths.unshift(path);
  }
  return paths;
}

describe("reading through a chain", () => {
  test("property: random writes to a parent then a child read back exactly through the chain", async () => {
    const size = 1 * MiB;
    await fc.assert(
      fc.asyncProperty(
        writesArbitrary(size, 512),
        writesArbitrary(size, 512),
        fc.integer({ min: 0, max: size / 512 - 1 }),
        fc.integer({ min: 1, max: 700 }),
        async (parentWrites, childWrites, firstSector, sectors) => {
          const folder = await freshFolder();
          const [leaf] = await buildChain(folder, size, 64 * KiB, [parentWrites, childWrites]);
          const expected = expectedContent(size, [parentWrites, childWrites]);
          const chain = await openChain(leaf as string);
          try {
            const whole = await chain.read(0, size);
            expect(Buffer.from(whole).equals(Buffer.from(expected))).toBe(true);
            const offset = firstSector * 512 + 3;
            const length = Math.min(sectors * 512, size - offset);
            expect(Buffer.from(await chain.read(offset, length)).equals(Buffer.from(expected.subarray(offset, offset + length)))).toBe(true);
          } finally {
            await chain.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  test("depth 3 with random whole-byte writes reads byte-identical to pyvhdi and to the model", async () => {
    const size = 2 * MiB;
    // Whole 4 KiB units keep every bitmap byte 0x00 or 0xFF: libvhdi misreads mixed bytes (docs/vhd-format.md §6).
    const samples = fc.sample(fc.tuple(writesArbitrary(size, 4096), writesArbitrary(size, 4096), writesArbitrary(size, 4096)), {
      numRuns: 6,
      seed: 42,
    });
    for (const layers of samples) {
      const folder = await freshFolder();
      const chainPaths = await buildChain(folder, size, 256 * KiB, layers);
      const chain = await openChain(chainPaths[0] as string);
      const ours = Buffer.from(await chain.read(0, size));
      await chain.close();
      await pyvhdiReadChain(chainPaths, join(folder, "oracle.raw"));
      const info = await inspectDisk(chainPaths[0] as string);
      expect(info.chain.map((entry) => [entry.path, entry.type])).toEqual([
        [chainPaths[1], "differencing"],
        [chainPaths[2], "dynamic"],
      ]);
      expect(ours.equals(await readFile(join(folder, "oracle.raw")))).toBe(true);
      expect(ours.equals(Buffer.from(expectedContent(size, layers)))).toBe(true);
    }
  });

  test("chunks() give the same bytes as read(); untouched chunks are flagged zero", async () => {
    const folder = await freshFolder();
    const size = 4 * MiB;
    const writes = [{ offset: 3 * MiB, data: new Uint8Array(randomBytes(8192)) }];
    const [leaf] = await buildChain(folder, size, 512 * KiB, [[], writes]);
    const chain = await openChain(leaf as string);
    try {
      const whole = Buffer.from(await chain.read(0, size));
      const pieces: Buffer[] = [];
      const zeroFlags: boolean[] = [];
      for await (const chunk of chain.chunks({ chunkSize: MiB })) {
        pieces.push(Buffer.from(chunk.bytes));
        zeroFlags.push(chunk.zero);
      }
      expect(Buffer.concat(pieces).equals(whole)).toBe(true);
      expect(zeroFlags).toEqual([true, true, true, false]);
      const ranged: Buffer[] = [];
      for await (const chunk of chain.chunks({ offset: 1000, length: 3 * MiB, chunkSize: 300_000 })) ranged.push(Buffer.from(chunk.bytes));
      expect(Buffer.concat(ranged).equals(whole.subarray(1000, 1000 + 3 * MiB))).toBe(true);
    } finally {
      await chain.close();
    }
  });

  test("property: chunks give the disk byte for byte, any chunk size and read-ahead, and a zero chunk is all zeros", async () => {
    const size = 1 * MiB;
    await fc.assert(
      fc.asyncProperty(
        writesArbitrary(size, 512),
        writesArbitrary(size, 512),
        fc.integer({ min: 1, max: 300 }).map((sectors) => sectors * 512 + (sectors % 3)),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4096 }),
        async (parentWrites, childWrites, chunkSize, readAhead, start) => {
          const folder = await freshFolder();
          const [leaf] = await buildChain(folder, size, 64 * KiB, [parentWrites, childWrites]);
          const expected = Buffer.from(expectedContent(size, [parentWrites, childWrites])).subarray(start);
          const chain = await openChain(leaf as string);
          try {
            const dense: Buffer[] = [];
            for await (const chunk of chain.chunks({ offset: start, chunkSize, readAhead })) {
              dense.push(Buffer.from(chunk.bytes));
              if (chunk.zero) expect(chunk.bytes.every((byte) => byte === 0)).toBe(true);
            }
            expect(Buffer.concat(dense).equals(expected)).toBe(true);
          } finally {
            await chain.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  test("property: copyToFile writes a sparse raw file byte-identical to the disk, any piece size, workers and range", async () => {
    const size = 1 * MiB;
    await fc.assert(
      fc.asyncProperty(
        writesArbitrary(size, 512),
        writesArbitrary(size, 512),
        fc.integer({ min: 1, max: 300 }).map((sectors) => sectors * 512 + (sectors % 5)),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: size / 2 }),
        async (parentWrites, childWrites, pieceSize, workers, start) => {
          const folder = await freshFolder();
          const [leaf] = await buildChain(folder, size, 64 * KiB, [parentWrites, childWrites]);
          const expected = Buffer.from(expectedContent(size, [parentWrites, childWrites])).subarray(start);
          const chain = await openChain(leaf as string);
          const target = join(folder, "out.raw");
          const file = await localStorage.createExclusive(target);
          try {
            await chain.copyToFile(file, { offset: start, pieceSize, workers });
          } finally {
            await file.close();
            await chain.close();
          }
          expect((await readFile(target)).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  test("copyToFile leaves unallocated blocks as holes, refuses a non-empty target, and stops on cancel", async () => {
    const folder = await freshFolder();
    const size = 64 * MiB;
    const writes = [{ offset: 40 * MiB, data: new Uint8Array(randomBytes(MiB)) }];
    const [leaf] = await buildChain(folder, size, 2 * MiB, [writes, []]);
    const chain = await openChain(leaf as string);
    try {
      const target = join(folder, "out.raw");
      const file = await localStorage.createExclusive(target);
      await chain.copyToFile(file).finally(() => file.close());
      const written = await stat(target);
      expect(written.size).toBe(size);
      // One 1 MiB run of data (plus file-system slack), not 64 MiB of zeros.
      expect(written.blocks * 512).toBeLessThan(4 * MiB);
      expect((await readFile(target)).equals(Buffer.from(expectedContent(size, [writes])))).toBe(true);

      const used = join(folder, "used.raw");
      await writeFile(used, "old bytes");
      const usedFile = await localStorage.open(used, { writable: true });
      await expect(chain.copyToFile(usedFile).finally(() => usedFile.close())).rejects.toMatchObject({
        code: "E_INVALIDARG",
        path: used,
      });
      expect(await readFile(used, "utf8")).toBe("old bytes");

      const cancelled = join(folder, "cancelled.raw");
      const cancelledFile = await localStorage.createExclusive(cancelled);
      const copy = chain.copyToFile(cancelledFile, { signal: AbortSignal.abort() });
      await expect(copy.finally(() => cancelledFile.close())).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN" });
    } finally {
      await chain.close();
    }
  });

  test("a range outside the disk is E_INVALIDARG naming offset or length", async () => {
    const folder = await freshFolder();
    const [leaf] = await buildChain(folder, MiB, 64 * KiB, [[]]);
    const chain = await openChain(leaf as string);
    try {
      await expect(chain.read(MiB - 512, 1024)).rejects.toMatchObject({ code: "E_INVALIDARG", parameter: "length" });
      await expect(chain.read(-1, 10)).rejects.toMatchObject({ code: "E_INVALIDARG", parameter: "offset" });
    } finally {
      await chain.close();
    }
  });
});

describe("finding the parent", () => {
  test("candidate order: W2ru against the child's folder, then W2ku (POSIX as stored, Windows drive by name), then the name", () => {
    const locators = [
      { slot: 0, entry: { platformCode: "W2ku", platformDataSpace: 1024, platformDataLength: 0, platformDataOffset: 0 }, path: "C:\\vms\\base.vhd" },
      { slot: 1, entry: { platformCode: "W2ru", platformDataSpace: 1024, platformDataLength: 0, platformDataOffset: 0 }, path: "..\\golden\\base.vhd" },
      { slot: 2, entry: { platformCode: "W2ku", platformDataSpace: 1024, platformDataLength: 0, platformDataOffset: 0 }, path: "\\srv\\golden\\base.vhd" },
      { slot: 3, entry: { platformCode: "MacX", platformDataSpace: 1024, platformDataLength: 0, platformDataOffset: 0 }, path: "/Volumes/x/base.vhd" },
    ];
    expect(parentCandidates("/vms/child/c.vhd", "other.vhd", locators)).toEqual([
      { path: "/vms/golden/base.vhd", source: "W2ru" },
      { path: "/vms/child/base.vhd", source: "W2ku" },
      { path: "/srv/golden/base.vhd", source: "W2ku" },
      { path: "/Volumes/x/base.vhd", source: "MacX" },
      { path: "/vms/child/other.vhd", source: "parentUnicodeName" },
    ]);
  });

  test("the first existing candidate whose id matches wins; a decoy with another id is skipped and reported", async () => {
    const folder = await freshFolder();
    await mkdir(join(folder, "golden"));
    await mkdir(join(folder, "child"));
    const base = await writeVhd(join(folder, "golden", "base.vhd"), { type: "dynamic", virtualSize: MiB, blockSize: 64 * KiB });
    await writeVhd(join(folder, "child", "base.vhd"), { type: "dynamic", virtualSize: MiB, blockSize: 64 * KiB });
    const childPath = join(folder, "child", "c.vhd");
    await writeVhd(childPath, {
      type: "differencing",
      virtualSize: MiB,
      blockSize: 64 * KiB,
      parent: {
        uniqueId: base.footer.uniqueId,
        name: "base.vhd",
        locators: [
          { code: "W2ku", path: join(folder, "golden", "base.vhd").replace(/\//g, "\\") },
          { code: "W2ru", path: ".\\base.vhd" },
        ],
      },
    });
    const info = await inspectDisk(childPath);
    expect(info.parent?.resolvedPath).toBe(join(folder, "golden", "base.vhd"));
    expect(info.parent?.attempts.map((attempt) => attempt.result)).toEqual(["id-mismatch", "found"]);
  });

  test("a parent moved away and back: missing -> ERROR_VHD_PARENT_VHD_NOT_FOUND listing every path; restored -> opens", async () => {
    const folder = await freshFolder();
    const [leaf, basePath] = await buildChain(folder, MiB, 64 * KiB, [[], []]);
    await rename(basePath as string, `${basePath as string}.moved`);
    const error = await openChain(leaf as string).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_PARENT_VHD_NOT_FOUND")).toBe(true);
    expect(isVhdError(error) && error.details["tried"]).toEqual([{ path: basePath, source: "W2ru, parentUnicodeName", result: "missing" }]);
    await rename(`${basePath as string}.moved`, basePath as string);
    const chain = await openChain(leaf as string);
    expect(chain.images.map((image) => image.path)).toEqual([leaf, basePath]);
    await chain.close();
  });

  test("a parent of another size is ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH", async () => {
    const folder = await freshFolder();
    const base = await writeVhd(join(folder, "base.vhd"), { type: "dynamic", virtualSize: 2 * MiB });
    await writeVhd(join(folder, "c.vhd"), { type: "differencing", virtualSize: MiB, parent: { uniqueId: base.footer.uniqueId, name: "base.vhd" } });
    await expect(openChain(join(folder, "c.vhd"))).rejects.toMatchObject({ code: "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH" });
  });

  test("a two-disk loop and a disk that is its own parent are ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED", async () => {
    const folder = await freshFolder();
    const idA = new Uint8Array(randomBytes(16));
    const idB = new Uint8Array(randomBytes(16));
    await writeVhd(join(folder, "a.vhd"), { type: "differencing", virtualSize: MiB, uniqueId: idA, parent: { uniqueId: idB, name: "b.vhd" } });
    await writeVhd(join(folder, "b.vhd"), { type: "differencing", virtualSize: MiB, uniqueId: idB, parent: { uniqueId: idA, name: "a.vhd" } });
    await expect(openChain(join(folder, "a.vhd"))).rejects.toMatchObject({ code: "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED" });
    await writeVhd(join(folder, "self.vhd"), { type: "differencing", virtualSize: MiB, uniqueId: idA, parent: { uniqueId: idA, name: "self.vhd" } });
    await expect(openChain(join(folder, "self.vhd"))).rejects.toMatchObject({ code: "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED" });
  });

  test("a chain deeper than maxDepth is ERROR_VIRTUAL_DISK_LIMITATION; within it, it opens", async () => {
    const folder = await freshFolder();
    const [leaf] = await buildChain(folder, MiB, 64 * KiB, [[], [], [], [], []]);
    await expect(openChain(leaf as string, { maxDepth: 4 })).rejects.toMatchObject({ code: "ERROR_VIRTUAL_DISK_LIMITATION" });
    const chain = await openChain(leaf as string, { maxDepth: 5 });
    expect(chain.images).toHaveLength(5);
    await chain.close();
  });
});
