/**
 * The VHD 1.0 driver of the disk seam (disk/driver.ts): recognises a VHD by its footer cookie, opens it with the
 * reader, writes a new differencing disk with the writer, and gives validation the VHD's block sizes and the file
 * sizes of a new differencing disk.
 */
import type {
  BaseKind,
  CreateBaseOptions,
  CreateDifferencingOptions,
  DiskFormatDriver,
  NewFileSizes,
  OpenImageOptions,
  ParentFacts,
  RelinkOptions,
  RequestedSectorSizes,
  SectorSizes,
  VerifyReport,
  WriteAtOptions,
  MergeWrite,
  PrepareMergeOptions,
  WriteAtResult,
} from "../disk/driver";
import { foreignImage, type ChainErrorInfo, type DiskInfo, type InspectOptions } from "../disk/disk-info";
import type { DiskChain } from "../disk/chain";
import type { DiskImage } from "../disk/image";
import { checkSectorSizes } from "../disk/sector-sizes";
import { describeVhd } from "./inspect";
import { VhdError } from "../errors";
import type { Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
import { FOOTER_COOKIE, FOOTER_SIZE, SECTOR_SIZE, SHORT_FOOTER_SIZE, WRITTEN_LOCATORS, dynamicFileSizes, fixedFileSize, formatUniqueId } from "./format";
import { VhdImage, readDiskImage, recordedParentId } from "./reader/reader";
import { isVhdParentFacts, readParentFactsFrom, type VhdParentFacts } from "./writer/parent-footer";
import { parentLinkFor } from "./writer/parent-link";
import { relinkParent } from "./writer/relink";
import { checkBlockSize, checkVirtualSize } from "./writer/size-rules";
import { writeBaseDisk, writeDifferencingDisk } from "./writer/writer";
import { writeAt } from "./writer/block-writer";
import { verifyDisk } from "./verify";

/** True when `bytes` begin with the footer cookie `conectix`. */
function hasCookie(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, FOOTER_COOKIE.length)).toString("latin1") === FOOTER_COOKIE;
}

/** `parent` as a VHD parent's facts, else `ERROR_VHD_INVALID_TYPE` naming `parentPath`: a chain never mixes formats. */
function vhdParent(parent: ParentFacts, parentPath: string): VhdParentFacts {
  if (isVhdParentFacts(parent)) return parent;
  const reason = `a VHD child cannot have a ${parent.format} parent: a chain never mixes formats`;
  throw new VhdError("ERROR_VHD_INVALID_TYPE", reason, { parameter: "parentPath", path: parentPath });
}

