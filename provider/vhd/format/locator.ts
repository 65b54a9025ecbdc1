/**
 * Parent locator entries (SPEC "Parent Locator Entry"; docs/vhd-format.md §2.5) and the path data they point to.
 * An entry is 24 bytes inside the dynamic header; its data lives elsewhere in the file.
 */
import { VhdError } from "../../errors";
import { LOCATOR_ENTRY_SIZE, PLATFORM_CODE, SECTOR_SIZE } from "./constants";
import { decodeLayout, defineLayout, encodeLayout } from "./field";

/** Field by field, as the SPEC lists them. */
export const LOCATOR_ENTRY_LAYOUT = defineLayout("parent locator entry", LOCATOR_ENTRY_SIZE, [
  { name: "platformCode", offset: 0, size: 4, type: "ascii" },
  { name: "platformDataSpace", offset: 4, size: 4, type: "u32" },
  { name: "platformDataLength", offset: 8, size: 4, type: "u32" },
  { name: "reserved", offset: 12, size: 4, type: "reserved" },
  { name: "platformDataOffset", offset: 16, size: 8, type: "u64" },
] as const);

/** One parent locator entry. An unused slot has every field zero and the code "". */
export interface ParentLocatorEntry {
  /** `W2ku`, `W2ru`, `MacX`, ... as stored (see PLATFORM_CODE); "" for an unused slot. */
  platformCode: string;
  /**
   * Room reserved for the data. The SPEC says sectors, but Hyper-V, VirtualBox and blktap store bytes; we write
   * bytes and read either (see {@link locatorDataSpaceBytes}).
   */
  platformDataSpace: number;
  /** Exact length in bytes of the locator data, no terminator. */
  platformDataLength: number;
  /** Absolute file offset of the locator data. */
  platformDataOffset: number;
}

/** Decodes one 24-byte entry. */
export function decodeLocatorEntry(bytes: Uint8Array): ParentLocatorEntry {
  return decodeLayout(LOCATOR_ENTRY_LAYOUT, bytes);
}

/** Encodes one entry into 24 new bytes. */
export function encodeLocatorEntry(entry: ParentLocatorEntry): Uint8Array {
  return encodeLayout(LOCATOR_ENTRY_LAYOUT, entry);
}

/**
 * The data space of an entry in bytes, or `null` when the value is neither a sector count nor a byte count.
 * blktap's rule (`vhd_parent_locator_size`): below 512 it is sectors (the SPEC's reading), a multiple of 512 is
 * bytes (what Hyper-V writes: 4096 for an 84-byte path would overlap the BAT if read as sectors).
 */
export function locatorDataSpaceBytes(platformDataSpace: number): number | null {
  if (platformDataSpace < SECTOR_SIZE) return platformDataSpace * SECTOR_SIZE;
  return platformDataSpace % SECTOR_SIZE === 0 ? platformDataSpace : null;
}

function stripTrailingNuls(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
  return text.slice(0, end);
}

const MACX_PREFIXES = ["file://localhost", "file://"];

/**
 * The bytes stored for a locator of `code` naming `path`:
 * W2ku/W2ru as UTF-16LE (the opposite byte order of the parent unicode name; Hyper-V sample, blktap, VirtualBox),
 * Wi2k/Wi2r as single bytes, MacX as a UTF-8 `file://localhost` URL of a POSIX path.
 */
export function encodeLocatorData(code: string, path: string): Uint8Array {
  switch (code) {
    case PLATFORM_CODE.W2ku:
    case PLATFORM_CODE.W2ru:
      return Buffer.from(path, "utf16le");
    case PLATFORM_CODE.Wi2k:
    case PLATFORM_CODE.Wi2r:
      return Buffer.from(path, "latin1");
    case PLATFORM_CODE.MacX:
      return Buffer.from(`${MACX_PREFIXES[0]}${encodeURI(path)}`, "utf8");
    default:
      throw new VhdError("E_INVALIDARG", `cannot write a parent locator of platform code "${code}"`, {
        parameter: "platformCode",
      });
  }
}

/**
 * The path a locator's data names, as stored (Windows separators stay `\`; a MacX URL becomes its decoded path),
 * trailing NUL units dropped. `null` for codes that hold no path (`Mac ` aliases) or unknown codes.
 */
export function decodeLocatorData(code: string, bytes: Uint8Array): string | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (code) {
    case PLATFORM_CODE.W2ku:
    case PLATFORM_CODE.W2ru:
      return stripTrailingNuls(buffer.toString("utf16le", 0, buffer.length - (buffer.length % 2)));
    case PLATFORM_CODE.Wi2k:
    case PLATFORM_CODE.Wi2r:
      return stripTrailingNuls(buffer.toString("latin1"));
    case PLATFORM_CODE.MacX: {
      const url = stripTrailingNuls(buffer.toString("utf8"));
      const prefix = MACX_PREFIXES.find((candidate) => url.startsWith(candidate)) ?? "";
      try {
        return decodeURI(url.slice(prefix.length));
      } catch {
        return url.slice(prefix.length);
      }
    }
    default:
      return null;
  }
}
