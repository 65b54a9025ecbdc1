/**
 * Writes VHDX files (MS-VHDX v1): a fixed or dynamic base (empty or holding a raw image), a differencing child off a
 * VHDX parent described as data, and data writes into an existing file. Creation fills a new (temporary) file and
 * writes the headers last (docs/vhdx-format.md §8 "Writer", step 12), so the caller's atomic publish never shows a file
 * that looks valid and is not. The parent is never opened for writing here: the child gets the parent's facts.
 */
import { randomUUID } from "node:crypto";
import { blocksWithData, type DiskContent } from "../disk/content";
import { checkWriteRange } from "../disk/write-range";
import { VhdError } from "../errors";
import type { ProgressCallback } from "../support/progress";
import type { RandomAccessFile } from "../storage/random-access-file";
import { encodeLayout } from "../vhd/format/field";
import {
  BAT_STATE,
  bitmapSliceOffset,
  chunkCount,
  chunkRatio,
  encodeVhdxBatEntry,
  encodeFileIdentifier,
  encodeHeader,
  encodeMetadataRegion,
  encodeParentLocator,
  encodeRegionTable,
  FILE_ID_LAYOUT,
  FILE_PARAMETER_FLAGS,
  FILE_PARAMETERS_LAYOUT,
  HEADER_OFFSETS,
  isValidBlockSize,
  VHDX_MAX_VIRTUAL_SIZE,
  METADATA_FLAGS,
  METADATA_ITEM_GUIDS,
  MIB,
  NIL_GUID,
  payloadBatIndex,
  payloadBlockCount,
  planFile,
  REGION_GUIDS,
  REGION_TABLE_OFFSETS,
  roundUp,
  SB_BLOCK_PRESENT,
  SECTOR_BITMAP_BLOCK_SIZE,
  SECTOR_SIZE_LAYOUT,
  sectorBitmapBatIndex,
  USER_METADATA_ITEM_GUIDS,
  VHDX_PARENT_LOCATOR_TYPE,
  VIRTUAL_DISK_ID_LAYOUT,
  VIRTUAL_DISK_SIZE_LAYOUT,
  type BatEntry,
  type BatGeometry,
  type FilePlan,
  type LocatorEntry,
  type MetadataItem,
} from "./format";
import { commitThroughLog, replayIntoFile, SectorUpdates, updateHeaders, type HeaderState } from "./log-writer";
import { linkageForm, openVhdx, type ParentReader, type VhdxImage } from "./reader";

/** The creator string we write (diagnostic only, §2.2.1). */
export const VHDX_CREATOR = "pulumi-vhd";
/** Hyper-V's default block size for dynamic disks (docs/vhdx-format.md §6). */
export const DEFAULT_DYNAMIC_BLOCK_SIZE = 32 * MIB;
/**
 * 2 MiB for fixed disks and children: the block size of the Windows-made fixed and differencing fixtures
 * (shared/fixtures/vhdx/MANIFEST.md, dissect fixed and differencing).
 */
export const DEFAULT_FIXED_BLOCK_SIZE = 2 * MIB;
export const DEFAULT_CHILD_BLOCK_SIZE = 2 * MIB;

