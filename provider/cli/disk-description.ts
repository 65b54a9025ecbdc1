import type { DiskInfo } from "../vhd/inspect";
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
    ["type", info.type],
    ["virtual size", formatByteCount(info.virtualSize)],
    ["file size", formatByteCount(info.fileSize)],
    ["unique id", info.uniqueId],
    ["creator", `${creator.application.trim()} ${creator.version} (${creator.hostOs.trim()})`],
    ["geometry", `${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack} (C/H/S)`],
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

/** Prints a disk as `inspect` does: the {@link describeDisk} lines, or with `json` the DiskInfo itself. */
export function printDisk(info: DiskInfo, json: boolean): void {
  // A disk just created also says which folders were made (for a resource to remove again); the CLI reports the disk
  // as `inspect` does.
  const { createdFolders: _made, ...disk } = info as DiskInfo & { createdFolders?: unknown };
  if (json) printJson(disk);
  else printFields(describeDisk(disk));
}
