/** The local adapter's file fingerprint: `stat` with nanosecond times (see `../facts.ts` for why these fields). */
import { stat } from "node:fs/promises";
import type { ErrorParameter } from "../../errors";
import type { FileFingerprint } from "../facts";
import { vhdErrorFromFs } from "./fs-error";

/**
 * The fingerprint of the file at `path` (following symbolic links, as opening the file would).
 * @throws VhdError from the errno mapping (`ERROR_PATH_NOT_FOUND`, `ERROR_ACCESS_DENIED`, ...), naming `parameter`.
 */
export async function fingerprintFile(path: string, parameter?: ErrorParameter): Promise<FileFingerprint> {
  const stats = await stat(path, { bigint: true }).catch((error: unknown) => {
    throw vhdErrorFromFs(error, { parameter, path, action: "look at the file" });
  });
  return {
    dev: stats.dev.toString(),
    ino: stats.ino.toString(),
    size: Number(stats.size),
    mtimeNs: stats.mtimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
  };
}