/** What a base disk is made of. */
export interface VhdxBaseOptions {
  kind: "fixed" | "dynamic";
  /** Bytes; a multiple of the logical sector size, at most 64 TB. */
  virtualSize: number;
  /** Bytes, a power of two from 1 MiB to 256 MiB (default: 32 MiB dynamic, 2 MiB fixed). */
  blockSize?: number;
  /** 512 (default) or 4096. */
  logicalSectorSize?: number;
  /** 512 or 4096 (default, Hyper-V's). */
  physicalSectorSize?: number;
  /** The bytes the disk starts with (a raw image, another disk); blocks without data are not written. */
  content?: DiskContent;
  /** The disk's final path, for errors (default: the file's). */
  imagePath?: string;
  /** Progress of the copy from `content`. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** The parent facts a child records (MS-VHDX §2.6.1.2: it copies the IsVirtualDisk items). */
export interface VhdxParentFacts {
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** The parent's Virtual Disk ID (the child shares it). */
  virtualDiskId: string;
  /** The parent's current DataWriteGuid: written as `parent_linkage`, lower-case and braced. */
  dataWriteGuid: string;
  /** Locator paths in Windows form (§2.6.2.6.3); give at least one. */
  relativePath?: string;
  volumePath?: string;
  absoluteWin32Path?: string;
}

/** What a child is made of. */
export interface VhdxChildOptions {
  parent: VhdxParentFacts;
  /** Bytes, a power of two from 1 MiB to 256 MiB (default 2 MiB); may differ from the parent's. */
  blockSize?: number;
}

/** The parent facts of an open VHDX image, with the locator paths to record. */
export function parentFactsOf(
  image: VhdxImage,
  paths: Pick<VhdxParentFacts, "relativePath" | "volumePath" | "absoluteWin32Path">,
): VhdxParentFacts {
  return {
    virtualSize: image.virtualSize,
    logicalSectorSize: image.logicalSectorSize,
    physicalSectorSize: image.physicalSectorSize,
    virtualDiskId: image.virtualDiskId,
    dataWriteGuid: image.dataWriteGuid,
    ...paths,
  };
}

/** A GUID string for `parent_linkage`: lower-case with braces, the only form libvhdi parses (docs/vhdx-format.md §5). */
export function bracedGuid(guid: string): string {
  return `{${guid.replace(/[{}]/g, "").toLowerCase()}}`;
}

interface NewFile {
  geometry: BatGeometry;
  physicalSectorSize: number;
  virtualDiskId: string;
  flags: number;
  locator?: LocatorEntry[];
}

function invalid(parameter: string, value: number, reason: string): VhdError {
  return new VhdError("E_INVALIDARG", reason, { parameter, value });
}

function checkGeometry({ virtualSize, blockSize, logicalSectorSize }: BatGeometry, physicalSectorSize: number): void {
  if (!isValidBlockSize(blockSize)) {
    throw new VhdError("ERROR_VHD_INVALID_BLOCK_SIZE", "a VHDX block size is a power of two from 1 MiB to 256 MiB", {
      parameter: "blockSize",
      value: blockSize,
    });
  }
  for (const [name, value] of [["logicalSectorSize", logicalSectorSize], ["physicalSectorSize", physicalSectorSize]] as const) {
    if (value !== 512 && value !== 4096) throw invalid(name, value, "a VHDX sector size is 512 or 4096 bytes");
  }
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0 || virtualSize > VHDX_MAX_VIRTUAL_SIZE || virtualSize % logicalSectorSize !== 0) {
    throw new VhdError("ERROR_VHD_INVALID_SIZE", `a VHDX size is a multiple of the ${logicalSectorSize}-byte sector, at most 64 TB`, {
      parameter: "size",
      value: virtualSize,
    });
  }
}

/**
 * The metadata items of a new file, in qemu's order, then the locator, then our file id, new for every file (§2.6.2;
 * flags as docs/vhdx-format.md §3).
 */
