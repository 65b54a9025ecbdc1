/**
 * Every rule of `CreateDifferencingVirtualHardDisk` (docs/contract.md), checked before anything is written, so that a bad
 * request is refused with the contract's name and HRESULT and nothing is created, changed or left behind. Base images
 * (which the project also creates) get the same target checks plus the table's size rules.
 *
 * `VM_E_HARDWARE_VIRTUALIZATION_DISABLED` is in the contract's table but is never raised: it is Virtual PC's refusal to
 * run a virtual machine without hardware virtualization, and creating a disk file needs none.
 */
import * as path from "node:path";
import { VhdError, isVhdError, type ErrorParameter } from "../errors";
import { type FileSystemType, type PathKind, type VolumeFacts } from "../storage/facts";
import { nearestExistingFolder } from "../storage/folders";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { openChain } from "../disk/chain";
import type { DiskImage } from "../disk/image";
import { describeChain, type DiskInfo } from "../disk/inspect";
import type { DiskFormatDriver, ParentFacts, SectorSizes } from "../disk/driver";
import { driverForNewFile, readParentFactsAt } from "../disk/formats";
import { SECTOR_SIZE } from "../vhd/format";
import { LIVE_LOG_CONSEQUENCE, VhdxImage } from "../vhdx/reader";
import { pathsEqual, resolveDiskPaths, resolveSinglePath, type DiskPathsInput, type PathRuleOptions } from "./paths";

const MB = 1024 * 1024;

/** A dynamically expanding image needs at least 8 MB free on its volume (docs/contract.md, ERROR_DISK_FULL). */
export const MIN_FREE_BYTES = 8 * MB;

/** Options of every validation. */
export interface ValidationOptions extends PathRuleOptions {
  /** Treat imagePath's volume as this file-system type (see `VolumeFactsOptions.assumeFsType`). */
  assumeFsType?: FileSystemType;
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}

/** The path options of a validation: the paths spelled as the storage's host spells them, unless told otherwise. */
function pathOptionsOf(options: ValidationOptions): PathRuleOptions {
  const flavour = options.flavour ?? options.storage?.pathFlavour;
  return flavour === undefined ? options : { ...options, flavour };
}

/** A request to create a differencing disk, as a caller gives it. */
export interface DifferencingRequest extends DiskPathsInput {
  /** Bytes per block of the new disk: 512 KiB, 1 MiB or 2 MiB (default); the driver chosen by the image's name checks it (`disk/formats.ts`). */
  blockSize?: number;
}

/** Facts about where a new disk image file goes, found while validating it. */
export interface TargetFacts {
  /**
   * Folders above the image that do not exist yet, outermost first: the contract creates them ("the containing
   * folder is created if it does not exist"), and whoever creates them removes them again if the creation fails.
   */
  missingFolders: string[];
  /** The volume that will hold the image. */
  volume: VolumeFacts;
  /** The file's size once written, before any data is written into the disk (the metadata; a fixed disk's all). */
  initialFileSize: number;
  /** The file's size once every block is allocated (virtual size plus metadata). */
  fullyExpandedSize: number;
}

/** A differencing request that passed every rule; its paths are absolute and normalised. */
export interface ValidatedDifferencingRequest extends TargetFacts {
  imagePath: string;
  parentPath: string;
  blockSize: number;
  /** The parent as inspected (its chain resolved) during validation. */
  parent: DiskInfo;
}

/** The parent as checked: its description and the facts a child records of it. */
export interface CheckedParent {
  info: DiskInfo;
  facts: ParentFacts;
}

/**
 * Checks a request to create a differencing disk against every row of the contract's error table, in this order: the
 * path rules (`E_POINTER`, `ERROR_BAD_PATHNAME`, `ERROR_INVALID_NAME`, `ERROR_BUFFER_OVERFLOW`); the parent
 * (`ERROR_PATH_NOT_FOUND` when it is missing, a folder, or behind a file; the reader's errors when it is not a readable
 * VHD with a resolvable chain; `VM_E_IMAGE_SIZE_TOO_LARGE` above 2040 GiB); then the target
 * (`ERROR_ALREADY_EXISTS`, including a dangling symbolic link; `ERROR_PATH_NOT_FOUND` through a file;
 * `ERROR_INVALID_DRIVE` on a read-only volume; `ERROR_DISK_FULL` below 8 MB free; `VM_E_FILE_TOO_LARGE_FOR_VOLUME`).
 *
 * A parent given as a folder is `ERROR_PATH_NOT_FOUND`: the contract's row reads "the parent file does not exist",
 * and there is no file at that path; the fix (name the file) is the same as for a missing one.
 *
 * Nothing is written. The result may go stale (another process can change the disk between validation and
 * writing); the ops re-check what matters right before writing.
 */
