/**
 * `inspect`: what a VHD file says about itself and its chain, as a plain JSON-serialisable record (`verify.ts`
 * judges the same facts).
 */
import { VhdError, isVhdError, type ErrorName, type ErrorParameter } from "../errors";
import { openChainFrom, type DiskChain, type ParentAttempt } from "../disk/chain";
import { openDisk } from "../disk/formats";
import type { DiskFormat, DiskImage, DiskKind } from "../disk/image";
import type { Storage } from "../storage/port";
import { VhdxImage } from "../vhdx/reader";
import { describeVhdx } from "../vhdx/inspect";
import { VhdImage } from "./reader/reader";
import {
  FOOTER_SIZE,
  SECTOR_SIZE,
  UNUSED_BAT_ENTRY,
  batByteSize,
  bitmapSize,
  blockSpan,
  chsFromSize,
  dateFromVhdTimeStamp,
  forEachAllocated,
  formatUniqueId,
  isBlockDataAligned,
  isSectorSet,
  locatorDataSpaceBytes,
  sectorsPerBlock,
  type Geometry,
} from "./format";

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
   * The identity a child records of this disk (its linkage id): VHD, the footer's unique id, hex in file order (as
   * `vhdiinfo` prints it); VHDX, the current DataWriteGuid (lower case, dashed), which changes with every write session.
   */
  uniqueId: string;
  /** The file's identity across data writes (`DiskImage.fileId`): VHD, the unique id; VHDX, our file id item. */
  fileId: string;
  /** VHD: the footer's creator fields; VHDX: the file identifier's creator string (version and host OS absent). */
  creator: { application: string; version?: string; hostOs?: string };
  /** VHD only: the CHS geometry of the footer. */
  geometry?: Geometry;
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

export function chainEntry(image: DiskImage): ChainEntry {
  return { path: image.path, uniqueId: image.uniqueId, type: image.kind };
}

function creatorVersion(version: number): string {
  return `${version >>> 16}.${version & 0xffff}`;
}

/** Get-VHD's `Alignment` of an open disk (see {@link DiskInfo.alignment}). */
export function alignmentOf({ header, bat }: VhdImage): 0 | 1 {
  if (header === null || bat === null) return 1;
  let unaligned = 0;
  forEachAllocated(bat, (_index, entry) => {
    if (!isBlockDataAligned(entry, header.blockSize)) unaligned++;
  });
  return unaligned === 0 ? 1 : 0;
}

/**
 * The record of any disk, by its format's describer (`describeVhd` here, `describeVhdx` in vhdx/inspect.ts).
 * @throws `ERROR_VHD_FORMAT_UNKNOWN` for an image of a driver without a describer.
 */
function describe(image: DiskImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
  if (image instanceof VhdImage) return describeVhd(image, chain, chainError);
  if (image instanceof VhdxImage) return describeVhdx(image, chain, chainError);
  throw new VhdError("ERROR_VHD_FORMAT_UNKNOWN", `a ${image.format} disk has no describer`, {
    parameter: image.file.parameter,
    path: image.path,
  });
}

function describeVhd(image: VhdImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
  const { footer, header, bat } = image;
  const info: DiskInfo = {
    path: image.path,
    format: "vhd",
    type: image.kind,
    virtualSize: image.virtualSize,
    logicalSectorSize: SECTOR_SIZE,
    physicalSectorSize: SECTOR_SIZE,
    uniqueId: formatUniqueId(footer.uniqueId),
    fileId: image.fileId,
    creator: {
      application: footer.creatorApplication,
      version: creatorVersion(footer.creatorVersion),
      hostOs: footer.creatorHostOs,
    },
    geometry: { cylinders: footer.cylinders, heads: footer.heads, sectorsPerTrack: footer.sectorsPerTrack },
    blockSize: image.blockSize,
    timestamp: dateFromVhdTimeStamp(footer.timeStamp).toISOString(),
    fileSize: image.file.size,
    allocatedBlocks: bat === null ? null : forEachAllocated(bat),
    alignment: alignmentOf(image),
    chain: chain === null ? [] : chain.images.slice(1).map(chainEntry),
    warnings: image.warnings.map((warning) => warning.message),
    notes: [...image.notes],
  };
  if (image.kind === "differencing" && header !== null) {
    const link = chain?.links[0];
    info.parent = {
      uniqueId: formatUniqueId(header.parentUniqueId),
      name: header.parentUnicodeName,
      locators: image.locators.map((locator) => ({ code: locator.entry.platformCode, path: locator.path })),
      resolvedPath: chain?.images[1]?.path ?? null,
      timestamp: dateFromVhdTimeStamp(header.parentTimeStamp).toISOString(),
      attempts: link?.attempts ?? ((chainError?.details["tried"] as ParentAttempt[] | undefined) ?? []),
    };
    if (link?.timeStampDiffers) {
      info.warnings.push("the parent's modification time differs from the time stamp the child recorded (not an error)");
    }
  }
  if (chainError !== undefined) info.chainError = chainError;
  return info;
}

/** A `VhdError` as a plain record; anything else is rethrown. */
export function errorInfo(error: unknown): ChainErrorInfo {
  if (!isVhdError(error)) throw error;
  return { code: error.code, hresult: error.hresultHex, message: error.message, details: error.details };
}

/** Options of {@link inspectDisk} and {@link verifyDisk}. */
export interface InspectOptions {
  /** The input that named the disk (`path`, `imagePath`, `parentPath`), named in errors. */
  parameter?: ErrorParameter;
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}

/**
 * Reads a VHD's metadata and resolves its chain. A disk that opens but whose parent cannot be found or does not
 * match is still described, with `parent.resolvedPath: null` and `chainError` saying why.
 *
 * @throws VhdError when the disk itself cannot be opened (see `openDiskImage`).
 */
export async function inspectDisk(path: string, options: InspectOptions = {}): Promise<DiskInfo> {
  const image = await openDisk(path, { parameter: options.parameter, storage: options.storage });
  let chain: DiskChain | null = null;
  try {
    if (image.kind !== "differencing") return describe(image, null, undefined);
    try {
      chain = await openChainFrom(image, { storage: options.storage });
    } catch (error) {
      return describe(image, null, errorInfo(error));
    }
    return describe(image, chain, undefined);
  } finally {
    // Once the chain is open it owns the image.
    await (chain ?? image).close();
  }
}

/**
 * What {@link inspectDisk} reports about the leaf of a chain already open (its ancestors resolved), without opening
 * any file again: for a caller that opened the chain for its errors and needs the description too.
 */
export function describeChain(chain: DiskChain): DiskInfo {
  return describe(chain.leaf, chain, undefined);
}

/**
 * What {@link inspectDisk} reports about `disk`, a disk just written, without opening anything else: a differencing
 * disk's parent is `parent`, as validation described it (the child was written off it, so the parent it records is
 * found at the first candidate path that names `parent.path`).
 */
export function describeNewDisk(disk: DiskImage, parent?: DiskInfo): DiskInfo {
  const info = describe(disk, null, undefined);
  if (info.parent === undefined || parent === undefined) return info;
  const candidates = disk.parentReference()?.candidates ?? [];
  const found = candidates.find((candidate) => candidate.path === parent.path) ?? { path: parent.path, source: "parentPath" };
  info.parent.resolvedPath = parent.path;
  info.parent.attempts = [{ ...found, result: "found" }];
  info.chain = [{ path: parent.path, uniqueId: parent.uniqueId, type: parent.type }, ...parent.chain];
  return info;
}

