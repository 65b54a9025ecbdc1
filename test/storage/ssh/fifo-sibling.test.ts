/**
 * A named pipe in a remote disk's folder, against a real OpenSSH server on loopback. A delete looks at each other file
 * in the folder for a child of the disk (disk/child-disks.ts); OpenSSH's sftp-server opens a path without
 * `O_NONBLOCK`, so opening the pipe would stall the host's whole SFTP server until a writer came, and every later
 * request of the run with it (`ERROR_TIMEOUT` once the liveness check gave up). The folder's listing says what each
 * entry is, so the pipe is passed over without a request of its own: the scan still finds a real child, the delete
 * completes, and the pipe stays. The pipe is made through node:fs on the same files, as a person on the host would.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, symlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deleteDisk } from "../../../provider/ops/delete-disk";
import { remoteChain, useSshd, useSshFixture } from "./ssh-fixture";

const sshd = useSshd();
const fixture = useSshFixture(sshd);

describe("a named pipe beside a remote disk", () => {
  it("is passed over by the delete's look for children: a real child still refuses it, then both deletes complete", async () => {
    const fx = fixture();
    const { a, b, aUniqueId, bUniqueId } = await remoteChain(fx);
    const pipe = fx.join("pipe");
    execFileSync("mkfifo", [pipe]);

    await expect(deleteDisk({ imagePath: a, expectedUniqueId: aUniqueId, storage: fx.storage })).rejects.toMatchObject({
      code: "ERROR_SHARING_VIOLATION",
      details: { children: [b] },
    });
    expect(await deleteDisk({ imagePath: b, expectedUniqueId: bUniqueId, storage: fx.storage })).toEqual({ deleted: true });
    expect(await deleteDisk({ imagePath: a, expectedUniqueId: aUniqueId, storage: fx.storage })).toEqual({ deleted: true });
    expect(lstatSync(pipe).isFIFO()).toBe(true);
    expect((await fx.storage.list(fx.root)).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "golden.vhd", kind: "file" },
      { name: "pipe", kind: "other" },
    ]);
  });
  it("a link to a pipe is still opened (a known limit): the delete fails with ERROR_TIMEOUT and removes nothing", async () => {
    const fx = fixture();
    const { a, aUniqueId } = await remoteChain(fx);
    execFileSync("mkfifo", [fx.join("pipe")]);
    symlinkSync("pipe", fx.join("pipe-link"));
    // The stalled SFTP server answers nothing more, b's header included: the delete must not go on as if b were no
    // child of a (before, an unanswered sibling counted as none, and a went).
    await expect(deleteDisk({ imagePath: a, expectedUniqueId: aUniqueId, storage: fx.storage })).rejects.toMatchObject({
      code: "ERROR_TIMEOUT",
    });
    expect(existsSync(a)).toBe(true);
  });
});
