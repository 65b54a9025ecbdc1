/**
 * `inspect`: what a disk of any format says about itself and its chain, as a plain JSON-serialisable record
 * (disk-info.ts). The disk's driver describes it (`DiskFormatDriver.describe`); this module opens and resolves.
 */
import { VhdError } from "../errors";
import { openChainFrom, type DiskChain } from "./chain";
import { errorInfo, type ChainErrorInfo, type DiskInfo, type InspectOptions } from "./disk-info";
import { DRIVERS, openDisk } from "./formats";
import type { DiskImage } from "./image";

export type { ChainEntry, ChainErrorInfo, DiskInfo, InspectOptions, ParentInfo } from "./disk-info";

/**
 * The record of any disk, by its format's driver.
 * @throws `ERROR_VHD_FORMAT_UNKNOWN` for an image of a format no driver describes.
 */
function describe(image: DiskImage, chain: DiskChain | null, chainError: ChainErrorInfo | undefined): DiskInfo {
  const driver = DRIVERS.find((candidate) => candidate.format === image.format);
  if (driver === undefined) {
    throw new VhdError("ERROR_VHD_FORMAT_UNKNOWN", `a ${image.format} disk has no driver to describe it`, {
      parameter: image.file.parameter,
      path: image.path,
    });
  }
  return driver.describe(image, chain, chainError);
}

/**
 * Reads a disk's metadata (any format) and resolves its chain. A disk that opens but whose parent cannot be found or does not
 * match is still described, with `parent.resolvedPath: null` and `chainError` saying why.
 *
 * @throws VhdError when the disk itself cannot be opened (see `openDisk`).
 */
export async function inspectDisk(path: string, options: InspectOptions = {}): Promise<DiskInfo> {
  const image = await openDisk(path, { parameter: options.parameter, storage: options.storage });
  let chain: DiskChain | null = null;
  try {
    if (image.kind !== "differencing") return describe(image, null, undefined);
    try {
      chain = await openChainFrom(image, { storage: options.storage });
    } catch (error) {
      return describe(image, null, errorInfo(error, options.storage));
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

