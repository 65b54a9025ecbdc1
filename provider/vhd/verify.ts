/**
 * `verify`: whether a VHD file and its chain are sound, as named checks (inspect.ts only describes).
 */
import type { ErrorName } from "../errors";
import { openChain } from "../disk/chain";
import { openDiskImage, type VhdImage } from "./reader/reader";
import {
  DYNAMIC_HEADER_SIZE,
  FOOTER_SIZE,
  SECTOR_SIZE,
  UNUSED_BAT_ENTRY,
  batByteSize,
  bitmapSize,
  blockBitmapOffset,
  blockSpan,
  chsFromSize,
  isSectorSet,
  locatorDataSpaceBytes,
  sectorsPerBlock,
} from "./format";
import { errorInfo, type InspectOptions } from "../disk/disk-info";
import { alignmentOf } from "./inspect";

export type { VerifyCheck, VerifyReport } from "../disk/driver";
import type { VerifyCheck, VerifyReport } from "../disk/driver";

interface Region {
  name: string;
  start: number;
  end: number;
}

/** Metadata regions and blocks of a dynamic/differencing file, for the overlap check. */
function regionsOf(image: VhdImage): Region[] {
  const { header, bat } = image;
  if (header === null || bat === null) return [];
  const headerOffset = image.footer.dataOffset ?? 0;
  const regions: Region[] = [
    { name: "head footer", start: 0, end: FOOTER_SIZE },
    { name: "dynamic header", start: headerOffset, end: headerOffset + DYNAMIC_HEADER_SIZE },
    { name: "BAT", start: header.tableOffset, end: header.tableOffset + batByteSize(header.maxTableEntries) },
  ];
  for (const locator of image.locators) {
    const space = locatorDataSpaceBytes(locator.entry.platformDataSpace) ?? locator.entry.platformDataLength;
    const length = Math.max(locator.entry.platformDataLength, Math.min(space, image.file.size));
    regions.push({ name: `locator ${locator.slot} (${locator.entry.platformCode})`, start: locator.entry.platformDataOffset, end: locator.entry.platformDataOffset + length });
  }
  bat.forEach((entry, index) => {
    if (entry !== UNUSED_BAT_ENTRY) {
      regions.push({ name: `block ${index}`, start: blockBitmapOffset(entry), end: blockBitmapOffset(entry) + blockSpan(header.blockSize) });
    }
  });
  return regions;
}

function layoutChecks(image: VhdImage): VerifyCheck[] {
  const regions = regionsOf(image);
  const footerOffset = image.footerOffset;
  const outside = regions.filter((region) => region.end > footerOffset);
  const sorted = [...regions].sort((a, b) => a.start - b.start);
  const overlaps: string[] = [];
  for (let index = 1; index < sorted.length; index++) {
    const previous = sorted[index - 1] as Region;
    const current = sorted[index] as Region;
    if (current.start < previous.end) overlaps.push(`${previous.name} and ${current.name}`);
  }
  return [
    {
      name: "layout: every structure and block lies before the tail footer",
      ok: outside.length === 0,
      detail: outside.length === 0 ? `${regions.length} regions checked` : `past the footer at ${footerOffset}: ${outside.map((region) => region.name).join(", ")}`,
    },
    {
      name: "layout: no two structures or blocks overlap",
      ok: overlaps.length === 0,
      detail: overlaps.length === 0 ? "no overlap" : `overlapping: ${overlaps.slice(0, 10).join("; ")}`,
    },
  ];
}

/**
 * Differencing disks: bits set for sectors past the end of the virtual disk. They hold nothing and no reader looks
 * at them (qemu marks whole blocks, as in dfvfs `image-differential.vhd`), so they are a note, not damage.
 */
async function strayBitmapNote(image: VhdImage): Promise<string | null> {
  const { header, bat } = image;
  if (image.kind !== "differencing" || header === null || bat === null) return null;
  const lastIndex = Math.ceil(image.virtualSize / header.blockSize) - 1;
  const lastEntry = bat[lastIndex];
  const usedSectors = (image.virtualSize - lastIndex * header.blockSize) / SECTOR_SIZE;
  let stray = 0;
  if (lastEntry !== undefined && lastEntry !== UNUSED_BAT_ENTRY && usedSectors < sectorsPerBlock(header.blockSize)) {
    const bitmap = await image.blockBitmap(lastIndex, lastEntry);
    for (let sector = usedSectors; sector < bitmapSize(header.blockSize) * 8; sector++) {
      if (isSectorSet(bitmap, sector)) stray++;
    }
  }
  return stray === 0 ? null : `${stray} sectors past the end of the disk are marked in block ${lastIndex}'s bitmap (unread)`;
}

const ALREADY_CHECKED = new Set<ErrorName>([
  "ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH",
  "ERROR_VHD_SPARSE_HEADER_CHECKSUM_MISMATCH",
  "ERROR_VHD_DRIVE_FOOTER_MISSING",
]);

export function fact(name: string, ok: boolean, good: string, bad: string): VerifyCheck {
  return { name, ok, detail: ok ? good : bad };
}

