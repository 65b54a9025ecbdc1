/**
 * Helpers of the VHDX tests: decompressing the real VHDX files, reading a whole image, and which oracles this
 * machine has.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import type { RandomAccessFile } from "../../provider/storage/random-access-file";
import { wrappedFile } from "../../provider/storage/wrapped-file";
import { HEADER_OFFSETS } from "../../provider/vhdx/format";
import { openVhdx, type ParentReader, type VhdxImage } from "../../provider/vhdx/reader";
import { VHDX_FIXTURES } from "../support/fixtures";
import { SYSTEM_PYTHON } from "../support/oracles";

export const run = promisify(execFile);

/** True when `command` runs (`--version`, `--help` or `-V` exits 0), so a test can skip with the reason. */
function hasCommand(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export const HAVE = {
  qemuImg: hasCommand("qemu-img", ["--version"]),
  qemuIo: hasCommand("qemu-io", ["--version"]),
  vhdiinfo: hasCommand("vhdiinfo", ["-V"]),
  pyvhdi: hasCommand(SYSTEM_PYTHON, ["-c", "import pyvhdi"]),
};

/** The name a compressed fixture decompresses to (`x.vhdx.gz` -> `x.vhdx`). */
export function decompressedName(file: string): string {
  return file.replace(/\.(gz|bz2|zip)$/i, "");
}

/** Decompresses fixture `file` (gzip, bzip2 or a one-file zip) to `target`. */
export async function decompressFixture(file: string, target: string): Promise<void> {
  const source = resolve(VHDX_FIXTURES, file);
  if (file.endsWith(".gz")) {
    const { readFile } = await import("node:fs/promises");
    await writeFile(target, gunzipSync(await readFile(source)));
  } else if (file.endsWith(".bz2")) {
    await run("sh", ["-c", 'bunzip2 -c "$1" > "$2"', "sh", source, target]);
  } else {
    await run("sh", ["-c", 'unzip -p "$1" > "$2"', "sh", source, target]);
  }
}

/** Opens a VHDX read-only through the local file adapter. */
export async function openVhdxPath(path: string): Promise<VhdxImage> {
  const file = await localStorage.open(path);
  try {
    return await openVhdx(file);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** SHA-256 (hex) of the whole virtual disk as `image` reads it, 4 MiB at a time. */
export async function sha256OfImage(image: VhdxImage, parent?: ParentReader): Promise<string> {
  const hash = createHash("sha256");
  const piece = 4 * 1024 * 1024;
  for (let offset = 0; offset < image.virtualSize; offset += piece) {
    hash.update(await image.read(offset, Math.min(piece, image.virtualSize - offset), parent));
  }
  return hash.digest("hex");
}

/** A parent reader over an open image and its own parent. */
export function parentReader(image: VhdxImage, grandparent?: ParentReader): ParentReader {
  return { read: (offset, length) => image.read(offset, length, grandparent) };
}

/** A byte range of a virtual disk. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** SHA-256 (hex) of the concatenation of `ranges` as `image` reads them. */
export async function sha256OfRanges(image: VhdxImage, ranges: readonly ByteRange[], parent?: ParentReader): Promise<string> {
  const hash = createHash("sha256");
  const piece = 4 * 1024 * 1024;
  for (const { offset, length } of ranges) {
    for (let at = offset; at < offset + length; at += piece) {
      hash.update(await image.read(at, Math.min(piece, offset + length - at), parent));
    }
  }
  return hash.digest("hex");
}

/** SHA-256 (hex) of the concatenation of `ranges` as pyvhdi reads them from `path` (no parent). */
export async function pyvhdiRanges(path: string, ranges: readonly ByteRange[]): Promise<string> {
  const args = [resolve(__dirname, "pyvhdi-ranges.py"), path, ...ranges.map(({ offset, length }) => `${offset}:${length}`)];
  const { stdout } = await run(SYSTEM_PYTHON, args, { maxBuffer: 1024 * 1024 });
  return stdout.trim();
}

/** Creates an empty file at `path`, opens it writable and lets `fill` write a disk into it. */
export async function fillNewFile(path: string, fill: (file: RandomAccessFile) => Promise<void>): Promise<string> {
  await writeFile(path, "");
  const file = await localStorage.open(path, { writable: true });
  try {
    await fill(file);
  } finally {
    await file.close();
  }
  return path;
}

/**
 * What a {@link countingFile} saw: the offset and length of every read and write (each chunk of a gathered write
 * counting as one), in the order they were asked for, the most of each that were in flight at once, and the chunks of
 * each gathered write.
 */
export interface FileTraffic {
  bytesRead: number;
  reads: { position: number; length: number }[];
  writes: { position: number; length: number }[];
  mostReadsAtOnce: number;
  mostWritesAtOnce: number;
  gatheredChunks: number[];
}

/** Traffic before any read or write. */
export function newTraffic(): FileTraffic {
  return { bytesRead: 0, reads: [], writes: [], mostReadsAtOnce: 0, mostWritesAtOnce: 0, gatheredChunks: [] };
}

/** `file`, with every read and write also counted into `traffic`. */
export function countingFile(file: RandomAccessFile, traffic: FileTraffic): RandomAccessFile {
  const inFlight = { reads: 0, writes: 0 };
  return wrappedFile(file, {
    async read(position, length, target, targetOffset) {
      traffic.bytesRead += length;
      traffic.reads.push({ position, length });
      traffic.mostReadsAtOnce = Math.max(traffic.mostReadsAtOnce, ++inFlight.reads);
      try {
        return await file.read(position, length, target, targetOffset);
      } finally {
        inFlight.reads--;
      }
    },
    async write(position, bytes) {
      traffic.writes.push({ position, length: bytes.length });
      traffic.mostWritesAtOnce = Math.max(traffic.mostWritesAtOnce, ++inFlight.writes);
      try {
        await file.write(position, bytes);
      } finally {
        inFlight.writes--;
      }
    },
    async writeGathered(position, chunks) {
      let at = position;
      for (const chunk of chunks) {
        traffic.writes.push({ position: at, length: chunk.length });
        at += chunk.length;
      }
      traffic.gatheredChunks.push(chunks.length);
      traffic.mostWritesAtOnce = Math.max(traffic.mostWritesAtOnce, ++inFlight.writes);
      try {
        await file.writeGathered(position, chunks);
      } finally {
        inFlight.writes--;
      }
    },
  });
}

/** How many of `traffic`'s writes went to a header (§2.2.2: 64 KiB and 128 KiB). */
export function headerWrites(traffic: FileTraffic): number {
  return traffic.writes.filter(({ position }) => (HEADER_OFFSETS as readonly number[]).includes(position)).length;
}

/** The local storage, every file it opens counted into `traffic` ({@link countingFile}). */
export function countingStorage(traffic: FileTraffic): Storage {
  return { ...localStorage, open: async (path, options) => countingFile(await localStorage.open(path, options), traffic) };
}
