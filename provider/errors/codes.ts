/**
 * The one table of error codes. Every error this project raises names a row here; no HRESULT is written anywhere else.
 *
 * Rows come from three sources:
 * - the error table of `CreateDifferencingVirtualHardDisk` (Virtual PC / Virtual Server), the behaviour contract;
 * - Windows' virtdisk codes (`winerror.h`, FACILITY 0x3A), used for what the engine finds wrong in a VHD file, so that
 *   a Hyper-V user sees the same names `New-VHD`/`Get-VHD` would report;
 * - a few plain Win32 codes wrapped as HRESULTs (`HRESULT_FROM_WIN32`) for cases the contract does not cover.
 */
export const ERROR_TABLE = {
  // --- CreateDifferencingVirtualHardDisk's own table (docs/contract.md) ---
  S_OK: { hresult: 0x00000000, summary: "success" },
  E_POINTER: { hresult: 0x80004003, summary: "a required parameter is missing" },
  ERROR_PATH_NOT_FOUND: { hresult: 0x80070003, summary: "the path cannot be found" },
  ERROR_INVALID_DRIVE: { hresult: 0x8007000f, summary: "the image path is on read-only media or a read-only file system" },
  ERROR_INVALID_NAME: { hresult: 0x8007007b, summary: "a path contains a character or name Windows does not allow" },
  ERROR_BAD_PATHNAME: { hresult: 0x800700a1, summary: "imagePath and parentPath are both empty or relative" },
  ERROR_BUFFER_OVERFLOW: { hresult: 0x8007006f, summary: "a path is 260 characters or longer" },
  ERROR_ALREADY_EXISTS: { hresult: 0x800700b7, summary: "the image file already exists" },
  ERROR_DISK_FULL: { hresult: 0x80070070, summary: "the volume has less than 8 MB free" },
  VM_E_IMAGE_SIZE_TOO_LARGE: { hresult: 0xa0040683, summary: "the size is above the VHD limit of 2040 GiB" },
  VM_E_IMAGE_SIZE_TOO_SMALL: { hresult: 0xa0040684, summary: "the size is below the 3 MB minimum" },
  VM_E_FILE_TOO_LARGE_FOR_VOLUME: {
    hresult: 0xa0040679,
    summary: "the volume's file-size limit is below the image's fully expanded size",
  },
  VM_E_APP_SHUTTING_DOWN: { hresult: 0xa0040209, summary: "the operation was cancelled" },
  /** Virtual PC only (no hardware virtualization). Creating a file never needs it: listed for completeness, never raised. */
  VM_E_HARDWARE_VIRTUALIZATION_DISABLED: {
    hresult: 0xa0040951,
    summary: "hardware virtualization is disabled (not applicable to creating disk files)",
  },
  DISP_E_EXCEPTION: { hresult: 0x80020009, summary: "an unexpected error occurred" },

  // --- Win32 codes as HRESULTs, for cases the contract does not name ---
  ERROR_ACCESS_DENIED: { hresult: 0x80070005, summary: "access to the file was denied" },
  ERROR_SHARING_VIOLATION: { hresult: 0x80070020, summary: "the file is in use by another disk" },
  E_INVALIDARG: { hresult: 0x80070057, summary: "an argument is invalid" },
  /** ERROR_DIR_NOT_EMPTY (145): the storage port's rmdir of a folder that still holds entries. */
  ERROR_DIR_NOT_EMPTY: { hresult: 0x80070091, summary: "the folder is not empty" },

  // --- a remote host over SSH (storage/ssh/): the Win32 codes Windows itself reports for the same network failure ---
  /** ERROR_CONNECTION_REFUSED (1225): nothing listens on the port (ECONNREFUSED). */
  ERROR_CONNECTION_REFUSED: { hresult: 0x800704c9, summary: "the remote host refused the network connection" },
  /** ERROR_HOST_UNREACHABLE (1232): the name does not resolve or no route leads to the host. */
  ERROR_HOST_UNREACHABLE: { hresult: 0x800704d0, summary: "the remote host cannot be reached" },
  /** ERROR_TIMEOUT (1460): dialing, the handshake or keepalives ran out of time. */
  ERROR_TIMEOUT: { hresult: 0x800705b4, summary: "the remote host did not answer in time" },
  /** ERROR_LOGON_FAILURE (1326): the server accepted none of the credentials given. */
  ERROR_LOGON_FAILURE: { hresult: 0x8007052e, summary: "the remote host refused the user name or credentials" },
  /** ERROR_INVALID_PASSWORD (86): the passphrase of an encrypted private key is wrong, or none was given. */
  ERROR_INVALID_PASSWORD: { hresult: 0x80070056, summary: "the passphrase of a private key is wrong or missing" },
  /**
   * SEC_E_WRONG_PRINCIPAL: what Windows reports when a server proves an identity other than the one expected; here
   * the host key differs from the pinned `hostKey` or the known_hosts entry (a changed key, or someone in between).
   */
  SEC_E_WRONG_PRINCIPAL: { hresult: 0x80090322, summary: "the remote host's key differs from the expected one" },
  /** SEC_E_UNTRUSTED_ROOT: the host key is valid but nothing vouches for it (no pin, no known_hosts entry). */
  SEC_E_UNTRUSTED_ROOT: { hresult: 0x80090325, summary: "the remote host's key is not known" },
  /** ERROR_NETNAME_DELETED (64): what Windows reports when a network file's connection drops mid-operation. */
  ERROR_NETNAME_DELETED: { hresult: 0x80070040, summary: "the connection to the remote host was lost" },
  /** ERROR_NOT_SUPPORTED (50): the remote server lacks an operation the provider needs (an SFTP extension). */
  ERROR_NOT_SUPPORTED: { hresult: 0x80070032, summary: "the remote host does not support a needed operation" },

  // --- virtdisk codes (winerror.h), for what the engine finds in VHD files ---
  ERROR_VHD_DRIVE_FOOTER_MISSING: { hresult: 0xc03a0001, summary: "the file has no VHD footer" },
  ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH: { hresult: 0xc03a0002, summary: "the VHD footer checksum is wrong" },
  ERROR_VHD_DRIVE_FOOTER_CORRUPT: { hresult: 0xc03a0003, summary: "the VHD footer is corrupt" },
  ERROR_VHD_FORMAT_UNKNOWN: { hresult: 0xc03a0004, summary: "the file is not in a known virtual disk format" },
  ERROR_VHD_FORMAT_UNSUPPORTED_VERSION: { hresult: 0xc03a0005, summary: "the VHD format version is not supported" },
  ERROR_VHD_SPARSE_HEADER_CHECKSUM_MISMATCH: { hresult: 0xc03a0006, summary: "the dynamic header checksum is wrong" },
  ERROR_VHD_SPARSE_HEADER_UNSUPPORTED_VERSION: {
    hresult: 0xc03a0007,
    summary: "the dynamic header version is not supported",
  },
  ERROR_VHD_SPARSE_HEADER_CORRUPT: { hresult: 0xc03a0008, summary: "the dynamic header is corrupt" },
  ERROR_VHD_BLOCK_ALLOCATION_FAILURE: { hresult: 0xc03a0009, summary: "a block could not be allocated" },
  ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT: { hresult: 0xc03a000a, summary: "the block allocation table is corrupt" },
  ERROR_VHD_INVALID_BLOCK_SIZE: { hresult: 0xc03a000b, summary: "the block size is invalid" },
  ERROR_VHD_PARENT_VHD_NOT_FOUND: { hresult: 0xc03a000d, summary: "the parent disk cannot be found" },
  ERROR_VHD_CHILD_PARENT_ID_MISMATCH: { hresult: 0xc03a000e, summary: "the parent's unique id does not match the child's record" },
  ERROR_VHD_METADATA_READ_FAILURE: { hresult: 0xc03a0010, summary: "the disk's metadata could not be read" },
  ERROR_VHD_INVALID_SIZE: { hresult: 0xc03a0012, summary: "the disk size is invalid" },
  ERROR_VHD_INVALID_FILE_SIZE: { hresult: 0xc03a0013, summary: "the file size does not fit the disk's layout" },
  ERROR_VIRTDISK_NOT_VIRTUAL_DISK: { hresult: 0xc03a0015, summary: "the file is not a virtual disk" },
  ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH: { hresult: 0xc03a0017, summary: "the child's size differs from its parent's" },
  ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED: { hresult: 0xc03a0018, summary: "the differencing chain loops" },
  ERROR_VHD_DIFFERENCING_CHAIN_ERROR_IN_PARENT: { hresult: 0xc03a0019, summary: "a disk further up the chain is invalid" },
  ERROR_VIRTUAL_DISK_LIMITATION: { hresult: 0xc03a001a, summary: "a virtual disk limit was exceeded" },
  ERROR_VHD_INVALID_TYPE: { hresult: 0xc03a001b, summary: "the disk type is not valid for this operation" },
} as const satisfies Record<string, { hresult: number; summary: string }>;

/** Symbolic name of an error, e.g. `ERROR_ALREADY_EXISTS`. */
export type ErrorName = keyof typeof ERROR_TABLE;

/** Formats an HRESULT the way Windows tools print it: `0x800700B7`. */
export function formatHresult(hresult: number): string {
  return `0x${(hresult >>> 0).toString(16).toUpperCase().padStart(8, "0")}`;
}

/** Every name in the table, in table order (for docs and tests). */
export const ERROR_NAMES = Object.keys(ERROR_TABLE) as ErrorName[];
