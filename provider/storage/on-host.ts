/**
 * A path on a storage's host as people and outputs read it: `ssh://user@host:port/abs/path` on a remote host (the
 * resource id, `chain`, `ancestors`, error messages), the bare path on this machine. So two hosts with the same
 * paths never collide in one stack, and an error raised above the storage (validation, the disk engine), which knows
 * only the host's own path, still names the host.
 */
import { isVhdError } from "../errors";
import type { Storage } from "./port";

/** `diskPath` on `storage`'s host; already qualified, or on this machine: unchanged. */
export function onHost(storage: Storage, diskPath: string): string {
  const { host } = storage;
  return host === undefined || diskPath.startsWith(`${host}/`) || diskPath.startsWith("ssh://") ? diskPath : `${host}${diskPath}`;
}

/** `error`, when it is a `VhdError` naming a bare path on `storage`'s remote host, as the same error naming it {@link onHost}. */
export function errorOnHost(error: unknown, storage: Storage | undefined): unknown {
  if (storage?.host === undefined || !isVhdError(error) || error.path === undefined) return error;
  const qualified = onHost(storage, error.path);
  return qualified === error.path ? error : error.atPath(qualified);
}
