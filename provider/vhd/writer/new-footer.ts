/** The footer of a disk we create: fresh identity, our creator code, the SPEC's constant fields. */
import { randomUUID } from "node:crypto";
import {
  CREATOR,
  DiskType,
  DYNAMIC_HEADER_OFFSET,
  FEATURES_RESERVED,
  FILE_FORMAT_VERSION,
  FOOTER_COOKIE,
  vhdTimeStampFromDate,
  type Footer,
  type Geometry,
} from "../format";

/** What distinguishes one new footer from another. */
export interface NewFooterFields {
  diskType: DiskType;
  /** Virtual size in bytes (written as both current and original size: libvhdi reads the original one, §1). */
  virtualSize: number;
  /** CHS geometry: the SPEC's for a base disk, the parent's for a child. */
  geometry: Geometry;
}

/**
 * A random unique id, 16 bytes of an RFC 4122 version-4 UUID in RFC byte order (as qemu writes; the id is opaque to
 * every reader, docs/vhd-format.md §2.2).
 */
export function newUniqueId(): Uint8Array {
  return Buffer.from(randomUUID().replaceAll("-", ""), "hex");
}

/**
 * A new footer: creator `win ` (so qemu reads the current size, not C*H*S, §1.2), created now, not a temporary disk,
 * no saved state. A fixed disk has no dynamic header (data offset all-ones); the others have it at 512.
 */
export function newFooter({ diskType, virtualSize, geometry }: NewFooterFields): Footer {
  return {
    cookie: FOOTER_COOKIE,
    features: FEATURES_RESERVED,
    fileFormatVersion: FILE_FORMAT_VERSION,
    dataOffset: diskType === DiskType.Fixed ? null : DYNAMIC_HEADER_OFFSET,
    timeStamp: vhdTimeStampFromDate(Date.now()),
    creatorApplication: CREATOR.application,
    creatorVersion: CREATOR.version,
    creatorHostOs: CREATOR.hostOs,
    originalSize: virtualSize,
    currentSize: virtualSize,
    ...geometry,
    diskType,
    uniqueId: newUniqueId(),
    savedState: 0,
  };
}
