import type { ParentRecord } from "../ops/manage-disk";
import type { DiskInfo } from "../disk/disk-info";
import { printFields, printJson, type OutputLine } from "./output";
import { formatByteCount } from "./sizes";

/**
 * The human form of a {@link DiskInfo}, as `key: value` lines in the order `qemu-img info` uses (image, format,
 * sizes, then format-specific facts), followed by the parent, every ancestor and any warnings. The JSON form is the
 * DiskInfo itself.
 */
export function describeDisk(info: DiskInfo): OutputLine[] {
  const { creator, geometry, parent } = info;
  const fields: OutputLine[] = [
    ["image", info.path],
    ["format", info.format],
    ["type", info.type],
    ["virtual size", formatByteCount(info.virtualSize)],
    ["file size", formatByteCount(info.fileSize)],
    ["sector size", `${info.logicalSectorSize} logical, ${info.physicalSectorSize} physical`],
    ["unique id", info.uniqueId],
    // A VHDX's own identity, which data writes leave alone (a VHD's is its unique id).
    ["file id", info.fileId === info.uniqueId ? undefined : info.fileId],
    ["virtual disk id", info.virtualDiskId],
    ["creator", [creator.application.trim(), creator.version, creator.hostOs === undefined ? undefined : `(${creator.hostOs.trim()})`].filter((part) => part !== undefined).join(" ")],
    ["geometry", geometry === undefined ? undefined : `${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack} (C/H/S)`],
    ["block size", info.blockSize === null ? undefined : formatByteCount(info.blockSize)],
    ["allocated blocks", info.allocatedBlocks ?? undefined],
    ["alignment", `${info.alignment} (${info.alignment === 1 ? "block data 4 KiB-aligned" : "not 4 KiB-aligned"})`],
    ["created", info.timestamp],
  ];
  if (parent !== undefined) {
    fields.push(
      ["parent unique id", parent.uniqueId],
      ["parent name", parent.name],
      ...parent.locators.map((locator): OutputLine => [`parent locator ${locator.code}`, locator.path ?? "(unreadable)"]),
      ["parent timestamp", parent.timestamp],
      ["parent path", parent.resolvedPath ?? `not found: ${info.chainError?.message ?? "unresolved"}`],
    );
  }
  fields.push(
    ...info.chain.map((ancestor, index): OutputLine => [
      `ancestor ${index + 1}`,
      `${ancestor.path} (${ancestor.type}, ${ancestor.uniqueId})`,
    ]),
    ...info.warnings.map((warning): OutputLine => ["warning", warning]),
    ...info.notes.map((note): OutputLine => ["note", note]),
  );
  return fields;
}

/**
 * Prints a disk as `inspect` does: the {@link describeDisk} lines, or with `json` the DiskInfo itself; with
 * `parentFacts` (`inspect --parent-facts`) those too, as `recorded parent ...` lines or the JSON's `parentFacts`.
 */
export function printDisk(info: DiskInfo, json: boolean, parentFacts?: RecordedParentFacts): void {
  // A disk just created also says which folders were made (for a resource to remove again); the CLI reports the disk
  // as `inspect` does.
  const { createdFolders: _made, ...disk } = info as DiskInfo & { createdFolders?: unknown };
  const facts = parentFacts === undefined ? {} : { parentFacts };
  if (json) printJson({ ...disk, ...facts });
  else printFields([...describeDisk(disk), ...(parentFacts === undefined ? [] : describeParentFacts(parentFacts))]);
}

/** The parent facts a `DifferencingDisk` records: the parent's part of a disk record, with the id the child links. */
export type RecordedParentFacts = ParentRecord & { parentUniqueId: string };

/** The human form of {@link RecordedParentFacts}: one line each, ancestors by path. */
function describeParentFacts(facts: RecordedParentFacts): OutputLine[] {
  const { dev, ino, size, mtimeNs, ctimeNs } = facts.parentFingerprint;
  return [
    ["recorded parent", facts.parentPath],
    ["recorded parent unique id", facts.parentUniqueId],
    ["recorded parent type", facts.parentDiskType],
    ["recorded parent size", formatByteCount(facts.parentSize)],
    ["recorded parent checksum", facts.parentChecksum ?? undefined],
    ["recorded parent fingerprint", `dev ${dev} ino ${ino} size ${size} mtime ${mtimeNs} ns ctime ${ctimeNs} ns`],
    ...Object.entries(facts.ancestors ?? {}).map(([ancestorPath, ancestor]): OutputLine => [
      "recorded ancestor",
      `${ancestorPath} (${ancestor.uniqueId}, ${ancestor.checksum ?? "no checksum"})`,
    ]),
  ];
}
