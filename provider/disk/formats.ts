/**
 * The format drivers and how one is chosen: by the bytes for an existing file, by the name for a new one. The only
 * file above the drivers that imports one; VHDX joins by adding its driver to {@link DRIVERS}.
 */
import { extname } from "node:path";
import type { ErrorParameter } from "../errors";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { vhdDriver } from "../vhd/driver";
import { vhdxDriver } from "../vhdx/driver";
import type { RandomAccessFile } from "../storage/random-access-file";
import { isVhdError } from "../errors";
import type { DiskFormatDriver, OpenImageOptions, ParentFacts, VerifyReport, WriteAtOptions, WriteAtResult } from "./driver";
import type { DiskImage } from "./image";

/** Every driver, the default (VHD: a new disk whose name has no known extension is a VHD) first. */
export const DRIVERS: readonly DiskFormatDriver[] = [vhdDriver, vhdxDriver];

/**
 * What opening a disk reads first, asked for with the open (`OpenOptions.readAhead`): the whole of most children and
 * golden images we make (a VHD's footer copy, header, the BAT of a disk up to 64 GiB, its locators), and a VHDX's
 * headers and region tables. Over SSH that is one round trip instead of one per structure.
 */
const DISK_METADATA_READ_AHEAD = 256 * 1024;

/** Options of {@link openDisk}. */
export interface OpenDiskOptions extends OpenImageOptions {
  /** The drivers to choose from (default {@link DRIVERS}; a test gives its own). */
  drivers?: readonly DiskFormatDriver[];
  /** Where the disk is (default: this machine). */
  storage?: Storage;
}

/**
 * The driver for a file that exists: the first whose signature is in it; when none is, the one its name suggests
 * (else the default), so the error says what is wrong with it in that format's terms (footer missing, ...).
 */
export async function driverForFile(file: RandomAccessFile, drivers = DRIVERS): Promise<DiskFormatDriver> {
  for (const driver of drivers) {
    if (await driver.probe(file)) return driver;
  }
  return driverForNewFile(file.path, drivers);
}

/** The driver whose signature the file at `path` carries; `null` for a file no driver claims (a raw image). */
export async function claimingDriver(path: string, options: { storage?: Storage; parameter?: ErrorParameter } = {}): Promise<DiskFormatDriver | null> {
  const { storage = localStorage, parameter = "path" } = options;
  const file = await storage.open(path, { parameter });
  try {
    for (const driver of DRIVERS) {
      if (await driver.probe(file)) return driver;
    }
    return null;
  } finally {
    await file.close();
  }
}

/** The driver a new disk at `path` is written by: by its extension (`.vhd`, `.avhd`, `.vhdx`, `.avhdx`), else the default (VHD). */
export function driverForNewFile(path: string, drivers = DRIVERS): DiskFormatDriver {
  const extension = extname(path).toLowerCase();
  const fallback = drivers[0] ?? vhdDriver;
  return drivers.find((driver) => driver.extensions.includes(extension)) ?? fallback;
}

/**
 * Opens the disk at `path` (read only) with the driver its bytes name.
 * @throws file-system errors (`ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, `ERROR_VIRTDISK_NOT_VIRTUAL_DISK`),
 *   then the chosen driver's open errors.
 */
export async function openDisk(path: string, options: OpenDiskOptions = {}): Promise<DiskImage> {
  const { drivers, storage = localStorage, ...openOptions } = options;
  const file = await storage.open(path, { parameter: options.parameter, readAhead: DISK_METADATA_READ_AHEAD });
  try {
    return await (await driverForFile(file, drivers)).open(file, openOptions);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** {@link driverForFile} of the file at `path`, opened and closed again. */
async function driverForPath(
  storage: Storage,
  path: string,
  parameter: ErrorParameter,
  drivers: readonly DiskFormatDriver[] | undefined,
): Promise<DiskFormatDriver> {
  const file = await storage.open(path, { parameter });
  try {
    return await driverForFile(file, drivers);
  } finally {
    await file.close();
  }
}

/**
 * What a new child records of the disk at `parentPath`, read now by the driver its bytes name (the re-check right
 * before a child is written, inputs/validate.ts).
 * @throws the storage's open errors, then the driver's `readParentFacts` errors (parameter `parentPath`).
 */
export async function readParentFactsAt(
  parentPath: string,
  options: { storage?: Storage; drivers?: readonly DiskFormatDriver[] } = {},
): Promise<ParentFacts> {
  const { storage = localStorage, drivers } = options;
  // One open of the parent for the re-check, whatever its format.
  const file = await storage.open(parentPath, { parameter: "parentPath", readAhead: DISK_METADATA_READ_AHEAD });
  try {
    return await (await driverForFile(file, drivers)).readParentFacts(file, storage);
  } finally {
    await file.close();
  }
}

/**
 * Writes `data` at virtual byte `offset` of the disk at `path`, by the driver its bytes name (`vhd write`).
 * @throws the storage's open errors (parameter `path`), then the driver's `writeAt` errors.
 */
export async function writeDisk(
  path: string,
  offset: number,
  data: Uint8Array,
  options: WriteAtOptions & { drivers?: readonly DiskFormatDriver[] } = {},
): Promise<WriteAtResult> {
  const { drivers, ...writeOptions } = options;
  const storage = options.storage ?? localStorage;
  const driver = await driverForPath(storage, path, "path", drivers);
  return driver.writeAt(path, offset, data, { ...writeOptions, storage });
}

/**
 * `vhd verify`: the disk at `path` checked by the driver its bytes name. A file that cannot be opened at all is a
 * failed check, not an error.
 */
export async function verifyAnyDisk(path: string, options: { storage?: Storage; drivers?: readonly DiskFormatDriver[] } = {}): Promise<VerifyReport> {
  const storage = options.storage ?? localStorage;
  let driver: DiskFormatDriver;
  try {
    driver = await driverForPath(storage, path, "path", options.drivers);
  } catch (error) {
    if (!isVhdError(error)) throw error;
    return { path, ok: false, checks: [{ name: "opens as a virtual disk", ok: false, detail: error.message }], notes: [] };
  }
  return driver.verify(path, { storage });
}
