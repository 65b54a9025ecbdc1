import { VhdError, asVhdError, isVhdError, type ErrorName, type ErrorParameter } from "../../errors";

/** What the file-system call was about, for the error it raises. */
export interface FsErrorContext {
  /** The input the path came from (e.g. `imagePath`, `parentPath`). */
  parameter?: ErrorParameter;
  /** The path the failing call was given; none for a stream (stdout), which the parameter names. */
  path?: string;
  /** What we were doing, as a verb phrase: "create the temporary file", "read the parent". */
  action: string;
}

/**
 * Node's errno codes mapped to the error table, with the advice a person needs. Codes not listed become
 * `DISP_E_EXCEPTION` via {@link asVhdError}.
 */
const ERRNO_TO_ERROR: Readonly<Record<string, { code: ErrorName; advice: string }>> = {
  EEXIST: { code: "ERROR_ALREADY_EXISTS", advice: "a file already exists there; choose another path or remove it first" },
  ENOENT: { code: "ERROR_PATH_NOT_FOUND", advice: "the file or its folder does not exist" },
  ENOTDIR: { code: "ERROR_PATH_NOT_FOUND", advice: "a component of the path is not a folder" },
  EACCES: { code: "ERROR_ACCESS_DENIED", advice: "permission denied; check the file's and the folder's permissions" },
  EPERM: { code: "ERROR_ACCESS_DENIED", advice: "the operation is not permitted on this file" },
  EROFS: { code: "ERROR_INVALID_DRIVE", advice: "the file system is read-only" },
  ENOSPC: { code: "ERROR_DISK_FULL", advice: "the volume is full; free some space and retry" },
  EDQUOT: { code: "ERROR_DISK_FULL", advice: "the disk quota is exhausted; free some space and retry" },
  EFBIG: { code: "VM_E_FILE_TOO_LARGE_FOR_VOLUME", advice: "the file would exceed the volume's file-size limit" },
  ENAMETOOLONG: { code: "ERROR_BUFFER_OVERFLOW", advice: "the path is longer than the file system allows" },
  ELOOP: { code: "ERROR_INVALID_NAME", advice: "the path is a symbolic link (or loops through links); give the real file" },
  EISDIR: { code: "ERROR_INVALID_NAME", advice: "the path is a folder, not a file" },
  EBUSY: { code: "ERROR_SHARING_VIOLATION", advice: "the file is in use" },
};

/** The errno code (`ENOENT`, ...) of a Node fs error, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Turns a Node `fs` error into a {@link VhdError} from the one table, naming the path, the input and what we were doing.
 * A `VhdError` passes through unchanged.
 */
export function vhdErrorFromFs(error: unknown, context: FsErrorContext): VhdError {
  if (isVhdError(error)) return error;
  const errno = errnoCode(error);
  const mapped = errno === undefined ? undefined : ERRNO_TO_ERROR[errno];
  const init = { parameter: context.parameter, path: context.path };
  if (mapped === undefined) return asVhdError(error, init);
  return new VhdError(mapped.code, `could not ${context.action}: ${mapped.advice} (${errno})`, {
    ...init,
    cause: error,
    details: { errno },
  });
}
