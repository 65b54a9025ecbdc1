/** The big inputs of the benchmarks, made once per run in a temporary folder and removed with it. */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { createBaseDisk } from "../provider/ops/create-base";
import { createFileAtomically } from "../provider/storage/atomic-create";
import { localStorage } from "../provider/storage/local/local-storage";
import { writeBaseDisk } from "../provider/vhd/writer/writer";
import { rawContent } from "../provider/disk/content";

const BLOCK = 2 * 1024 * 1024;
/**
 * 2 GiB: "a 2 GB file" of the issue, a whole number of 2 MiB blocks. `VHD_BENCH_SIZE` (bytes, a multiple of 2 MiB)
 * sets another, to prove the benchmarks work at a small scale.
 */
export const BIG_SIZE = sizeFromEnv("VHD_BENCH_SIZE", 2 * 1024 * 1024 * 1024, BLOCK);

/** A size in bytes from the environment variable `name`, a positive multiple of `unit`; `fallback` when unset. */
export function sizeFromEnv(name: string, fallback: number, unit: number): number {
  const given = process.env[name];
  if (given === undefined || given === "") return fallback;
  const size = Number(given);
  if (!Number.isSafeInteger(size) || size <= 0 || size % unit !== 0) {
    throw new Error(`${name}=${given}: give a positive number of bytes, a multiple of ${unit}`);
  }
  return size;
}
const POOL_SIZE = 64 * 1024 * 1024;

/** Which 2 MiB blocks of a big image hold data; the others are all zeros, so its dynamic VHD leaves them unallocated. */
export const BLOCK_PATTERNS = {
  /** Every block holds data: the dynamic VHD is fully allocated. */
  full: () => true,
  /** One block in 8 holds data: a sparse disk, most of it holes. */
  sparse: (block: number) => block % 8 === 0,
} satisfies Record<string, (block: number) => boolean>;

/**
 * Writes a raw disk image of `BIG_SIZE` bytes: incompressible pseudo-random blocks (slices of a 64 MiB random pool at
 * shifting offsets, so no two neighbouring blocks are equal) where `holdsData(block)`, holes elsewhere.
 */
export async function makeBigRaw(path: string, holdsData: (block: number) => boolean): Promise<void> {
  const pool = randomBytes(POOL_SIZE + BLOCK);
  const handle = await open(path, "wx");
  try {
    for (let block = 0; block < BIG_SIZE / BLOCK; block++) {
      if (!holdsData(block)) continue;
      const start = (block * 7919 * 4096) % POOL_SIZE;
      await handle.write(pool, start, BLOCK, block * BLOCK);
    }
    await handle.truncate(BIG_SIZE);
  } finally {
    await handle.close();
  }
}

/** Imports the raw image into a dynamic VHD with our writer (only the non-zero blocks are allocated). */
export async function makeBigDynamicVhd(rawPath: string, vhdPath: string): Promise<void> {
  await createFileAtomically(
    vhdPath,
    async (file) => {
      const raw = await localStorage.open(rawPath);
      try {
        await writeBaseDisk(file, { imagePath: vhdPath, size: BIG_SIZE, type: "dynamic", content: rawContent(raw) });
      } finally {
        await raw.close();
      }
    },
    { storage: localStorage },
  );
}

/**
 * A golden image of `mib` MiB (a multiple of 16) full of data (not sparse), as a real OS image is: a raw file of random
 * bytes made into a dynamic VHD, `<work>/<name>.vhd`.
 */
export async function makeFullGolden(work: string, name: string, mib: number): Promise<string> {
  const raw = join(work, `${name}.raw`);
  const chunk = randomBytes(16 * 1024 * 1024);
  const fd = openSync(raw, "w");
  for (let written = 0; written < mib; written += 16) {
    chunk.writeUInt32LE(written, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const golden = join(work, `${name}.vhd`);
  await createBaseDisk({ path: golden, type: "dynamic", fromRaw: raw });
  rmSync(raw);
  return golden;
}
