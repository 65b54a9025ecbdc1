import type { FileHandle } from "node:fs/promises";
import type { ErrorParameter } from "../../errors";
import { vhdErrorFromFs } from "./fs-error";

/** Names the file a failed write was for. */
export interface WriteContext {
  path: string;
  parameter?: ErrorParameter;
}

/**
 * Writes all of `bytes` at `position` (pwrite may write less than asked: above 2 GiB per call on Linux, or on a
 * full disk, where the retry then reports ENOSPC as `ERROR_DISK_FULL`).
 */
export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number, context: WriteContext): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done).catch((error: unknown) => {
      throw vhdErrorFromFs(error, { ...context, action: `write ${bytes.length} bytes at offset ${position}` });
    });
    done += bytesWritten;
  }
}
