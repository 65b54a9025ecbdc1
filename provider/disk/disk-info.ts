/**
 * The record `vhd inspect` prints of a disk of any format (`DiskInfo`), and the parts of it every driver fills the
 * same way. Each driver describes its own images (`DiskFormatDriver.describe`); disk/inspect.ts opens and dispatches.
 */
import { VhdError, isVhdError, type ErrorName, type ErrorParameter } from "../errors";
import type { Storage } from "../storage/port";
import type { ParentAttempt } from "./chain";
import type { DiskFormat, DiskImage, DiskKind } from "./image";

/** One disk of a chain, as listed by {@link inspectDisk}. */
export interface ChainEntry {
  path: string;
  uniqueId: string;
  type: DiskKind;
}

/** What a differencing disk records about its parent, and where it was found. */
export interface ParentInfo {
  /**
   * The parent's unique id as recorded: VHD, 16 bytes, hex in file order, dashed like libvhdi prints it; VHDX, the
   * `parent_linkage` GUID (the parent's DataWriteGuid), lower case without braces.
   */
  uniqueId: string;
  /** VHD: the parent unicode name as stored (a file name, or Hyper-V's absolute Windows path); VHDX: the file name the locator gives. */
  name: string;
  /** VHD: the parent locators in slot order, with the path each stores; VHDX: the locator's path keys and values. */
  locators: { code: string; path: string | null }[];
  /** The parent file the chain resolved to; `null` when it could not be found (see `DiskInfo.chainError`). */
  resolvedPath: string | null;
  /** The parent time stamp recorded in the child (ISO 8601); VHDX records none (absent). */
  timestamp?: string;
  /** Every path tried to find the parent, with the outcome. */
  attempts: ParentAttempt[];
}

/** The error that stopped the chain from resolving, in the shape of `VhdError.toJSON()`. */
export interface ChainErrorInfo {
  code: ErrorName;
  hresult: string;
  message: string;
  details: Record<string, unknown>;
}

/** Everything `vhd inspect` reports. JSON-serialisable. */
export interface DiskInfo {
  path: string;
  /** Which format the file is in (its driver, disk/formats.ts). */
  format: DiskFormat;
  type: DiskKind;
  /** Bytes. */
  virtualSize: number;
  /** Bytes per logical sector (VHD: 512; VHDX: 512 or 4096). */
  logicalSectorSize: number;
  /** Bytes per physical sector (VHD: 512, which the format cannot record; VHDX: 512 or 4096). */
  physicalSectorSize: number;
  /**
   * The identity a child records of this disk: VHD, the footer's unique id, hex in file order (as `vhdiinfo` prints
   * it); VHDX, the current DataWriteGuid (lower case, dashed), which changes with every write session.
   */
  uniqueId: string;
  /**
   * VHDX only: the Virtual Disk ID metadata item (lower case, dashed), Get-VHD's `DiskIdentifier`: it stays across
   * write sessions, and a child shares its parent's.
   */
  virtualDiskId?: string;
  /** The file's identity across data writes (`DiskImage.fileId`): VHD, the unique id; VHDX, our file id item. */
  fileId: string;
  /** VHD: the footer's creator fields; VHDX: the file identifier's creator string (version and host OS absent). */
  creator: { application: string; version?: string; hostOs?: string };
  /** VHD only: the CHS geometry of the footer (vhd/format/geometry.ts). */
  geometry?: { cylinders: number; heads: number; sectorsPerTrack: number };
  /** Bytes per block; `null` for a fixed VHD (a fixed VHDX has blocks). */
  blockSize: number | null;
  /** VHD only: creation time from the footer (ISO 8601). */
  timestamp?: string;
  /** File size in bytes. */
  fileSize: number;
  /** Allocated blocks (dynamic/differencing), `null` for a fixed disk. */
  allocatedBlocks: number | null;
  /**
   * Get-VHD's `Alignment`: 1 when the data of every allocated block starts on a 4 KiB boundary in the file (as
   * Windows and this project place blocks; always for a fixed disk, whose data starts at 0), 0 when some block's data
   * does not (qemu, blktap and Virtual PC pack blocks right after the bitmap). Information, not damage.
   */
  alignment: 0 | 1;
  /** Present for a differencing disk. */
  parent?: ParentInfo;
  /** Every ancestor, nearest first (empty for a base disk or when the chain did not resolve). */
  chain: ChainEntry[];
  /** Why the chain did not resolve, when it did not. */
  chainError?: ChainErrorInfo;
  /** Readable oddities (stale checksums, footer copy used, ...). */
  warnings: string[];
  /** Facts that are not damage (a 511-byte footer, ...). */
  notes: string[];
}

/** A disk of a chain as {@link DiskInfo.chain} lists it. */
export function chainEntry(image: DiskImage): ChainEntry {
  return { path: image.path, uniqueId: image.uniqueId, type: image.kind };
}

/**
 * A `VhdError` as a plain record, its file named as `storage` names it for a person (a remote file as
 * `ssh://user@host:port/abs/path`); anything else is rethrown.
 */
export function errorInfo(error: unknown, storage?: Storage): ChainErrorInfo {
  if (!isVhdError(error)) throw error;
  const named = storage === undefined ? error : error.withPathNamed((path) => storage.describe(path));
  return { code: named.code, hresult: named.hresultHex, message: named.message, details: named.details };
}

/** Options of {@link inspectDisk} and {@link verifyDisk}. */
export interface InspectOptions {
  /** The input that named the disk (`path`, `imagePath`, `parentPath`), named in errors. */
  parameter?: ErrorParameter;
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}


/** `ERROR_VHD_FORMAT_UNKNOWN` for a driver asked to describe an image another driver opened. */
export function foreignImage(image: DiskImage, driverFormat: string): VhdError {
  return new VhdError("ERROR_VHD_FORMAT_UNKNOWN", `the ${driverFormat} driver cannot describe a ${image.format} disk`, {
    parameter: image.file.parameter,
    path: image.path,
  });
}