function metadataItems(spec: NewFile): MetadataItem[] {
  const virtualDisk = METADATA_FLAGS.isVirtualDisk | METADATA_FLAGS.isRequired;
  const items: MetadataItem[] = [
    {
      itemId: METADATA_ITEM_GUIDS.fileParameters,
      flags: METADATA_FLAGS.isRequired,
      data: encodeLayout(FILE_PARAMETERS_LAYOUT, { blockSize: spec.geometry.blockSize, flags: spec.flags }),
    },
    {
      itemId: METADATA_ITEM_GUIDS.virtualDiskSize,
      flags: virtualDisk,
      data: encodeLayout(VIRTUAL_DISK_SIZE_LAYOUT, { virtualDiskSize: spec.geometry.virtualSize }),
    },
    {
      itemId: METADATA_ITEM_GUIDS.virtualDiskId,
      flags: virtualDisk,
      data: encodeLayout(VIRTUAL_DISK_ID_LAYOUT, { virtualDiskId: spec.virtualDiskId }),
    },
    {
      itemId: METADATA_ITEM_GUIDS.logicalSectorSize,
      flags: virtualDisk,
      data: encodeLayout(SECTOR_SIZE_LAYOUT, { sectorSize: spec.geometry.logicalSectorSize }),
    },
    {
      itemId: METADATA_ITEM_GUIDS.physicalSectorSize,
      flags: virtualDisk,
      data: encodeLayout(SECTOR_SIZE_LAYOUT, { sectorSize: spec.physicalSectorSize }),
    },
  ];
  if (spec.locator !== undefined) {
    items.push({
      itemId: METADATA_ITEM_GUIDS.parentLocator,
      flags: METADATA_FLAGS.isRequired,
      data: encodeParentLocator(VHDX_PARENT_LOCATOR_TYPE, spec.locator),
    });
  }
  items.push({
    itemId: USER_METADATA_ITEM_GUIDS.fileId,
    flags: METADATA_FLAGS.isUser,
    data: encodeLayout(FILE_ID_LAYOUT, { fileId: randomUUID() }),
  });
  return items;
}

/** Bytes of a new file's BAT held and written at a time by {@link NewBat}. */
const BAT_WINDOW = 8 * MIB;

/**
 * The BAT of a new file, written while it is filled: entries come in increasing index order into one reused window
 * of {@link BAT_WINDOW} bytes, written out when the next entry falls past it; a window without entries is never
 * written (the new file reads zeros there). A 64 TB child's BAT is 256 MiB, almost all zeros: one fresh buffer of
 * that size cost more in page faults than writing it (3x one `fs.writeFile` of the same bytes).
 */
class NewBat {
  private readonly window: Uint8Array;
  /** Which window `window` holds, and whether any entry was set in it. */
  private held = 0;
  private dirty = false;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly plan: FilePlan,
  ) {
    this.window = new Uint8Array(Math.min(BAT_WINDOW, plan.batLength));
  }

  /**
   * Sets entry `index` (not below any index set before). When the entry falls past the window held, that window is
   * written first and a promise returned: await it before setting the next entry.
   */
  set(index: number, entry: BatEntry): Promise<void> | undefined {
    const at = index * 8;
    const target = Math.floor(at / BAT_WINDOW);
    if (target < this.held) throw new Error(`BAT entry ${index} set after a later one`);
    if (target !== this.held) return this.moveTo(target).then(() => this.put(at, entry));
    this.put(at, entry);
    return undefined;
  }

  /** Writes the window held, if any entry was set in it. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    const start = this.held * BAT_WINDOW;
    await this.file.write(this.plan.batOffset + start, this.window.subarray(0, Math.min(BAT_WINDOW, this.plan.batLength - start)));
  }

  private put(at: number, entry: BatEntry): void {
    this.window.set(encodeVhdxBatEntry(entry), at - this.held * BAT_WINDOW);
    this.dirty = true;
  }

  /** Writes the window held (the write reads the buffer until it ends), then holds window `target`, all zeros. */
  private async moveTo(target: number): Promise<void> {
    await this.flush();
    this.window.fill(0);
    this.held = target;
    this.dirty = false;
  }
}

/**
 * Writes the fixed structures of a new file and then `fillBat` (which writes blocks and sets BAT entries, returning
 * the file's end), and the two headers last, identical (docs/vhdx-format.md §8 steps 5-13). No sync here: `file` is a
 * temporary file that the caller's atomic create (storage/atomic-create.ts) syncs once before publishing it, and a
 * file never published is never opened, so the order its pages reach the disk does not matter; syncs of its own
 * only flushed a 64 TB child's 256 MiB BAT twice more.
 */
