/**
 * Lays out small VHD files in memory, for reader tests that need exact control over bitmaps, damaged fields and
 * loops. The metadata comes from the engine's pure encoders (new-footer, empty-dynamic-file); the blocks are placed
 * here, so a test decides exactly which bitmap bits are set. Keep files to a few MiB.
 */
import { writeFile } from "node:fs/promises";
import { encodeEmptyDynamicFile } from "../../../provider/vhd/writer/empty-dynamic-file";
import {
  BAT_ENTRY_SIZE,
  DEFAULT_BLOCK_SIZE,
  DiskType,
  SECTOR_SIZE,
  allocateBlockAt,
  bitmapSize,
  chsFromSize,
  encodeBatEntry,
  encodeFooter,
  setSectors,
  type DynamicHeader,
  type Footer,
  type PlatformCode,
} from "../../../provider/vhd/format";
import { newFooter } from "../../../provider/vhd/writer/new-footer";

/** Bytes written at a sector-aligned virtual offset (a whole number of sectors). */
export interface SectorWrite {
  offset: number;
  data: Uint8Array;
}

/** What to build. */
export interface VhdSpec {
  type: "fixed" | "dynamic" | "differencing";
  virtualSize: number;
  blockSize?: number;
  /** The disk's own unique id (random when omitted); tests of loops need to choose it. */
  uniqueId?: Uint8Array;
  /** Differencing only: what the child records about its parent. */
  parent?: { uniqueId: Uint8Array; name: string; locators?: { code: PlatformCode; path: string }[]; timeStamp?: number };
  /** A differencing disk marks exactly the written sectors; a dynamic one marks whole blocks, as qemu does. */
  writes?: SectorWrite[];
}

/** A built file and the records it holds. */
export interface BuiltVhd {
  bytes: Uint8Array;
  footer: Footer;
  header: DynamicHeader | null;
}

const DISK_TYPES = { fixed: DiskType.Fixed, dynamic: DiskType.Dynamic, differencing: DiskType.Differencing } as const;

/** Builds a VHD in memory. */
export function buildVhd(spec: VhdSpec): BuiltVhd {
  const blockSize = spec.blockSize ?? DEFAULT_BLOCK_SIZE;
  const footer = newFooter({ diskType: DISK_TYPES[spec.type], virtualSize: spec.virtualSize, geometry: chsFromSize(spec.virtualSize) });
  if (spec.uniqueId !== undefined) footer.uniqueId = spec.uniqueId;
  const footerBytes = encodeFooter(footer);
  if (spec.type === "fixed") {
    const bytes = new Uint8Array(spec.virtualSize + SECTOR_SIZE);
    for (const write of spec.writes ?? []) bytes.set(write.data, write.offset);
    bytes.set(footerBytes, spec.virtualSize);
    return { bytes, footer, header: null };
  }
  const parentLink =
    spec.parent === undefined
      ? undefined
      : {
          parentUniqueId: spec.parent.uniqueId,
          parentTimeStamp: spec.parent.timeStamp ?? 0,
          parentUnicodeName: spec.parent.name,
          locators: (spec.parent.locators ?? []).map((locator) => ({ ...locator, dataSpace: 1024 })),
        };
  const empty = encodeEmptyDynamicFile(footer, blockSize, parentLink);
  const { plan, header } = empty;
  const differencing = spec.type === "differencing";
  const blocks = new Map<number, { batEntry: number; bitmap: Uint8Array; data: Uint8Array }>();
  let footerOffset = plan.firstBlockOffset;
  for (const write of spec.writes ?? []) {
    for (let done = 0; done < write.data.length; ) {
      const offset = write.offset + done;
      const blockIndex = Math.floor(offset / blockSize);
      const inBlock = offset - blockIndex * blockSize;
      const length = Math.min(blockSize - inBlock, write.data.length - done);
      let block = blocks.get(blockIndex);
      if (block === undefined) {
        const allocation = allocateBlockAt(footerOffset, blockSize);
        footerOffset = allocation.newFooterOffset;
        const bitmap = new Uint8Array(bitmapSize(blockSize)).fill(differencing ? 0 : 0xff);
        block = { batEntry: allocation.batEntry, bitmap, data: new Uint8Array(blockSize) };
        blocks.set(blockIndex, block);
      }
      block.data.set(write.data.subarray(done, done + length), inBlock);
      if (differencing) setSectors(block.bitmap, inBlock / SECTOR_SIZE, length / SECTOR_SIZE);
      done += length;
    }
  }
  const bytes = new Uint8Array(footerOffset + SECTOR_SIZE);
  // The empty file's metadata, up to where the first block goes (the footer is placed last, after the blocks).
  for (const piece of empty.pieces) {
    if (piece.offset < plan.firstBlockOffset) bytes.set(piece.bytes.subarray(0, plan.firstBlockOffset - piece.offset), piece.offset);
  }
  for (const [blockIndex, block] of blocks) {
    bytes.set(encodeBatEntry(block.batEntry), plan.tableOffset + blockIndex * BAT_ENTRY_SIZE);
    bytes.set(block.bitmap, block.batEntry * SECTOR_SIZE);
    bytes.set(block.data, block.batEntry * SECTOR_SIZE + block.bitmap.length);
  }
  bytes.set(footerBytes, footerOffset);
  return { bytes, footer, header };
}

/** Builds and writes a VHD to `path`. */
export async function writeVhd(path: string, spec: VhdSpec): Promise<BuiltVhd> {
  const built = buildVhd(spec);
  await writeFile(path, built.bytes);
  return built;
}

/** What the chain should read: each layer's writes in order, base first, leaf last. */
export function expectedContent(virtualSize: number, layersBaseFirst: readonly (readonly SectorWrite[])[]): Uint8Array {
  const content = new Uint8Array(virtualSize);
  for (const layer of layersBaseFirst) for (const write of layer) content.set(write.data, write.offset);
  return content;
}
