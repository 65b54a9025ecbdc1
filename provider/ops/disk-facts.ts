/**
 * The facts the state records about the child itself and its link to the parent, read from the child's own headers
 * by the engine's `inspectDisk`. `create` records them; `read` compares them with what was recorded.
 */
import { VhdError } from "../errors";
import type { DiskInfo } from "../disk/disk-info";

/** What the child's own headers say. */
export interface ChildFacts {
  /**
   * The disk's own identity (GUID string), which data writes into it leave alone: the file id (`DiskImage.fileId`;
   * VHD: the footer's unique id). Delete safety, ownership and the holds record go by it.
   */
  uniqueId: string;
  /** Size of the virtual disk in bytes (the parent's). */
  virtualSize: number;
  /** Block size of the disk in bytes. */
  blockSize: number;
  /** The parent's linkage id as recorded in the disk's header (the link Hyper-V checks; VHDX: its DataWriteGuid). */
  parentUniqueId: string;
  /** The parent's time stamp as recorded in the disk's header, ISO 8601; empty for a VHDX, which records none. */
  parentTimeStamp: string;
  /** Absolute paths of every ancestor, the parent first and the base last. */
  chain: string[];
  /** Number of ancestors (`chain.length`): 1 for a child of a base disk. */
  chainDepth: number;
  /** The parent file the child's locators resolve to; `null` when none does (parent missing or mismatched). */
  resolvedParentPath: string | null;
}

/**
 * The facts of a differencing disk. A disk of another type is `ERROR_VHD_INVALID_TYPE`: a `DifferencingDisk` can only
 * manage (or adopt, or read with `get`) a differencing disk.
 */
export function childFacts(info: DiskInfo): ChildFacts {
  const { parent } = info;
  if (info.type !== "differencing" || parent === undefined || info.blockSize === null) {
    throw new VhdError("ERROR_VHD_INVALID_TYPE", `the file is a ${info.type} disk, not a differencing disk`, {
      parameter: "imagePath",
      path: info.path,
      details: { type: info.type },
    });
  }
  const chain = info.chain.map((entry) => entry.path);
  return {
    uniqueId: info.fileId,
    virtualSize: info.virtualSize,
    blockSize: info.blockSize,
    parentUniqueId: parent.uniqueId,
    parentTimeStamp: parent.timestamp ?? "",
    chain,
    chainDepth: chain.length,
    resolvedParentPath: parent.resolvedPath,
  };
}