async function writeNewFile(
  file: RandomAccessFile,
  spec: NewFile,
  fillBat: (plan: FilePlan, bat: NewBat) => Promise<number>,
): Promise<void> {
  const plan = planFile(spec.geometry);
  const bat = new NewBat(file, plan);
  const end = await fillBat(plan, bat);
  await bat.flush();
  await file.write(0, encodeFileIdentifier(VHDX_CREATOR));
  const regions = encodeRegionTable([
    { guid: REGION_GUIDS.bat, fileOffset: plan.batOffset, length: plan.batLength, required: 1 },
    { guid: REGION_GUIDS.metadata, fileOffset: plan.metadataOffset, length: plan.metadataLength, required: 1 },
  ]);
  for (const at of REGION_TABLE_OFFSETS) await file.write(at, regions);
  await file.write(plan.metadataOffset, encodeMetadataRegion(metadataItems(spec)));
  await file.truncate(Math.max(end, plan.dataStart));
  const header = encodeHeader({
    sequenceNumber: 1,
    fileWriteGuid: randomUUID(),
    dataWriteGuid: randomUUID(),
    logGuid: NIL_GUID,
    logVersion: 0,
    version: 1,
    logLength: plan.logLength,
    logOffset: plan.logOffset,
  });
  for (const at of HEADER_OFFSETS) await file.write(at, header);
}

/**
 * Fills the new, empty `file` with a fixed or dynamic VHDX. A fixed disk gets every block FULLY_PRESENT, one after
 * the other, the content's data blocks written into them (the rest a hole); a dynamic one only the blocks of
 * `content` that hold data and are not all zeros (the rest NOT_PRESENT, read as zeros).
 * @throws `ERROR_VHD_INVALID_BLOCK_SIZE`, `ERROR_VHD_INVALID_SIZE` (also: content larger than the disk),
 *   `E_INVALIDARG` (sector sizes), `VM_E_APP_SHUTTING_DOWN`, I/O errors.
 */
export async function writeVhdxBase(file: RandomAccessFile, options: VhdxBaseOptions): Promise<void> {
  const geometry: BatGeometry = {
    virtualSize: options.virtualSize,
    blockSize: options.blockSize ?? (options.kind === "fixed" ? DEFAULT_FIXED_BLOCK_SIZE : DEFAULT_DYNAMIC_BLOCK_SIZE),
    logicalSectorSize: options.logicalSectorSize ?? 512,
  };
  const physicalSectorSize = options.physicalSectorSize ?? 4096;
  checkGeometry(geometry, physicalSectorSize);
  const fixed = options.kind === "fixed";
  const spec: NewFile = {
    geometry,
    physicalSectorSize,
    virtualDiskId: randomUUID(),
    flags: fixed ? FILE_PARAMETER_FLAGS.leaveBlockAllocated : 0,
  };
  const { content, signal, onProgress, imagePath = file.path } = options;
  const { blockSize, virtualSize } = geometry;
  const copy = { virtualSize, imagePath, ...(signal && { signal }), ...(onProgress && { onProgress }) };
  await writeNewFile(file, spec, async (plan, bat) => {
    const ratio = chunkRatio(geometry);
    const present = (block: number, fileOffset: number): Promise<void> | undefined =>
      bat.set(payloadBatIndex(block, ratio), { state: BAT_STATE.fullyPresent, fileOffset });
    const blocks = content === undefined ? [] : blocksWithData(content, blockSize, copy);
    if (fixed) {
      const count = payloadBlockCount(geometry);
      for (let block = 0; block < count; block++) {
        // Awaited only when a window is written: a 64 TB fixed disk sets 32 million entries.
        const writing = present(block, plan.dataStart + block * blockSize);
        if (writing !== undefined) await writing;
      }
      for await (const { index, data } of blocks) {
        await file.write(plan.dataStart + index * blockSize, data.subarray(0, Math.min(blockSize, virtualSize - index * blockSize)));
      }
      return plan.dataStart + count * blockSize;
    }
    let next = plan.dataStart;
    for await (const { index, data } of blocks) {
      await file.write(next, data);
      await present(index, next);
      next += blockSize;
    }
    return next;
  });
}