export async function validateCreateDifferencing(
  request: DifferencingRequest,
  options: ValidationOptions = {},
): Promise<ValidatedDifferencingRequest> {
  const { imagePath, parentPath } = resolveDiskPaths(request, pathOptionsOf(options));
  const driver = driverForNewFile(imagePath);
  const blockSize = driver.checkBlockSize(request.blockSize, imagePath);
  checkDistinctPaths(imagePath, parentPath);
  // The target is looked at side by side with the parent's check (on a remote host their requests share round trips,
  // and the volume's command runs while the parent is read); its errors still come after the parent's, as the
  // contract's order has them.
  const found = findTarget(imagePath, "imagePath", options);
  found.catch(() => undefined);
  const parent = await checkParent(parentPath, options.storage);
  checkSameFormat(driver.format, imagePath, parent);
  const sizes = driver.differencingFileSizes(parent.virtualSize, blockSize);
  const target = await found;
  checkVolume(target.volume, imagePath, "imagePath", { ...sizes, needsFullSize: false });
  return { imagePath, parentPath, blockSize, parent, ...target, ...sizes };
}

/**
 * Refuses a child of another format than its parent (`.vhdx` off a VHD, `.vhd` off a VHDX): Hyper-V's chains never
 * mix formats, and the child's format follows its name (disk/formats.ts `driverForNewFile`, as New-VHD).
 * @throws VhdError `ERROR_VHD_INVALID_TYPE` (parameter `parentPath`).
 */
export function checkSameFormat(childFormat: DiskInfo["format"], imagePath: string, parent: Pick<DiskInfo, "format" | "path">): void {
  if (parent.format === childFormat) return;
  const [child, parentFormat] = [childFormat.toUpperCase(), parent.format.toUpperCase()];
  throw new VhdError(
    "ERROR_VHD_INVALID_TYPE",
    `parentPath is a ${parentFormat} disk but imagePath names a ${child} file: a chain never mixes VHD and VHDX. ` +
      `Name the child .${parent.format}, or convert the parent first (\`vhd convert\`)`,
    { parameter: "parentPath", path: parent.path, details: { imagePath, childFormat, parentFormat: parent.format } },
  );
}

/**
 * Refuses a child that would be its own parent (the paths resolved, compared as the platform does).
 * @throws VhdError `ERROR_ALREADY_EXISTS` (parameter `imagePath`).
 */
export function checkDistinctPaths(imagePath: string, parentPath: string): void {
  if (pathsEqual(imagePath, parentPath)) {
    throw new VhdError("ERROR_ALREADY_EXISTS", "imagePath names the parent itself; choose a new file for the child", {
      parameter: "imagePath",
      path: imagePath,
      details: { parentPath },
    });
  }
}

/**
 * Checks that `parentPath` names a readable, valid VHD or VHDX (not a raw file) whose own chain resolves, within
 * its format's size limit (VHD 2040 GiB, VHDX 64 TB). Ops re-check it right before writing ({@link recheckParent}), so that a parent removed or
 * damaged since validation is refused, not half-used.
 *
 * @throws VhdError with parameter `parentPath`: `ERROR_PATH_NOT_FOUND` (missing, a folder, behind a file); the
 *   reader's codes, each naming the parent and the reason: `ERROR_VHD_FORMAT_UNKNOWN` (raw, VHDX),
 *   `VM_E_IMAGE_SIZE_TOO_LARGE` (above 2040 GiB), footer/header corruption codes, `ERROR_VHD_INVALID_FILE_SIZE` (a
 *   fixed disk in the chain whose file is shorter or longer than its data plus the footer), and for a chain that
 *   does not resolve `ERROR_VHD_PARENT_VHD_NOT_FOUND`, `ERROR_VHD_CHILD_PARENT_ID_MISMATCH`, ...;
 *   `ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT` for a VHDX in the chain with a live log.
 */
