/**
 * Small JSON records the provider keeps (who holds a parent read-only, who owns a disk, remembered checksums): read
 * leniently, since a missing or garbled record must claim nothing, and replaced whole, since a crash must leave either
 * the old record or the new one. A record that must never overwrite another is created with atomic-create.ts.
 */
import { randomBytes } from "node:crypto";
import type { ErrorParameter } from "../errors";
import { isNotFound } from "./facts";
import type { RandomAccessFile, Storage } from "./port";

/**
 * The parsed JSON at `file` on `storage`, or `null` when there is no file or it is not JSON.
 * @throws VhdError the storage's errors other than "not found", naming `parameter`.
 */
export async function readJsonRecord(storage: Storage, file: string, parameter: ErrorParameter): Promise<unknown> {
  let text: string;
  try {
    const opened = await storage.open(file, { parameter });
    try {
      text = new TextDecoder().decode(await opened.read(0, opened.size));
    } finally {
      await opened.close();
    }
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * Replaces the record at `file` whole with `value` (a temporary file beside it, sync, rename over), so a crash leaves
 * the old record or the new one and no temporary file stays behind.
 * @throws VhdError the storage's errors, naming `parameter` and `file`.
 */
export async function replaceJsonRecord(
  storage: Storage,
  file: string,
  value: unknown,
  context: { parameter: ErrorParameter },
): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  let opened: RandomAccessFile | undefined;
  try {
    opened = await storage.createExclusive(temporary, { parameter: context.parameter });
    await opened.write(0, new TextEncoder().encode(`${JSON.stringify(value)}\n`));
    await opened.sync();
    await opened.close();
    opened = undefined;
    await storage.replace(temporary, file, context.parameter);
  } catch (error) {
    await opened?.close();
    await storage.unlink(temporary).catch(() => undefined);
    throw error;
  }
}