/**
 * Fills the new, empty `file` with a differencing VHDX off the parent described by `options.parent`: size, sector
 * sizes and Virtual Disk ID copied, File Parameters flags exactly HasParent (libvhdi refuses 3), the locator keys
 * `parent_linkage` (braced, lower-case) and the paths given, never `parent_linkage2` (docs/vhdx-format.md §8). Every
 * chunk gets a zero-filled sector bitmap block, present, so that libvhdi reads the child (its bug 2, §7).
 * @throws `E_INVALIDARG` when no locator path is given; the errors of {@link writeVhdxBase}.
 */
export async function writeVhdxChild(file: RandomAccessFile, options: VhdxChildOptions): Promise<void> {
  const { parent } = options;
  const geometry: BatGeometry = {
    virtualSize: parent.virtualSize,
    blockSize: options.blockSize ?? DEFAULT_CHILD_BLOCK_SIZE,
    logicalSectorSize: parent.logicalSectorSize,
  };
  checkGeometry(geometry, parent.physicalSectorSize);
  const locator: LocatorEntry[] = [{ key: "parent_linkage", value: bracedGuid(parent.dataWriteGuid) }];
  const paths = { relative_path: parent.relativePath, volume_path: parent.volumePath, absolute_win32_path: parent.absoluteWin32Path };
  for (const [key, value] of Object.entries(paths)) if (value !== undefined && value !== "") locator.push({ key, value });
  if (locator.length === 1) {
    throw new VhdError("E_INVALIDARG", "a VHDX child's parent locator needs at least one path", { parameter: "parentPath" });
  }
  const spec: NewFile = {
    geometry,
    physicalSectorSize: parent.physicalSectorSize,
    virtualDiskId: parent.virtualDiskId,
    flags: FILE_PARAMETER_FLAGS.hasParent,
    locator,
  };
  await writeNewFile(file, spec, async (plan, bat) => {
    const ratio = chunkRatio(geometry);
    let next = plan.dataStart;
    for (let chunk = 0; chunk < chunkCount(geometry); chunk++) {
      await bat.set(sectorBitmapBatIndex(chunk, ratio), { state: SB_BLOCK_PRESENT, fileOffset: next });
      next += SECTOR_BITMAP_BLOCK_SIZE;
    }
    return next;
  });
}

/** Options of {@link writeVhdxAt}. */
export interface WriteVhdxOptions {
  /**
   * The parent's virtual bytes: needed for a child when a write starts or ends inside a logical sector. A function
   * is called once with the child as opened for the write, before anything is written (the caller opens, checks
   * and later closes the chain above it).
   */
  parent?: ParentReader | ((child: VhdxImage) => Promise<ParentReader>);
  /**
   * The DataWriteGuid the session writes under (any GUID form), instead of a new one: a merge's, recorded first in
   * the disk above as `parent_linkage2` so that it links to this disk during and after the merge (§2.6.2.6.3 note
   * <12>). Every session of one merge gives the same.
   */
  dataWriteGuid?: string;
}

/** What {@link writeVhdxAt} did. */
export interface VhdxWriteResult {
  /** Payload blocks the write allocated (each `blockSize` bytes at the end of the file). */
  blocksAllocated: number;
}

/**
 * Opens the VHDX in `file` (writable) for writing, its BAT read on demand (only the entries the write touches): a
 * live log is replayed into the file first (§2.3.3: a writer replays before any other I/O), and the file opened
 * again on what it now holds.
 */
export async function openForWriting(file: RandomAccessFile): Promise<{ image: VhdxImage; headers: HeaderState }> {
  const image = await openVhdx(file, { bat: "on-demand" });
  const headers: HeaderState = { header: image.header, slot: image.headerSlot };
  if (image.header.logGuid === NIL_GUID) return { image, headers };
  const replayed = await replayIntoFile(file, headers, image.replayedLog);
  return { image: await openVhdx(file, { bat: "on-demand" }), headers: replayed };
}

