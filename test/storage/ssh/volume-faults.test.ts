/**
 * The SSH adapter's atomic create on a remote volume that fails under it (a small tmpfs, test/support/tmpfs.ts, behind
 * a real OpenSSH server): the volume filling up in the middle of the write, and the mount turned read-only. Each
 * rejects with the table's error naming the host and the target (not the temporary file), and leaves nothing in the
 * folder: no file at the target, no temporary file. The validation in front of a create refuses both earlier
 * (test/cli/remote-volume-faults.test.ts); these are the faults it cannot see coming.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isVhdError } from "../../../provider/errors";
import { createFileAtomically } from "../../../provider/storage/atomic-create";
import { closeAllSessions } from "../../../provider/storage/ssh/session-pool";
import { SshStorage } from "../../../provider/storage/ssh/ssh-storage";
import { mountTmpfs, type TmpfsMount } from "../../support/tmpfs";
import { connectionTo, useSshd } from "./ssh-fixture";

const sshd = useSshd();
let volume: TmpfsMount | string = "sshd did not start";

beforeAll(() => {
  if (sshd.unavailable() === undefined) volume = mountTmpfs(join(sshd.server().root, "small"), 4 * 1024 * 1024);
});
afterAll(async () => {
  await closeAllSessions();
  if (typeof volume !== "string") volume.unmount();
});

/** Creates `name` in the small volume, writing `bytes` in 1 MiB pieces; returns the rejection. */
async function failedCreate(name: string, bytes: number): Promise<unknown> {
  const mount = volume as TmpfsMount;
  const storage = new SshStorage(connectionTo(sshd.server()));
  const piece = new Uint8Array(1024 * 1024).fill(0xab);
  const write = async (file: { write(position: number, data: Uint8Array): Promise<void> }): Promise<void> => {
    for (let offset = 0; offset < bytes; offset += piece.length) await file.write(offset, piece);
  };
  return createFileAtomically(join(mount.path, name), write, { storage }).then(
    () => new Error("the create succeeded"),
    (error: unknown) => error,
  );
}

describe("SshStorage atomic create on a remote volume that fails", () => {
  it("the volume fills up mid-write: ERROR_DISK_FULL naming the host and the target; no file, no temporary file", async (context) => {
    if (typeof volume === "string") return context.skip(sshd.unavailable() ?? volume);
    const server = sshd.server();
    const error = await failedCreate("big.vhd", 8 * 1024 * 1024);
    expect(isVhdError(error, "ERROR_DISK_FULL"), String(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("0x80070070");
    expect(message).toContain(`ssh://${server.user}@${server.host}:${server.port}${join(volume.path, "big.vhd")}`);
    expect(readdirSync(volume.path)).toEqual([]);
  });

  it("the mount is read-only: ERROR_INVALID_DRIVE naming the host and the target; nothing made", async (context) => {
    if (typeof volume === "string") return context.skip(sshd.unavailable() ?? volume);
    const server = sshd.server();
    volume.remount("ro");
    let error: unknown;
    try {
      error = await failedCreate("ro.vhd", 1024 * 1024);
    } finally {
      volume.remount("rw");
    }
    expect(isVhdError(error, "ERROR_INVALID_DRIVE"), String(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("0x8007000F");
    expect(message).toContain(`ssh://${server.user}@${server.host}:${server.port}${join(volume.path, "ro.vhd")}`);
    expect(readdirSync(volume.path)).toEqual([]);
  });
});
