/**
 * Small JSON records the provider keeps (who holds a parent read-only, who owns a disk, remembered checksums): read
 * leniently, since a missing or garbled record must claim nothing, and replaced whole, since a crash must leave either
 * the old record or the new one. A record that must never overwrite another is created with storage/atomic-create.ts.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import type { ErrorParameter } from "../errors";
import { errnoCode, vhdErrorFromFs } from "./local/fs-error";

/**
 * The parsed JSON at `file`, or `null` when there is no file or it is not JSON.
 * @throws VhdError the table's file-system errors other than "not found", naming `parameter`.
 */
export async function readJsonRecord(file: string, parameter: ErrorParameter): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw vhdErrorFromFs(error, { parameter, path: file, action: "read the record" });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * Writes `value` as JSON into a new temporary file beside `target` (exclusive create, fsync) and returns its path.
 * @throws the file system's errors, as they come (replaceJsonRecord names what it was doing).
 */
async function writeJsonTemporary(target: string, value: unknown): Promise<string> {
  const temporary = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(value)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temporary;
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Replaces the record at `file` whole with `value` (a temporary file, fsync, rename), so a crash leaves the old record
 * or the new one and no temporary file stays behind.
 * @throws VhdError the table's file-system errors, naming `parameter` and `file`, saying `action`.
 */
export async function replaceJsonRecord(
  file: string,
  value: unknown,
  context: { parameter: ErrorParameter; action: string },
): Promise<void> {
  let temporary: string | undefined;
  try {
    temporary = await writeJsonTemporary(file, value);
    await rename(temporary, file);
  } catch (error) {
    if (temporary !== undefined) await unlink(temporary).catch(() => undefined);
    throw vhdErrorFromFs(error, { parameter: context.parameter, path: file, action: context.action });
  }
}
