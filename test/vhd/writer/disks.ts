/** Helpers for the writer tests: temp folders, disks made by our writer, and our reader's view of a chain. */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256File } from "../../../provider/checksum/sha256";
import { createFileAtomically } from "../../../provider/storage/atomic-create";
import { localStorage } from "../../../provider/storage/local/local-storage";
import { openChain } from "../../../provider/disk/chain";
import { openDiskImage, type VhdImage } from "../../../provider/vhd/reader/reader";
import { readParentFacts } from "../../../provider/vhd/writer/parent-footer";
import { writeBaseDisk, writeDifferencingDisk, type BaseDiskOptions } from "../../../provider/vhd/writer/writer";

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** A fresh folder under the OS temp dir; `cleanup` removes it and everything in it. */
export async function tempFolder(prefix: string): Promise<{ folder: string; cleanup: () => Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), `vhd-writer-${prefix}-`));
  return { folder, cleanup: () => rm(folder, { recursive: true, force: true }) };
}

/** Creates a base disk at `path` the way the ops layer does: atomically. */
export async function createBase(path: string, options: Omit<BaseDiskOptions, "imagePath">): Promise<void> {
  await createFileAtomically(path, (file) => writeBaseDisk(file, { ...options, imagePath: path }), { storage: localStorage });
}

/** Creates a differencing child of `parentPath` at `childPath`, atomically. */
export async function createChild(childPath: string, parentPath: string, blockSize?: number): Promise<void> {
  const parent = await readParentFacts(localStorage, parentPath);
  await createFileAtomically(
    childPath,
    (file) => writeDifferencingDisk(file, parent, { imagePath: childPath, parentPath, ...(blockSize && { blockSize }) }),
    { storage: localStorage },
  );
}

/** The whole virtual disk at `path`, composed through its chain by our reader. */
export async function readComposed(path: string): Promise<Buffer> {
  const chain = await openChain(path);
  try {
    return Buffer.from(await chain.read(0, chain.virtualSize));
  } finally {
    await chain.close();
  }
}

/** SHA-256 (hex) of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** SHA-256 of a file's bytes (to prove a parent was not modified). */
export async function fileSha256(path: string): Promise<string> {
  return (await sha256File(path)).sha256;
}

/** Runs `use` on the disk at `path`, opened read-only by our reader, and closes it. */
export async function withImage<T>(path: string, use: (image: VhdImage) => Promise<T> | T): Promise<T> {
  const image = await openDiskImage(path);
  try {
    return await use(image);
  } finally {
    await image.close();
  }
}

/** The first and last 512 bytes of a file: the head and tail footer copies of a dynamic or differencing disk. */
export async function footerCopies(path: string): Promise<{ head: Buffer; tail: Buffer }> {
  const bytes = await readFile(path);
  return { head: bytes.subarray(0, 512), tail: bytes.subarray(bytes.length - 512) };
}