/**
 * Writes `data` at virtual `offset` of the VHDX open (writable) as `file`, as one write session: a live log replayed
 * into the file; new FileWriteGuid and DataWriteGuid (or `options.dataWriteGuid`) before the first change, and a new LogGuid when the write will
 * change metadata, in one header update (§2.2.2); then, block by block, the
 * data goes to the file (a block already in it in place; a new block at the end of the file, 1 MiB-aligned) while
 * the BAT entries and sector bitmap bits that will point at it are only gathered; the data is flushed, and those
 * metadata sectors are committed through the log (log-writer.ts, §2.3), one entry for the whole call when the log
 * holds it. A crash therefore leaves each block's old or new content, and the file opens. Of the BAT, only the
 * entries of the blocks written are read.
 * @returns how many payload blocks were allocated.
 * @throws `E_INVALIDARG` (range outside the disk), `ERROR_VHD_PARENT_VHD_NOT_FOUND` (a child's unaligned edge and
 * no `parent`), the reader's errors, I/O errors.
 */
export async function writeVhdxAt(
  file: RandomAccessFile,
  offset: number,
  data: Uint8Array,
  options: WriteVhdxOptions = {},
): Promise<VhdxWriteResult> {
  const { image, headers } = await openForWriting(file);
  checkWriteRange(file, image.virtualSize, offset, data.length);
  const differencing = image.kind === "differencing";
  const parent = typeof options.parent === "function" ? (differencing ? await options.parent(image) : undefined) : options.parent;
  if (data.length === 0) return { blocksAllocated: 0 };
  let start = offset;
  let bytes = data;
  if (differencing) {
    const sector = image.logicalSectorSize;
    const alignedStart = Math.floor(offset / sector) * sector;
    const alignedEnd = Math.ceil((offset + data.length) / sector) * sector;
    if (alignedStart !== offset || alignedEnd !== offset + data.length) {
      bytes = await image.read(alignedStart, alignedEnd - alignedStart, parent);
      bytes.set(data, offset - alignedStart);
      start = alignedStart;
    }
  }
  const { blockSize } = image;
  const [firstBlock, endBlock] = [Math.floor(start / blockSize), Math.ceil((start + bytes.length) / blockSize)];
  await image.loadBatEntries(firstBlock, endBlock);
  // Only a write into blocks all FULLY_PRESENT changes no metadata; any other names its log in the same header update.
  let logged = false;
  for (let block = firstBlock; block < endBlock && !logged; block++) logged = image.payloadEntry(block).state !== BAT_STATE.fullyPresent;
  const session = await updateHeaders(file, headers, {
    fileWriteGuid: randomUUID(),
    dataWriteGuid: options.dataWriteGuid === undefined ? randomUUID() : linkageForm(options.dataWriteGuid),
    logGuid: logged ? randomUUID() : NIL_GUID,
  });
  const batRegion = image.regions.find((region) => region.guid === REGION_GUIDS.bat);
  if (batRegion === undefined) throw new Error("an open VHDX always has a BAT region");
  const metadata = new SectorUpdates(file);
  const writer = new BlockWriter(file, image, batRegion.fileOffset, metadata);
  for (let position = start; position < start + bytes.length; ) {
    const block = Math.floor(position / blockSize);
    const pieceEnd = Math.min((block + 1) * blockSize, start + bytes.length);
    await writer.write(block, position - block * blockSize, bytes.subarray(position - start, pieceEnd - start));
    position = pieceEnd;
  }
  await file.sync();
  await commitThroughLog(file, session, metadata);
  return { blocksAllocated: writer.blocksAllocated };
}

/**
 * The per-block steps of {@link writeVhdxAt}, remembering what it allocated during the session. Data goes to the
 * file; BAT entries and sector bitmap bits go to `metadata`, committed through the log at the end of the call.
 */
