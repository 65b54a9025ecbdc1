/**
 * A parent deleted on the remote host between validation and the write (issue 13's fault list): the re-check right
 * before the child records its parent (ops/create-differencing.ts, `recheckParent`) fails with the contract's error,
 * naming the parameter and the parent, and the create leaves nothing: no child, no temporary file, no folder it made.
 * (The faces, the CLI and the resource, put the host in front of remote paths: test/cli/remote.test.ts,
 * test/resource/provider-remote-naming.test.ts.) A real OpenSSH server on loopback; the parent is removed through
 * node:fs on the same files, as a person on the host would.
 */
import { copyFileSync, existsSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../../provider/ops/create-differencing";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../../support/fixtures";
import { useSshd, useSshFixture } from "./ssh-fixture";

const sshd = useSshd();
const fixture = useSshFixture(sshd);

describe("a remote create whose parent is deleted between validation and write", () => {
  it("fails with ERROR_PATH_NOT_FOUND on parentPath and leaves nothing behind", async (ctx) => {
    skipWithoutFixtures(ctx, DFVFS_FIXTURES);
    const fx = fixture();
    const parentPath = fx.join("parent.vhd");
    copyFileSync(join(DFVFS_FIXTURES, "image.vhd"), parentPath);
    const imagePath = fx.join("new", "deeper", "child.vhd");
    let deleted = false;
    const error = await createDifferencingDisk({
      imagePath,
      parentPath,
      storage: fx.storage,
      // The first report comes after every rule passed and before anything is written: delete the parent then.
      onProgress: ({ bytesDone }) => {
        if (bytesDone === 0 && !deleted) {
          unlinkSync(parentPath);
          deleted = true;
        }
      },
    }).then(
      () => new Error("the create succeeded"),
      (failure: unknown) => failure,
    );
    expect(deleted).toBe(true);
    expect(error).toMatchObject({ code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" });
    expect(String((error as Error).message)).toContain(parentPath);
    expect(existsSync(join(fx.root, "new"))).toBe(false);
    expect(readdirSync(fx.root)).toEqual([]);
  });
});
