/**
 * The VHD 1.0 driver of the disk seam (disk/driver.ts): recognises a VHD by its footer cookie, opens it with the
 * reader, writes a new differencing disk with the writer, and gives validation the VHD's block sizes and the file
 * sizes of a new differencing disk.
 */
import type { CreateDifferencingOptions, DiskFormatDriver, NewFileSizes, OpenImageOptions, ParentFacts } from "../disk/driver";
import { VhdError } from "../errors";
import type { Storage } from "../storage/port";
import type { RandomAccessFile } from "../storage/random-access-file";
import { FOOTER_COOKIE, FOOTER_SIZE, SHORT_FOOTER_SIZE, WRITTEN_LOCATORS, dynamicFileSizes } from "./format";
import { readDiskImage, type VhdImage } from "./reader/reader";
import { isVhdParentFacts, readParentFacts } from "./writer/parent-footer";
import { checkBlockSize } from "./writer/size-rules";
import { writeDifferencingDisk } from "./writer/writer";

/** True when `bytes` begin with the footer cookie `conectix`. */
function hasCookie(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, FOOTER_COOKIE.length)).toString("latin1") === FOOTER_COOKIE;
}

/** The VHD 1.0 format (vhd-format.md). */
export const vhdDriver: DiskFormatDriver = {
  format: "vhd",
  extensions: [".vhd", ".avhd"],

  /** The footer cookie at the tail (512 or, before Virtual PC 2004, 511 bytes from the end) or at the head (§1.1). */
  async probe(file: RandomAccessFile): Promise<boolean> {
    if (file.size < SHORT_FOOTER_SIZE) return false;
    const places = [file.size - SHORT_FOOTER_SIZE, ...(file.size >= FOOTER_SIZE ? [file.size - FOOTER_SIZE, 0] : [])];
    for (const offset of places) {
      if (hasCookie(await file.read(offset, FOOTER_COOKIE.length))) return true;
    }
    return false;
  },

  open(file: RandomAccessFile, options: OpenImageOptions = {}): Promise<VhdImage> {
    return readDiskImage(file, options);
  },

  checkBlockSize(blockSize: number | undefined, path: string): number {
    return checkBlockSize(blockSize, path, "imagePath");
  },

  /** The W2ku and W2ru locators' data areas included, as the writer lays the file out (format/layout.ts). */
  differencingFileSizes(virtualSize: number, blockSize: number): NewFileSizes {
    return dynamicFileSizes(virtualSize, blockSize, WRITTEN_LOCATORS.length);
  },

  /** The footer and mtime only, when the footer is sound (writer/parent-footer.ts). */
  readParentFacts(storage: Storage, parentPath: string): Promise<ParentFacts> {
    return readParentFacts(storage, parentPath);
  },

  /** The parent may be a VHD of any kind; see writer.ts `writeDifferencingDisk`. */
  async createDifferencing(target: RandomAccessFile, parent: ParentFacts, options: CreateDifferencingOptions): Promise<void> {
    if (!isVhdParentFacts(parent)) {
      const reason = `a VHD child cannot have a ${parent.format} parent: a chain never mixes formats`;
      throw new VhdError("ERROR_VHD_INVALID_TYPE", reason, { parameter: "parentPath", path: options.parentPath });
    }
    await writeDifferencingDisk(target, parent, options);
  },
};
