/** The sizes a new disk may have: virtual size and block size, checked before anything is written. */
import { VhdError, type ErrorParameter } from "../../errors";
import { DEFAULT_BLOCK_SIZE, MAX_VIRTUAL_SIZE, SECTOR_SIZE } from "../format";

/**
 * Block sizes we write: 512 KiB, 1 MiB and 2 MiB. The SPEC allows any power-of-two multiple of 512, but Virtual PC
 * and Virtual Server were only tested with 512 KiB and 2 MiB (SPEC, docs/vhd-format.md §5) and DiscUtils warns on others;
 * Hyper-V's `New-VHD` offers the same small set for VHD.
 */
export const BLOCK_SIZES = [512 * 1024, 1024 * 1024, DEFAULT_BLOCK_SIZE] as const;

const GIB = 1024 * 1024 * 1024;

/**
 * Checks a virtual size: a whole number of 512-byte sectors (refused otherwise, never rounded: a disk image must
 * have exactly the size asked for), above zero and at most 2040 GiB. `path` is the new disk, named in errors as the
 * input `pathParameter`.
 * @throws `ERROR_VHD_INVALID_SIZE` or `VM_E_IMAGE_SIZE_TOO_LARGE` (parameter `size`, with its value).
 */
export function checkVirtualSize(size: number, path: string, pathParameter: ErrorParameter): void {
  const context = { parameter: "size", value: size, path, pathParameter, details: { size } };
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
    throw new VhdError(
      "ERROR_VHD_INVALID_SIZE",
      `a disk size must be a positive whole number of 512-byte sectors; ${size} is not (round it up to ${
        Number.isFinite(size) && size > 0 ? Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE : SECTOR_SIZE
      }?)`,
      context,
    );
  }
  if (size > MAX_VIRTUAL_SIZE) {
    throw new VhdError(
      "VM_E_IMAGE_SIZE_TOO_LARGE",
      `${size} bytes (${(size / GIB).toFixed(2)} GiB) is above the VHD limit of 2040 GiB (${MAX_VIRTUAL_SIZE} bytes); use a smaller size or VHDX`,
      context,
    );
  }
}

/**
 * Checks a block size (one of {@link BLOCK_SIZES}); `undefined` means the 2 MiB default. `path` is the new disk,
 * named in errors as the input `pathParameter`.
 * @throws `ERROR_VHD_INVALID_BLOCK_SIZE` (parameter `blockSize`, with its value).
 */
export function checkBlockSize(blockSize: number | undefined, path: string, pathParameter: ErrorParameter): number {
  const chosen = blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!(BLOCK_SIZES as readonly number[]).includes(chosen)) {
    throw new VhdError(
      "ERROR_VHD_INVALID_BLOCK_SIZE",
      `a VHD block size must be 512 KiB, 1 MiB or 2 MiB (524288, 1048576 or 2097152 bytes); got ${blockSize}`,
      { parameter: "blockSize", value: chosen, path, pathParameter, details: { blockSize } },
    );
  }
  return chosen;
}
