/** The big inputs of the benchmarks, made once per run in a temporary folder and removed with it. */
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { createFileAtomically } from "../provider/fs/atomic-file";
import { writeBaseDisk } from "../provider/vhd/writer";

/** 2 GiB: "a 2 GB file" of the issue, a whole number of 2 MiB blocks. */
export const BIG_SIZE = 2 * 1024 * 1024 * 1024;
const BLOCK = 2 * 1024 * 1024;
/** One block in this many is all zeros, so the dynamic disk is sparse in places, as a real golden image is. */
const ZERO_BLOCK_EVERY = 8;
const POOL_SIZE = 64 * 1024 * 1024;

/**
 * Writes a raw disk image of `BIG_SIZE` bytes: incompressible pseudo-random blocks (slices of a 64 MiB random pool at
 * shifting offsets, so no two neighbouring blocks are equal) with every 8th block zero.
 */
export async function makeBigRaw(path: string): Promise<void> {
  const pool = randomBytes(POOL_SIZE + BLOCK);
  const handle = await open(path, "wx");
  try {
    for (let block = 0; block < BIG_SIZE / BLOCK; block++) {
      if (block % ZERO_BLOCK_EVERY === ZERO_BLOCK_EVERY - 1) continue;
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
  await createFileAtomically(vhdPath, (handle) =>
    writeBaseDisk(handle, { imagePath: vhdPath, size: BIG_SIZE, type: "dynamic", fromRaw: rawPath }),
  );
}