export async function checkParent(parentPath: string, storage: Storage = localStorage): Promise<DiskInfo> {
  await requireParentFile(storage, parentPath);
  try {
    // The chain is opened for its errors (inspectDisk would describe a broken chain instead of failing) and the
    // description comes from the same open files: each disk's BAT is read and checked once.
    const chain = await openChain(parentPath, { parameter: "parentPath", storage });
    try {
      refuseMisfitFileSize(chain.images);
      refuseLiveLog(chain.images);
      return describeChain(chain);
    } finally {
      await chain.close();
    }
  } catch (error) {
    if (!isVhdError(error)) throw error;
    const failingPath = error.path === parentPath ? {} : { failingPath: error.path };
    throw new VhdError(error.code, `this disk cannot serve as a parent: ${error.reason}`, {
      parameter: "parentPath",
      path: parentPath,
      cause: error,
      details: { ...error.details, ...failingPath },
    });
  }
}

/**
 * A disk whose file is longer than its layout (a fixed disk with bytes between its data and its footer) reads, but
 * no two readers agree on what it holds: it is no parent (`ERROR_VHD_INVALID_FILE_SIZE`, as for a short file).
 */
function refuseMisfitFileSize(images: readonly DiskImage[]): void {
  for (const [index, image] of images.entries()) {
    const misfit = image.warnings.find((warning) => warning.code === "ERROR_VHD_INVALID_FILE_SIZE");
    if (misfit !== undefined) {
      // The error names the parent; an ancestor further up is named in the sentence, or no one could find it.
      const reason = index === 0 ? misfit.message : `its ancestor ${image.path} is damaged: ${misfit.message}`;
      throw new VhdError(misfit.code, reason, { path: image.path, details: { field: misfit.field, offset: misfit.offset } });
    }
  }
}

/**
 * A VHDX in the parent's chain whose log is live (not closed cleanly) reads, its log replayed in memory, but the
 * first writer to open it replays the log into the file under a new DataWriteGuid and the new child would be
 * orphaned: it is no parent until it has been opened read-write once (`ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT`,
 * as `vhd verify` fails such a chain). We never replay it ourselves: the parent is never modified.
 */
function refuseLiveLog(images: readonly DiskImage[]): void {
  const logged = images.find((image) => image instanceof VhdxImage && image.hasLiveLog);
  if (logged === undefined) return;
  const whose = logged === images[0] ? "it" : `its ancestor ${logged.path}`;
  throw new VhdError(
    "ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT",
    `${whose} has a live log (the file was not closed cleanly): ${LIVE_LOG_CONSEQUENCE}. Open ${logged.path} once ` +
      "read-write to replay its log (mount it in Hyper-V, or run qemu-img check -r all on it), then create the child",
    { path: logged.path },
  );
}

/**
 * The check ops run right before writing, after {@link checkParent} passed for `validated`: cheap when nothing
 * changed (the parent is still a file of the same format whose driver reads the same unique id and size: for a VHD
 * one 512-byte footer read, for a VHDX its headers and metadata; not the whole chain again), and otherwise the full
 * {@link checkParent}, so a parent removed, replaced or damaged since validation gets exactly the errors validation
 * gives. Damage the driver's `readParentFacts` does not read (a VHD's header and BAT, the parent's own ancestors) is
 * not looked for again.
 *
 * @returns `validated` (as `info`) when unchanged, else what `checkParent` finds now; and the driver's facts read now
 *   (`facts`), which is all a writer needs of the parent.
 * @throws what {@link checkParent} throws.
 */
export async function recheckParent(
  parentPath: string,
  validated: DiskInfo,
  storage: Storage = localStorage,
): Promise<CheckedParent> {
  // Together: on a remote host the two share their round trips. A parent that is no file is refused as validation
  // refuses it, whatever the read found.
  const [, facts] = await Promise.all([
    requireParentFile(storage, parentPath),
    readParentFactsAt(parentPath, { storage }).catch(() => null),
  ]);
  const unchanged =
    facts !== null &&
    facts.format === validated.format &&
    facts.uniqueId === validated.uniqueId &&
    facts.virtualSize === validated.virtualSize;
  if (unchanged) return { info: validated, facts };
  const info = await checkParent(parentPath, storage);
  return { info, facts: await readParentFactsAt(parentPath, { storage }) };
}