class BlockWriter {
  private readonly ratio: number;
  private readonly sectorBitmaps = new Map<number, number>();
  /** Payload blocks allocated so far. */
  blocksAllocated = 0;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly image: VhdxImage,
    private readonly batOffset: number,
    private readonly metadata: SectorUpdates,
  ) {
    this.ratio = chunkRatio(image);
  }

  /** Writes `data` at byte `inBlock` of payload block `block` (sector-aligned in a child). */
  async write(block: number, inBlock: number, data: Uint8Array): Promise<void> {
    const entry = this.image.payloadEntry(block);
    if (entry.state === BAT_STATE.fullyPresent) {
      await this.file.write(entry.fileOffset + inBlock, data);
      return;
    }
    const child = this.image.kind === "differencing";
    if (entry.state === BAT_STATE.partiallyPresent) {
      await this.file.write(entry.fileOffset + inBlock, data);
      await this.setSectorBits(block, inBlock, data.length, false);
      return;
    }
    // Not in the file. In a child, NOT_PRESENT reads the parent: the new block is PARTIALLY_PRESENT with only the
    // written sectors set. Every other state reads as zeros, so a zero-filled FULLY_PRESENT block keeps that.
    const fileOffset = roundUp(this.file.size, MIB);
    await this.file.truncate(fileOffset + this.image.blockSize);
    await this.file.write(fileOffset + inBlock, data);
    this.blocksAllocated++;
    const partial = child && entry.state === BAT_STATE.notPresent;
    if (partial) await this.setSectorBits(block, inBlock, data.length, true);
    await this.setBatEntry(payloadBatIndex(block, this.ratio), {
      state: partial ? BAT_STATE.partiallyPresent : BAT_STATE.fullyPresent,
      fileOffset,
    });
  }

  /**
   * Sets the bits of `length` bytes at `inBlock` in `block`'s sector bitmap slice (§2.4), as pending metadata. With
   * `fresh`, the slice is rewritten whole (a new block's slice may hold stale bits); else only the bytes covering
   * the range are read, changed and written back.
   */
  private async setSectorBits(block: number, inBlock: number, length: number, fresh: boolean): Promise<void> {
    const sector = this.image.logicalSectorSize;
    const sliceLength = this.image.blockSize / sector / 8;
    const sliceOffset = (await this.sectorBitmapOffset(Math.floor(block / this.ratio))) + bitmapSliceOffset(block, this.image);
    const first = inBlock / sector;
    const end = (inBlock + length) / sector;
    const from = fresh ? 0 : Math.floor(first / 8);
    const to = fresh ? sliceLength : Math.ceil(end / 8);
    const bytes = fresh ? new Uint8Array(to - from) : await this.metadata.read(sliceOffset + from, to - from);
    for (let bit = first; bit < end; bit++) bytes[(bit >>> 3) - from] = (bytes[(bit >>> 3) - from] ?? 0) | (1 << (bit & 7));
    await this.metadata.write(sliceOffset + from, bytes);
  }

  /** The sector bitmap block of `chunk`, allocated (zeros, then its BAT entry) when a Windows-made child lacks it. */
  private async sectorBitmapOffset(chunk: number): Promise<number> {
    const known = this.sectorBitmaps.get(chunk) ?? this.image.sectorBitmapEntry(chunk);
    if (typeof known === "number") return known;
    if (known.state === SB_BLOCK_PRESENT) return known.fileOffset;
    // No block of this chunk is PARTIALLY_PRESENT without it, so the new zeroed block changes no read.
    const fileOffset = roundUp(this.file.size, MIB);
    await this.file.truncate(fileOffset + SECTOR_BITMAP_BLOCK_SIZE);
    await this.setBatEntry(sectorBitmapBatIndex(chunk, this.ratio), { state: SB_BLOCK_PRESENT, fileOffset });
    this.sectorBitmaps.set(chunk, fileOffset);
    return fileOffset;
  }

  private async setBatEntry(index: number, entry: BatEntry): Promise<void> {
    await this.metadata.write(this.batOffset + index * 8, encodeVhdxBatEntry(entry));
  }
}
