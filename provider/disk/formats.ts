/**
 * The format drivers and how one is chosen: by the bytes for an existing file, by the name for a new one. The only
 * file above the drivers that imports one; VHDX joins by adding its driver to {@link DRIVERS}.
 */
import { extname } from "node:path";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { vhdDriver } from "../vhd/driver";
import type { RandomAccessFile } from "../storage/random-access-file";
import type { DiskFormatDriver, OpenImageOptions } from "./driver";
import type { DiskImage } from "./image";

/** Every driver, the default (VHD, the only one writable today) first. */
export const DRIVERS: readonly DiskFormatDriver[] = [vhdDriver];

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

/** The driver a new disk at `path` is written by: by its extension (`.vhd`, `.avhd`), else the default (VHD). */
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
  const file = await storage.open(path, { parameter: options.parameter });
  try {
    return await (await driverForFile(file, drivers)).open(file, openOptions);
  } catch (error) {
    await file.close();
    throw error;
  }
}