/** `ERROR_PATH_NOT_FOUND` unless `parentPath` leads to a regular file (links followed). */
async function requireParentFile(storage: Storage, parentPath: string): Promise<void> {
  const { kind } = await storage.pathFacts(parentPath, { followLinks: true });
  if (kind !== "file") {
    throw new VhdError("ERROR_PATH_NOT_FOUND", NOT_A_PARENT_FILE[kind], { parameter: "parentPath", path: parentPath });
  }
}

/** Why a path that is not a regular file cannot be the parent (followed links: a dangling one is "missing"). */
const NOT_A_PARENT_FILE: Readonly<Record<Exclude<PathKind, "file">, string>> = {
  missing: "the parent disk does not exist; check the path, or create the golden image first",
  "through-file": "a folder of the path is a file, so the parent cannot exist there",
  folder: "the path names a folder, not a parent disk file; name the .vhd file inside it",
  symlink: "the path is a symbolic link that leads nowhere",
  other: "the path names a device, pipe or socket, not a parent disk file",
};

/** Which kind of base disk to create: every block allocated up front (`fixed`) or as written (`dynamic`). */
export type BaseDiskType = "fixed" | "dynamic";

/**
 * The file system the caller means to put on a new base image. The contract's size rows depend on it
 * (`VM_E_IMAGE_SIZE_TOO_SMALL`: unformatted and FAT16 at least 3 MB, FAT32 at least 514 MB;
 * `VM_E_IMAGE_SIZE_TOO_LARGE`: FAT16 below 2000 MB). This project writes no file system itself.
 */
export type IntendedFormat = "unformatted" | "fat16" | "fat32";

/** A request to create a base (non-differencing) disk, as a caller gives it. */
export interface BaseRequest {
  /** Path of the new disk image file; absolute. */
  path?: string | null;
  /** Virtual size in bytes; a multiple of 512. Defaults to the size of `fromRaw` when that is given. */
  size?: number | null;
  /** `"dynamic"` (default) or `"fixed"`. */
  type?: BaseDiskType;
  /** A raw disk image whose bytes become the disk's content; absolute. */
  fromRaw?: string;
  /** Bytes per block of a dynamic disk; default 2 MiB. */
  blockSize?: number;
  /** See {@link IntendedFormat}; default `"unformatted"`. */
  intendedFormat?: IntendedFormat;
  /** Bytes per logical sector (New-VHD's -LogicalSectorSizeBytes): VHD 512; VHDX 512 (default) or 4096. */
  logicalSectorSize?: number;
  /** Bytes per physical sector (-PhysicalSectorSizeBytes): VHD 512; VHDX 512 or 4096 (default). */
  physicalSectorSize?: number;
}

/** A base request that passed every rule. */
export interface ValidatedBaseRequest extends TargetFacts {
  path: string;
  size: number;
  type: BaseDiskType;
  fromRaw?: string;
  /** The raw image's size, when no size was given and it is not a whole number of sectors (`size` is it rounded up). */
  roundedUpFrom?: number;
  blockSize: number;
  sectorSizes: SectorSizes;
}

/**
 * The contract's size rows that depend on the intended format (MB = 2^20 bytes, as Virtual PC counts). The VHD limit
 * of its format (VHD 2040 GiB, VHDX 64 TB; the driver's `checkVirtualSize`) applies whatever the intended format.
 */
const FORMAT_SIZE_LIMITS: Readonly<Record<IntendedFormat, { min: number; max?: number }>> = {
  unformatted: { min: 3 * MB },
  fat16: { min: 3 * MB, max: 2000 * MB - SECTOR_SIZE },
  fat32: { min: 514 * MB },
};

/**
 * Checks a request to create a base disk: the path (absolute, the same naming rules as the differencing request),
 * `fromRaw` (`ERROR_PATH_NOT_FOUND` with parameter `fromRaw` when missing), the size (`E_POINTER` when missing and
 * there is no `fromRaw`, `VM_E_IMAGE_SIZE_TOO_SMALL`, `VM_E_IMAGE_SIZE_TOO_LARGE`, `ERROR_VHD_INVALID_SIZE` when not a
 * positive multiple of 512 or smaller than `fromRaw`), the block size (`ERROR_VHD_INVALID_BLOCK_SIZE`) and the
 * target (as for a differencing disk; a fixed disk also needs its full size free: `ERROR_DISK_FULL`).
 */
