/**
 * Fixed numbers of VHD 1.0 (SPEC = Microsoft "Virtual Hard Disk Image Format Specification" 1.0) and the values this
 * project writes. Decisions are explained next to each value; docs/vhd-format.md has the evidence.
 */

/** Bytes per sector; every VHD offset and size is counted in these (SPEC). */
export const SECTOR_SIZE = 512;
/** The hard disk footer, at the end of every VHD and copied at offset 0 of dynamic/differencing ones. */
export const FOOTER_SIZE = 512;
/** Pre-Virtual-PC-2004 images end in a footer one byte short (SPEC; read only, docs/vhd-format.md §1.1). */
export const SHORT_FOOTER_SIZE = 511;
/** The dynamic disk header. */
export const DYNAMIC_HEADER_SIZE = 1024;
/** One parent locator entry inside the dynamic header. */
export const LOCATOR_ENTRY_SIZE = 24;
/** Slots for parent locator entries in the dynamic header. */
export const LOCATOR_SLOTS = 8;
/** Bytes of one BAT entry (a u32 sector number). */
export const BAT_ENTRY_SIZE = 4;

/** Footer cookie (SPEC). */
export const FOOTER_COOKIE = "conectix";
/** Dynamic header cookie (SPEC). */
export const DYNAMIC_HEADER_COOKIE = "cxsparse";
/** First 8 bytes of a VHDX file ("vhdxfile"), recognised only to name the format in an error. */
export const VHDX_SIGNATURE = "vhdxfile";

/** The disk types of the footer's Disk Type field (SPEC); 0, 1, 5 and 6 are reserved or deprecated. */
export enum DiskType {
  Fixed = 2,
  Dynamic = 3,
  Differencing = 4,
}

/** Footer features: bit 1 is "reserved, must always be set" (SPEC); bit 0 marks a temporary disk. */
export const FEATURES_RESERVED = 0x00000002;
/** Footer features bit 0: the disk is a candidate for deletion on shutdown. */
export const FEATURES_TEMPORARY = 0x00000001;
/** The only file format version of VHD 1.0: major 1, minor 0. */
export const FILE_FORMAT_VERSION = 0x00010000;
/** The only dynamic header version. */
export const DYNAMIC_HEADER_VERSION = 0x00010000;

/**
 * Where we put the dynamic header: right after the head footer copy. Every producer does this, and XO asserts it
 * (docs/vhd-format.md §1, "Data offset").
 */
export const DYNAMIC_HEADER_OFFSET = 512;
/** Where we put the BAT: right after the header, as qemu, VirtualBox, blktap and DiscUtils do (§2). */
export const BAT_OFFSET = DYNAMIC_HEADER_OFFSET + DYNAMIC_HEADER_SIZE;

/** 2 MiB, the block size every producer uses by default (SPEC; §5). */
export const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;
/** 2040 GiB = 0xFF000000 sectors: above this BAT sector numbers can no longer reach every block (SPEC; qemu). */
export const MAX_VIRTUAL_SIZE = 2040 * 1024 * 1024 * 1024;
/** A BAT entry for a block that is not allocated. */
export const UNUSED_BAT_ENTRY = 0xffffffff;

/** VHD time stamps count seconds from 2000-01-01T00:00:00Z (SPEC). */
export const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Creator host OS codes (SPEC), as the 4 ASCII bytes stored. */
export const HOST_OS = { windows: "Wi2k", macintosh: "Mac " } as const;

/**
 * The creator we write. `win ` (Hyper-V / Windows' VHD API) with Hyper-V's version, because qemu picks its size rule
 * from this field: with `win ` it reads current_size, so a child of a parent whose size is not a whole CHS product
 * reports the parent's exact size (docs/vhd-format.md §1.2); any new code of our own would make qemu use C*H*S*512.
 */
export const CREATOR = { application: "win ", version: 0x000a0000, hostOs: HOST_OS.windows } as const;

/** Parent locator platform codes (SPEC, §2.5), as the 4 ASCII bytes stored. */
export const PLATFORM_CODE = {
  /** Absolute Windows path, UTF-16LE. */
  W2ku: "W2ku",
  /** Path relative to the child's folder, UTF-16LE, `\` separators. */
  W2ru: "W2ru",
  /** Deprecated absolute Windows path, single-byte. */
  Wi2k: "Wi2k",
  /** Deprecated relative Windows path, single-byte. */
  Wi2r: "Wi2r",
  /** Mac OS X file URL, UTF-8. */
  MacX: "MacX",
  /** Mac OS alias blob (opaque). */
  Mac: "Mac ",
} as const;
/** A parent locator platform code. */
export type PlatformCode = (typeof PLATFORM_CODE)[keyof typeof PLATFORM_CODE];

/**
 * The locators we write, in slot order (Hyper-V and VirtualBox put W2ku in slot 0 and W2ru in slot 1), each with
 * 1024 bytes of data space stored as a byte count, as Hyper-V and VirtualBox do (§2.5): room enough to rewrite a
 * path in place.
 */
export const WRITTEN_LOCATORS = [
  { code: PLATFORM_CODE.W2ku, dataSpace: 1024 },
  { code: PLATFORM_CODE.W2ru, dataSpace: 1024 },
] as const;

/** At most this many UTF-16 units of parent name, so at least one NUL unit follows (VirtualBox caps at 511 bytes). */
export const MAX_PARENT_NAME_UNITS = 255;
