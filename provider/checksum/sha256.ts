/** The SHA-256 of a file on a storage (`Storage.sha256`), as the checksum commands and the provider ask for it. */
import type { Storage } from "../storage/port";
import { localStorage } from "../storage/local/local-storage";
import type { Sha256Options, Sha256Result } from "../storage/sha256-stream";
import { throwIfCancelled } from "../support/cancellation";

export { SHA256_READ_SIZE, type ByteRange, type Sha256Options, type Sha256Result } from "../storage/sha256-stream";

/**
 * The SHA-256 of the file at `path` on `options.storage` (default: this machine), read with constant memory.
 *
 * Errors: `ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, `ERROR_INVALID_NAME` (a folder), ... from the table, and
 * `VM_E_APP_SHUTTING_DOWN` on cancel (checked before the file is opened, too).
 */
export async function sha256File(
  path: string,
  options: Sha256Options & { storage?: Storage } = {},
): Promise<Sha256Result> {
  const { storage = localStorage, ...rest } = options;
  throwIfCancelled(rest.signal, { parameter: rest.parameter ?? "parentPath", path });
  return storage.sha256(path, rest);
}