export async function validateCreateBase(
  request: BaseRequest,
  options: ValidationOptions = {},
): Promise<ValidatedBaseRequest> {
  const target = resolveSinglePath(request.path, "path", pathOptionsOf(options));
  const type = request.type ?? "dynamic";
  if (type !== "fixed" && type !== "dynamic") {
    throw new VhdError("E_INVALIDARG", `type must be "fixed" or "dynamic", not ${JSON.stringify(type)}`, {
      parameter: "type",
      value: String(type),
      path: target,
      pathParameter: "path",
    });
  }
  const driver = driverForNewFile(target);
  const blockSize = driver.checkBaseBlockSize(request.blockSize, type, target);
  const { logicalSectorSize, physicalSectorSize } = request;
  const sectorSizes = driver.checkSectorSizes({ logicalSectorSize, physicalSectorSize }, target);
  const fromRaw = request.fromRaw === undefined ? undefined : resolveSinglePath(request.fromRaw, "fromRaw", pathOptionsOf(options));
  const rawSize = fromRaw === undefined ? undefined : await rawSourceSize(options.storage ?? localStorage, fromRaw);
  const size = checkBaseSize(request, target, rawSize, driver, sectorSizes.logicalSectorSize);
  const sizes = driver.baseFileSizes(size, type, blockSize);
  const facts = await findTarget(target, "path", options);
  checkVolume(facts.volume, target, "path", { ...sizes, needsFullSize: type === "fixed" });
  const roundedUpFrom = (request.size ?? undefined) === undefined && rawSize !== undefined && rawSize !== size ? rawSize : undefined;
  return { path: target, size, type, ...(fromRaw === undefined ? {} : { fromRaw }), ...(roundedUpFrom === undefined ? {} : { roundedUpFrom }), blockSize, sectorSizes, ...facts, ...sizes };
}

async function rawSourceSize(storage: Storage, fromRaw: string): Promise<number> {
  const { kind, size } = await storage.pathFacts(fromRaw, { followLinks: true });
  if (kind !== "file") {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the raw source image does not exist or is not a file", {
      parameter: "fromRaw",
      path: fromRaw,
    });
  }
  return size;
}

/**
 * The size of a base disk: as given, or the raw source's size rounded up to a whole sector. A size given explicitly
 * is never rounded (the driver's `checkVirtualSize`).
 */
function checkBaseSize(request: BaseRequest, target: string, rawSize: number | undefined, driver: DiskFormatDriver, sector: number): number {
  const size = request.size ?? (rawSize === undefined ? undefined : Math.ceil(rawSize / sector) * sector);
  if (size === undefined) {
    throw new VhdError("E_POINTER", "size is missing; give the disk's virtual size in bytes", {
      parameter: "size",
      path: target,
      pathParameter: "path",
    });
  }
  driver.checkVirtualSize(size, target, sector);
  const format = request.intendedFormat ?? "unformatted";
  const limits = FORMAT_SIZE_LIMITS[format];
  if (limits === undefined) {
    const given = JSON.stringify(format);
    throw new VhdError("E_INVALIDARG", `intendedFormat must be unformatted, fat16 or fat32, not ${given}`, {
      parameter: "intendedFormat",
      value: String(format),
      path: target,
      pathParameter: "path",
    });
  }
  const context = {
    parameter: "size",
    value: size,
    path: target,
    pathParameter: "path",
    details: { size, intendedFormat: format },
  };
  if (size < limits.min) {
    throw new VhdError(
      "VM_E_IMAGE_SIZE_TOO_SMALL",
      `${size} bytes is below the ${limits.min / MB} MB minimum for ${format} images; choose a larger size`,
      context,
    );
  }
  if (limits.max !== undefined && size > limits.max) {
    const reason = `${size} bytes is not below 2000 MB, the limit for FAT16 images`;
    throw new VhdError("VM_E_IMAGE_SIZE_TOO_LARGE", reason, context);
  }
  if (rawSize !== undefined && size < rawSize) {
    throw new VhdError(
      "ERROR_VHD_INVALID_SIZE",
      `${size} bytes is smaller than the raw source (${rawSize} bytes); ` +
        `give a size of at least ${rawSize} rounded up to 512`,
      { ...context, details: { ...context.details, rawSize } },
    );
  }
  return size;
}

