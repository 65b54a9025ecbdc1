/**
 * What a new differencing disk records about its parent (SPEC "Dynamic Disk Header"; docs/vhd-format.md §2.2-§2.5): the
 * parent's raw unique id, its modification time, its file name, and W2ku + W2ru locators.
 */
import { basename, dirname, relative, resolve, sep } from "node:path";
import { VhdError } from "../../errors";
import { MAX_PARENT_NAME_UNITS, PLATFORM_CODE, WRITTEN_LOCATORS, vhdTimeStampFromDate, type Footer, type PlatformCode } from "../format";

/** One locator to write: its platform code, the path it holds, and the room reserved for it in the file. */
export interface LocatorToWrite {
  code: PlatformCode;
  path: string;
  /** Bytes reserved for the data: the default 1024, or more for a long path (a multiple of 512). */
  dataSpace: number;
}

/** The parent fields of a child's dynamic header, and the locators to write. */
export interface ParentLink {
  /** The parent footer's unique id, copied byte for byte (never reparsed, §2.2). */
  parentUniqueId: Uint8Array;
  /** The parent file's modification time in seconds since 2000, clamped to >= 0 (blktap, DiscUtils; §2.3). */
  parentTimeStamp: number;
  /** The parent's file name only (VirtualBox, DiscUtils and blktap write this; `vhd-util check` requires it, §2.4). */
  parentUnicodeName: string;
  /** W2ku then W2ru, slot order as Hyper-V and VirtualBox write them. */
  locators: LocatorToWrite[];
}

/** Where the child will live, and what the parent is. */
export interface ParentLinkInput {
  /** The child's final path (not its temporary file): W2ru is relative to its folder. */
  childPath: string;
  /** The parent's path. */
  parentPath: string;
  /** The parent's footer (its unique id is recorded). */
  parentFooter: Footer;
  /** The parent file's modification time. */
  parentModified: Date;
}

const LOCATOR_SPACE_UNIT = 512;

/** A POSIX path written the Windows way, as W2ku/W2ru hold it (blktap turns `\` back into `/` when reading). */
function windowsSeparators(path: string): string {
  return path.split(sep).join("\\");
}

/** `.\parent.vhd` or `..\golden\parent.vhd`: the parent relative to the child's folder, as Hyper-V writes W2ru. */
function relativeLocatorPath(childPath: string, parentPath: string): string {
  const path = windowsSeparators(relative(dirname(childPath), parentPath));
  return path.startsWith("..\\") ? path : `.\\${path}`;
}

function locator(code: PlatformCode, path: string): LocatorToWrite {
  const defaultSpace = WRITTEN_LOCATORS.find((written) => written.code === code)?.dataSpace ?? LOCATOR_SPACE_UNIT;
  const needed = Math.ceil(Buffer.byteLength(path, "utf16le") / LOCATOR_SPACE_UNIT) * LOCATOR_SPACE_UNIT;
  return { code, path, dataSpace: Math.max(defaultSpace, needed) };
}

/**
 * The parent link a new child of `parentPath` records.
 * @throws `ERROR_INVALID_NAME` (parameter `parentPath`) when the parent's file name is longer than the 255 UTF-16
 * units the header's name field holds with its terminator.
 */
export function parentLinkFor({ childPath, parentPath, parentFooter, parentModified }: ParentLinkInput): ParentLink {
  const absoluteParent = resolve(parentPath);
  const name = basename(absoluteParent);
  if (name.length > MAX_PARENT_NAME_UNITS) {
    throw new VhdError(
      "ERROR_INVALID_NAME",
      `the parent's file name has ${name.length} UTF-16 units; a VHD header holds at most ${MAX_PARENT_NAME_UNITS}. Rename the parent`,
      { parameter: "parentPath", path: parentPath },
    );
  }
  return {
    parentUniqueId: parentFooter.uniqueId.slice(),
    parentTimeStamp: vhdTimeStampFromDate(parentModified),
    parentUnicodeName: name,
    locators: [
      locator(PLATFORM_CODE.W2ku, windowsSeparators(absoluteParent)),
      locator(PLATFORM_CODE.W2ru, relativeLocatorPath(resolve(childPath), absoluteParent)),
    ],
  };
}
