/**
 * An opened virtual disk, whatever its format: what the chain (chain.ts), inspection and the operations ask of one
 * disk. A format driver (driver.ts; `vhd/driver.ts` is the first) opens a file into this shape; the chain walks
 * parents, checks identities and composes reads through nothing else, so a second format (VHDX) adds a driver and
 * no chain code.
 */
import type { ErrorName } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";

/** The formats a driver exists for, or is planned for (`vhdx`). */
export type DiskFormat = "vhd" | "vhdx";

/** The three kinds of disk both VHD and VHDX know (VHDX calls fixed and dynamic by its `LeaveBlocksAllocated` bit). */
export type DiskKind = "fixed" | "dynamic" | "differencing";

/**
 * A run of virtual bytes and where they come from: bytes the disk's own file holds at `fileOffset`, bytes known to
 * be zero (an unallocated block of a base disk), or bytes left to the parent. Offsets and lengths are bytes.
 */
export type Extent =
  | { kind: "data"; offset: number; length: number; fileOffset: number }
  | { kind: "zero"; offset: number; length: number }
  | { kind: "parent"; offset: number; length: number };

/** Something odd about the file that did not stop it from being read (verify reports it as a failure). */
export interface DiskWarning {
  code: ErrorName;
  message: string;
  /** The format's name for the field, when one field is at fault. */
  field?: string;
  /** Its byte offset in the file. */
  offset?: number;
}

/** A path where a differencing disk's parent may be, and which of the child's records named it. */
export interface ParentCandidate {
  path: string;
  /** The records that named it, comma-separated, in the format's own words (`W2ru`, `parentUnicodeName`, ...). */
  source: string;
}

/**
 * What a differencing disk says about its parent: where to look and whom to expect. The chain resolves it (first
 * candidate that exists and carries `uniqueId` or an alternative); the driver only reads the child's records.
 */
export interface ParentReference {
  /** Paths to try, in the format's order of preference (VHD: docs/vhd-format.md §4). */
  candidates: readonly ParentCandidate[];
  /** The identity the child recorded of its parent, in the form {@link DiskImage.uniqueId} takes. */
  uniqueId: string;
  /**
   * Other identities the parent may have and still be the one (same form): VHDX's `parent_linkage2`, the
   * DataWriteGuid a merge writes the parent under (MS-VHDX §2.6.2.6.3 note 12). None for VHD.
   */
  alternativeUniqueIds?: readonly string[];
  /** The parent's name as the child stores it, for messages. */
  name: string;
  /**
   * The parent's modification time the child recorded, at whole-second resolution (VHD's parent time stamp);
   * `null` when the child recorded none (Hyper-V writes 0) or the format has no such field (VHDX).
   */
  recordedModifiedTime: Date | null;
}

/** One opened disk file. The driver that opened it owns `file`; {@link close} closes it. */
export interface DiskImage {
  /** Which driver opened it. */
  readonly format: DiskFormat;
  /** The open file: `identity` recognises the same file under two names, data extents are read from it. */
  readonly file: RandomAccessFile;
  /** The path the disk was opened by (`file.path`). */
  readonly path: string;
  readonly kind: DiskKind;
  /** Bytes the guest sees. */
  readonly virtualSize: number;
  /** Bytes per logical sector: 512 for VHD, 512 or 4096 for VHDX. A child's must equal its parent's. */
  readonly logicalSectorSize: number;
  /** Bytes per physical sector, what the guest is told to align to: 512 for VHD, 512 or 4096 for VHDX. */
  readonly physicalSectorSize: number;
  /**
   * The linkage id: the identity a child records of this disk as its parent and checks (VHD: the footer's unique id,
   * hex in file byte order; VHDX: the DataWriteGuid, renewed by every write session), compared as strings.
   */
  readonly uniqueId: string;
  /**
   * The file's own identity, unchanged by data writes (ours, Hyper-V's, qemu's): how the resource and the ownership
   * records know "this is the disk I created". VHD: the footer's unique id (the same as {@link uniqueId}); VHDX:
   * the file id user item we write into every file we create, else the Virtual Disk ID (vhdx/reader.ts).
   */
  readonly fileId: string;
  /** Readable oddities, found when the file was opened. */
  readonly warnings: readonly DiskWarning[];
  /** What a differencing disk records of its parent; `null` for a fixed or dynamic disk. */
  parentReference(): ParentReference | null;
  /**
   * The byte ranges of the file (offsets and lengths in bytes) that record where the parent is: what a relink
   * rewrites, read as zeros by the unlinked checksum (vhd/unlinked-checksum.ts). Empty for a fixed or dynamic disk.
   */
  parentLinkRanges(): { offset: number; length: number }[];
  /**
   * Splits the virtual range `[offset, offset + length)` (bytes, inside the disk) into extents, in order, adjacent
   * ones of a kind merged. Reads only the maps (BAT, bitmaps), never data.
   */
  mapRange(offset: number, length: number): Promise<Extent[]>;
  /** Closes the file; safe to call twice. */
  close(): Promise<void>;
}

/** Whether a disk with `uniqueId` is the parent `reference` expects: its `uniqueId` or one of its alternatives. */
export function acceptsParentId(reference: ParentReference, uniqueId: string): boolean {
  return reference.uniqueId === uniqueId || (reference.alternativeUniqueIds ?? []).includes(uniqueId);
}