/**
 * The creators whose disks qemu (block/vpc.c) sizes by the footer's current size; any other creator's disk it sizes
 * by cylinders x heads x sectors, unless the geometry is 65535/16/255.
 */
export const QEMU_FOOTER_SIZED_CREATORS: readonly string[] = ["win ", "qem2", "d2v ", "CTXS", "tap\0"];

/** What the stored geometry says beside the SPEC's algorithm: producers choose their own on purpose, readers ignore it. */
function geometryNote({ footer, virtualSize }: VhdImage): string | null {
  const expected = chsFromSize(virtualSize);
  if (footer.cylinders === expected.cylinders && footer.heads === expected.heads && footer.sectorsPerTrack === expected.sectorsPerTrack) {
    return null;
  }
  return (
    `the stored geometry ${footer.cylinders}/${footer.heads}/${footer.sectorsPerTrack} is not the SPEC algorithm's ` +
    `${expected.cylinders}/${expected.heads}/${expected.sectorsPerTrack} (producers choose their own, e.g. qemu's ` +
    "force_size writes 65535/16/255; Hyper-V and libvhdi size the disk by the footer, and so does qemu for the " +
    `creators ${QEMU_FOOTER_SIZED_CREATORS.map((creator) => creator.replace(/[ \0]+$/, "")).join(", ")} and for the ` +
    "geometry 65535/16/255)"
  );
}

/**
 * Checks a VHD and its chain: both footer copies (present, checksums, identical), the header checksum, the layout
 * (BAT, locators and blocks inside the file and not overlapping), a fixed disk's file size, and
 * that the whole chain resolves. Facts that are not damage are notes (see {@link VerifyReport.notes}). Never throws
 * for a damaged file: the damage is a failed check.
 */
export async function verifyDisk(path: string, options: InspectOptions = {}): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [];
  const notes: string[] = [];
  let image: VhdImage;
  try {
    image = await openDiskImage(path, options);
  } catch (error) {
    const info = errorInfo(error, options.storage);
    return { path, ok: false, checks: [{ name: "opens as a VHD", ok: false, detail: info.message }], notes };
  }
  try {
    const { integrity } = image;
    notes.push(...image.notes);
    checks.push(fact("opens as a VHD", true, `${image.kind} disk, ${image.virtualSize} bytes`, ""));
    const tailLength = `${image.footerLength} bytes at the end of the file`;
    const missingTail = image.kind === "fixed" ? "missing" : "missing: the head copy was used";
    checks.push(fact("tail footer: present", integrity.tailFooter.present, tailLength, missingTail));
    checks.push(fact("tail footer: checksum", integrity.tailFooter.checksumValid, "valid", "wrong or missing"));
    if (integrity.headFooter !== null) {
      checks.push(fact("head footer copy: checksum", integrity.headFooter.checksumValid, "valid", "wrong or missing"));
      checks.push(fact("head and tail footers: identical", integrity.headMatchesTail === true, "byte-identical", "they differ (qemu reads the head, libvhdi the tail)"));
      checks.push(fact("dynamic header: checksum", integrity.headerChecksumValid === true, "valid", "wrong"));
    }
    const geometry = geometryNote(image);
    if (geometry !== null) notes.push(geometry);
    if (alignmentOf(image) === 0) {
      notes.push("some blocks' data does not start on a 4 KiB boundary (Get-VHD's Alignment 0); blocks we add are aligned");
    }
    // Checksum and footer-copy warnings are already the checks above; the rest are structural oddities.
    for (const warning of image.warnings.filter((candidate) => !ALREADY_CHECKED.has(candidate.code))) {
      checks.push({ name: `structure: ${warning.field ?? warning.code}`, ok: false, detail: warning.message });
    }
    checks.push(...layoutChecks(image));
    const strayBits = await strayBitmapNote(image);
    if (strayBits !== null) notes.push(strayBits);
    if (image.kind === "differencing") checks.push(await chainCheck(path, options, notes));
  } finally {
    await image.close();
  }
  return { path, ok: checks.every((check) => check.ok), checks, notes };
}

/**
 * The chain resolves. An ancestor that reads with warnings (a stale checksum, as in the dfvfs samples) is read
 * through as libvhdi does and as the writer accepts it for a parent, so it is a note here: `verify` the ancestor
 * itself for its own checks.
 */
export async function chainCheck(path: string, options: InspectOptions, notes: string[]): Promise<VerifyCheck> {
  const name = "chain: every parent found, matching id and size";
  try {
    const chain = await openChain(path, options);
    const named = (path: string): string => options.storage?.describe(path) ?? path;
    const names = chain.images.map((image) => named(image.path)).join(" -> ");
    for (const ancestor of chain.images.slice(1).filter((image) => image.warnings.length > 0)) {
      notes.push(`ancestor ${named(ancestor.path)} reads with warnings (verify it): ${ancestor.warnings.map((warning) => warning.message).join("; ")}`);
    }
    await chain.close();
    return fact(name, true, names, "");
  } catch (error) {
    return { name, ok: false, detail: errorInfo(error, options.storage).message };
  }
}