/**
 * Where a new image goes: nothing there, a folder chain that can be created, and the volume (for {@link checkVolume}).
 * The three questions are asked at once: the volume of the nearest existing folder (which a remote host answers with
 * one command) before the walk has found that folder, and asked again only when the walk found another.
 */
export async function findTarget(target: string, parameter: ErrorParameter, options: ValidationOptions): Promise<Pick<TargetFacts, "missingFolders" | "volume">> {
  const storage = options.storage ?? localStorage;
  const { assumeFsType } = options;
  const volumeOptions = assumeFsType === undefined ? {} : { assumeFsType };
  const folder = path.dirname(target);
  const volumeAhead = storage.volumeFacts(folder, { ...volumeOptions, nearestExisting: true }).catch(() => undefined);
  const walk = nearestExistingFolder(storage, folder);
  walk.catch(() => undefined);
  const { kind } = await storage.pathFacts(target);
  if (kind === "through-file") throw throughFile(target, parameter);
  if (kind !== "missing") {
    const what = kind === "symlink" ? "a symbolic link" : kind === "folder" ? "a folder" : "a file";
    const reason = `${what} already exists at this path; choose another path or remove it first`;
    throw new VhdError("ERROR_ALREADY_EXISTS", reason, { parameter, path: target });
  }
  const folders = await walk;
  if (folders.existing === undefined) throw throughFile(target, parameter);
  const ahead = await volumeAhead;
  const volume = ahead?.folder === folders.existing ? ahead : await storage.volumeFacts(folders.existing, volumeOptions);
  return { missingFolders: folders.missing, volume };
}

/** The error for a target whose path runs through a file (or a broken link) where a folder should be. */
export function throughFile(target: string, parameter: ErrorParameter): VhdError {
  const reason = "a folder of the path is a file or a broken link, so nothing can be created there";
  return new VhdError("ERROR_PATH_NOT_FOUND", reason, { parameter, path: target });
}

/**
 * Refuses a volume a new image cannot go on: read-only, not writable by this process, short of free space (the full
 * size for a fixed image, else MIN_FREE_BYTES), or with a file size limit below the image's fully expanded size.
 */
export function checkVolume(
  volume: VolumeFacts,
  target: string,
  parameter: ErrorParameter,
  size: { fullyExpandedSize: number; needsFullSize: boolean },
): void {
  const init = { parameter, path: target, details: { volumeFolder: volume.folder, fsType: volume.fsType } };
  if (volume.readOnly) {
    const reason = `the volume holding ${volume.folder} is read-only; choose a writable one`;
    throw new VhdError("ERROR_INVALID_DRIVE", reason, init);
  }
  if (!volume.writable) {
    const reason = `this process may not create files in ${volume.folder}; check its permissions`;
    throw new VhdError("ERROR_ACCESS_DENIED", reason, init);
  }
  const needed = size.needsFullSize ? Math.max(MIN_FREE_BYTES, size.fullyExpandedSize) : MIN_FREE_BYTES;
  if (volume.freeBytes < needed) {
    throw new VhdError(
      "ERROR_DISK_FULL",
      `the volume has ${volume.freeBytes} bytes free and the image needs at least ${needed}; ` +
        "free some space or choose another volume",
      { ...init, details: { ...init.details, freeBytes: volume.freeBytes, neededBytes: needed } },
    );
  }
  if (volume.maxFileSize < size.fullyExpandedSize) {
    throw new VhdError(
      "VM_E_FILE_TOO_LARGE_FOR_VOLUME",
      `fully expanded, the image takes ${size.fullyExpandedSize} bytes, but files on this ${volume.fsType} volume ` +
        `stop at ${volume.maxFileSize}; choose a volume without that limit (e.g. NTFS, ext4) or a smaller disk`,
      {
        ...init,
        details: { ...init.details, fullyExpandedSize: size.fullyExpandedSize, maxFileSize: volume.maxFileSize },
      },
    );
  }
}
