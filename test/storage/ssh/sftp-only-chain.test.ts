/**
 * Relinking a disk on a host that runs no commands (`ForceCommand internal-sftp`), where a fingerprint is SFTP's
 * (no device, no inode): set-parent's check that the new parent is not the child itself must not take every such
 * file for the same one (facts.ts sameFile), and still refuses the child's own path; nor merge's look for the
 * ancestor named as the destination.
 */
import { copyFileSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createDifferencingDisk } from "../../../provider/ops/create-differencing";
import { mergeDisk } from "../../../provider/ops/merge-disk";
import { setParent } from "../../../provider/ops/set-parent";
import { MIB, createBase } from "../../vhd/writer/disks";
import { useSshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd({ extraConfig: ["ForceCommand internal-sftp"] });
const fixture = useSshFixture(sshd);

describe("set-parent and merge on an SFTP-only account", () => {
  it("relinks a child to a moved copy of its parent", async () => {
    const fx = fixture();
    const golden = fx.join("golden.vhd");
    await createBase(golden, { size: 8 * MIB, type: "dynamic", blockSize: 512 * 1024 });
    const child = fx.join("child.vhd");
    await createDifferencingDisk({ imagePath: child, parentPath: golden, storage: fx.storage });
    const moved = fx.join("moved.vhd");
    copyFileSync(golden, moved);
    // Every fingerprint here is SFTP's, all alike: taken for the same file, the moved parent was "the child itself".
    await expect(setParent({ imagePath: child, parentPath: moved, storage: fx.storage })).resolves.toMatchObject({ disk: { parent: { resolvedPath: moved } } });
    // The child itself, by its path, is still refused.
    await expect(setParent({ imagePath: child, parentPath: child, storage: fx.storage })).rejects.toMatchObject({
      code: "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED",
    });
  });

  it("merges into the ancestor named, not the parent", async () => {
    const fx = fixture();
    // A base with a right footer checksum (a merge opens the chain strictly; the dfVFS fixture's is off).
    const [golden, a, b] = [fx.join("golden.vhd"), fx.join("a.vhd"), fx.join("b.vhd")];
    await createBase(golden, { size: 8 * MIB, type: "dynamic", blockSize: 512 * 1024 });
    await createDifferencingDisk({ imagePath: a, parentPath: golden, storage: fx.storage });
    await createDifferencingDisk({ imagePath: b, parentPath: a, storage: fx.storage });
    // All fingerprints alike, the parent (a) was taken for the destination (golden).
    const result = await mergeDisk({ imagePath: b, destinationPath: golden, storage: fx.storage });
    expect(result).toMatchObject({ destination: { path: golden }, merged: [b, a] });
    expect([existsSync(a), existsSync(b), existsSync(golden)]).toEqual([false, false, true]);
  });
});