/** The VHD 1.0 format (docs/vhd-format.md). */
export const vhdDriver: DiskFormatDriver = {
  format: "vhd",
  extensions: [".vhd", ".avhd"],

  /** The footer cookie at the tail (512 or, before Virtual PC 2004, 511 bytes from the end) or at the head (§1.1). */
  async probe(file: RandomAccessFile): Promise<boolean> {
    if (file.size < SHORT_FOOTER_SIZE) return false;
    // The 512-byte tail first: every producer since Virtual PC 2004 writes it, so one read settles most files.
    const places = [...(file.size >= FOOTER_SIZE ? [file.size - FOOTER_SIZE] : []), file.size - SHORT_FOOTER_SIZE];
    if (file.size >= FOOTER_SIZE) places.push(0);
    for (const offset of places) {
      if (hasCookie(await file.read(offset, FOOTER_COOKIE.length))) return true;
    }
    return false;
  },

  open(file: RandomAccessFile, options: OpenImageOptions = {}): Promise<VhdImage> {
    return readDiskImage(file, options);
  },

  async recordedParentIds(file: RandomAccessFile): Promise<readonly string[]> {
    const id = await recordedParentId(file);
    return id === null ? [] : [id];
  },

  checkBlockSize(blockSize: number | undefined, path: string): number {
    return checkBlockSize(blockSize, path, "imagePath");
  },

  /** The W2ku and W2ru locators' data areas included, as the writer lays the file out (format/layout.ts). */
  differencingFileSizes(virtualSize: number, blockSize: number): NewFileSizes {
    return dynamicFileSizes(virtualSize, blockSize, WRITTEN_LOCATORS.length);
  },

  /** The footer and mtime only, when the footer is sound (writer/parent-footer.ts). */
  readParentFacts(file: RandomAccessFile, storage: Storage): Promise<ParentFacts> {
    return readParentFactsFrom(file, storage);
  },

  /** The parent may be a VHD of any kind; see writer.ts `writeDifferencingDisk`. */
  async createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void> {
    await writeDifferencingDisk(target, vhdParent(parent, options.parentPath), options);
  },

  /** writer/relink.ts `relinkParent`: parent id, time stamp, name and W2ku/W2ru, switched over by the footers. */
  async relinkParent(file: RandomAccessFile, parent: ParentFacts, options: RelinkOptions): Promise<void> {
    const { imagePath, parentPath, expectedUniqueId } = options;
    const facts = vhdParent(parent, parentPath);
    const child = await readDiskImage(file, { strict: true, parameter: "imagePath" });
    if (formatUniqueId(child.footer.uniqueId) !== expectedUniqueId) {
      throw new VhdError("ERROR_ACCESS_DENIED", "the disk was replaced while it was being checked; run again", { parameter: "imagePath", path: imagePath });
    }
    await relinkParent(file, parentLinkFor({ childPath: imagePath, parentPath, parentFooter: facts.footer, parentModified: facts.modified }));
  },

  /** writer/block-writer.ts `writeAt`: the disk opened strictly, blocks appended as Virtual PC does. */
  writeAt(path: string, offset: number, data: Uint8Array, options: WriteAtOptions = {}): Promise<WriteAtResult> {
    return writeAt(path, offset, data, options);
  },

  /**
   * Nothing to ready: a write keeps the unique id the disk above links by (its parent time stamp then differs, which
   * the chain reports and accepts). Each write is the block writer's `writeAt` into the ancestor.
   */
  prepareMerge(chain: DiskChain, depth: number, options: PrepareMergeOptions): Promise<MergeWrite> {
    const path = chain.images[depth]?.path ?? "";
    return Promise.resolve(async (offset, data) => {
      await writeAt(path, offset, data, options);
    });
  },

  /** VHD 1.0 has 512-byte sectors only: `logicalSectorSize` is 512 by the caller's sector-size check. */
  checkVirtualSize(size: number, path: string): void {
    checkVirtualSize(size, path, "path");
  },

  /** 512 and 512: VHD 1.0 records no sector size, and every reader takes 512 (docs/vhd-format.md). */
  checkSectorSizes(requested: RequestedSectorSizes, path: string): SectorSizes {
    return checkSectorSizes(requested, path, {
      format: "VHD",
      allowed: [SECTOR_SIZE],
      defaults: { logicalSectorSize: SECTOR_SIZE, physicalSectorSize: SECTOR_SIZE },
      advice: "VHD 1.0 records no sector size; name the file .vhdx for 4096-byte sectors",
    });
  },

  /** A fixed VHD has no blocks; its block size is unused. */
  checkBaseBlockSize(blockSize: number | undefined, _type: BaseKind, path: string): number {
    return checkBlockSize(blockSize, path, "path");
  },

  baseFileSizes(size: number, type: BaseKind, blockSize: number): NewFileSizes {
    if (type === "fixed") return { initialFileSize: fixedFileSize(size), fullyExpandedSize: fixedFileSize(size) };
    return dynamicFileSizes(size, blockSize, 0);
  },

  async createBase(target: RandomAccessFile, options: CreateBaseOptions): Promise<void> {
    await writeBaseDisk(target, { ...options, imagePath: options.imagePath });
  },

  describe(image: DiskImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
    if (!(image instanceof VhdImage)) throw foreignImage(image, "VHD");
    return describeVhd(image, chain, chainError);
  },

  verify(path: string, options: InspectOptions = {}): Promise<VerifyReport> {
    return verifyDisk(path, options);
  },
};
