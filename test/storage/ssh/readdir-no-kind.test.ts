/**
 * An SFTP server whose READDIR sends names without a permissions attribute (SFTP v3 makes every attribute optional;
 * some servers send none, or permission bits without the file type). A delete's look for children passes over what
 * the listing says is no file or link (disk/child-disks.ts), so an entry of unknown kind must not read as "other":
 * a child disk would be missed and its parent deleted. The real OpenSSH server on loopback always sends the type, so
 * the client's view of its READDIR answers is stripped of it (ssh2's SFTP client, the one the storage uses).
 */
import { existsSync } from "node:fs";
// @ts-expect-error ssh2 ships no types for its protocol module; its SFTP client class is what the storage calls.
import { SFTP } from "ssh2/lib/protocol/SFTP.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deleteDisk } from "../../../provider/ops/delete-disk";
import { remoteChain, useSshd, useSshFixture } from "./ssh-fixture";

const sshd = useSshd();
const fixture = useSshFixture(sshd);

type ReaddirCallback = (error: unknown, entries?: Array<{ attrs: { mode?: number } }>) => void;

/** Makes every READDIR answer carry `mode` (undefined: no permissions attribute) in place of the server's. */
function readdirModes(mode: number | undefined): void {
  const original = SFTP.prototype.readdir as (this: unknown, ...args: unknown[]) => unknown;
  vi.spyOn(SFTP.prototype, "readdir").mockImplementation(function (this: unknown, ...args: unknown[]) {
    const callback = args.pop() as ReaddirCallback;
    return original.call(this, ...args, (error: unknown, entries?: Array<{ attrs: { mode?: number } }>) => {
      for (const entry of entries ?? []) entry.attrs.mode = mode;
      callback(error, entries);
    });
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a READDIR that does not say what each entry is", () => {
  for (const [label, mode] of [
    ["no permissions attribute", undefined],
    ["permission bits without the file type", 0o644],
  ] as const) {
    it(`(${label}) still finds the child: the parent's delete is refused and the parent stays`, async () => {
      const fx = fixture();
      const { a, b, aUniqueId } = await remoteChain(fx);
      readdirModes(mode);

      await expect(deleteDisk({ imagePath: a, expectedUniqueId: aUniqueId, storage: fx.storage })).rejects.toMatchObject({
        code: "ERROR_SHARING_VIOLATION",
        details: { children: [b] },
      });
      expect(existsSync(a)).toBe(true);
      expect((await fx.storage.list(fx.root)).find(({ name }) => name === "b.vhd")).toEqual({ name: "b.vhd", kind: "file" });
    });
  }
});
