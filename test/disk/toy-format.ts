/**
 * A second disk format for tests, "toy": real files a test writes, opened through the same DiskFormatDriver seam as
 * VHD, so the chain can be shown to know nothing of VHD. Layout: the signature `toydisk1`, a u32 (LE) length, that
 * many bytes of JSON metadata, and from byte 4096 on the virtual disk's bytes at their own offsets (a sparse file).
 */
import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { openDisk } from "../../provider/disk/formats";
import type { DiskFormatDriver } from "../../provider/disk/driver";
import type { DiskImage, DiskKind, Extent, ParentReference } from "../../provider/disk/image";
import type { RandomAccessFile } from "../../provider/storage/random-access-file";

const SIGNATURE = "toydisk1";
const DATA_START = 4096;

/** What a toy disk holds: its identity, size, kind, parent record and the virtual ranges it stores. */
export interface ToyDisk {
  uniqueId: string;
  virtualSize: number;
  kind: DiskKind;
  parent?: { uniqueId: string; name: string; candidates: string[] };
  /** Virtual ranges this disk holds, each filled with `fill`. */
  data: { offset: number; length: number; fill: number }[];
}

/** The bytes of `disk` as a toy file. */
function encodeToyDisk(disk: ToyDisk): Buffer {
  const meta = Buffer.from(JSON.stringify(disk));
  const end = Math.max(DATA_START, ...disk.data.map((range) => DATA_START + range.offset + range.length));
  const bytes = Buffer.alloc(end);
  bytes.write(SIGNATURE, 0, "latin1");
  bytes.writeUInt32LE(meta.length, 8);
  meta.copy(bytes, 12);
  for (const range of disk.data) bytes.fill(range.fill, DATA_START + range.offset, DATA_START + range.offset + range.length);
  return bytes;
}

/** Writes `disk` as a toy file at `path`. */
export async function writeToyDisk(path: string, disk: ToyDisk): Promise<void> {
  await writeFile(path, encodeToyDisk(disk));
}

class ToyImage implements DiskImage {
  readonly format = "vhdx";
  readonly logicalSectorSize = 512;
  readonly physicalSectorSize = 512;
  readonly warnings = [];
  constructor(
    readonly file: RandomAccessFile,
    private readonly disk: ToyDisk,
  ) {}
  get path(): string {
    return this.file.path;
  }
  get kind(): DiskKind {
    return this.disk.kind;
  }
  get virtualSize(): number {
    return this.disk.virtualSize;
  }
  get uniqueId(): string {
    return this.disk.uniqueId;
  }
  get fileId(): string {
    return this.disk.uniqueId;
  }
  parentLinkRanges(): { offset: number; length: number }[] {
    return [];
  }
  parentReference(): ParentReference | null {
    const { parent } = this.disk;
    if (parent === undefined) return null;
    return {
      candidates: parent.candidates.map((path) => ({ path, source: "toy" })),
      uniqueId: parent.uniqueId,
      name: parent.name,
      recordedModifiedTime: null,
    };
  }
  async mapRange(offset: number, length: number): Promise<Extent[]> {
    const gap = this.disk.kind === "differencing" ? "parent" : "zero";
    const extents: Extent[] = [];
    let position = offset;
    const end = offset + length;
    for (const range of [...this.disk.data].sort((a, b) => a.offset - b.offset)) {
      const start = Math.max(range.offset, position);
      const stop = Math.min(range.offset + range.length, end);
      if (stop <= start) continue;
      if (start > position) extents.push({ kind: gap, offset: position, length: start - position });
      extents.push({ kind: "data", offset: start, length: stop - start, fileOffset: DATA_START + start });
      position = stop;
    }
    if (position < end) extents.push({ kind: gap, offset: position, length: end - position });
    return extents;
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

/** The toy driver; it claims the format name "vhdx" only because the seam's format union has no third name. */
export const toyDriver: DiskFormatDriver = {
  format: "vhdx",
  extensions: [".toy"],
  async probe(file) {
    return Buffer.from(await file.read(0, SIGNATURE.length)).toString("latin1") === SIGNATURE;
  },
  async open(file) {
    const header = await file.read(0, 12);
    const length = Buffer.from(header).readUInt32LE(8);
    const meta = JSON.parse(Buffer.from(await file.read(12, length)).toString("utf8")) as ToyDisk;
    return new ToyImage(file, meta);
  },
  async recordedParentIds(file) {
    const reference = (await toyDriver.open(file)).parentReference();
    return reference === null ? [] : [reference.uniqueId];
  },
  checkBlockSize(blockSize) {
    return blockSize ?? 1024 * 1024;
  },
  differencingFileSizes(virtualSize) {
    return { initialFileSize: DATA_START, fullyExpandedSize: DATA_START + virtualSize };
  },
  async readParentFacts(file) {
    const parent = await toyDriver.open(file);
    return { format: toyDriver.format, modified: new Date(), uniqueId: parent.uniqueId, virtualSize: parent.virtualSize };
  },
  /** The toy is read-only and makes no base disks (writeToyDisk does): the seam's tests never ask it to. */
  writeAt() {
    return Promise.reject(new Error("the toy format is read-only"));
  },
  relinkParent() {
    return Promise.reject(new Error("the toy format is read-only"));
  },
  prepareMerge() {
    return Promise.reject(new Error("the toy format is read-only"));
  },
  checkVirtualSize() {
    throw new Error("the toy format makes no base disks");
  },
  checkSectorSizes() {
    throw new Error("the toy format makes no base disks");
  },
  checkBaseBlockSize() {
    throw new Error("the toy format makes no base disks");
  },
  baseFileSizes() {
    throw new Error("the toy format makes no base disks");
  },
  createBase() {
    return Promise.reject(new Error("the toy format makes no base disks"));
  },
  verify() {
    return Promise.reject(new Error("the toy format has no verifier"));
  },
  describe() {
    throw new Error("the toy format has no inspect record");
  },
  /** The child's id is the parent's with `+` appended: unique enough for a test. */
  async createDifferencing(target, _parent, { parentPath }) {
    const parent = await openDisk(parentPath, { drivers: [toyDriver], parameter: "parentPath" });
    const disk: ToyDisk = {
      uniqueId: `${parent.uniqueId}+`,
      virtualSize: parent.virtualSize,
      kind: "differencing",
      parent: { uniqueId: parent.uniqueId, name: basename(parentPath), candidates: [parentPath] },
      data: [],
    };
    await parent.close();
    await target.write(0, encodeToyDisk(disk));
  },
};
