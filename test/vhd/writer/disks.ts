/** Helpers for the writer tests: temp folders, disks made by our writer, and our reader's view of a chain. */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256File } from "../../../provider/sha256/sha256";
import { createFileAtomically } from "../../../provider/storage/atomic-create";
import { localStorage } from "../../../provider/storage/local/local-storage";
import { openChain } from "../../../provider/disk/chain";
import { rawContent } from "../../../provider/disk/content";
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

/** Options of {@link createBase}: the writer's, with the content given as a raw image's path. */
export type BaseOptions = Omit<BaseDiskOptions, "imagePath" | "content"> & { fromRaw?: string };

/** Creates a base disk at `path` the way the ops layer does: atomically, a raw image opened as its content. */
export async function createBase(path: string, { fromRaw, ...options }: BaseOptions): Promise<void> {
  await createFileAtomically(
    path,
    async (file, signal) => {
      const raw = fromRaw === undefined ? undefined : await localStorage.open(fromRaw, { parameter: "fromRaw" });
      try {
        await writeBaseDisk(file, { ...options, imagePath: path, ...(raw && { content: rawContent(raw) }), ...(signal && { signal }) });
      } finally {
        await raw?.close();
      }
    },
    { storage: localStorage, ...(options.signal && { signal: options.signal }) },
  );
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
