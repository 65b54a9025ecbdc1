/**
 * Publishing where the server offers no hard links: with sftp-server's `-P hardlink` it stops advertising
 * hardlink@openssh.com (as servers other than OpenSSH do), so the adapter claims the name with O_EXCL and renames
 * over its claim. (The other refusal, link(2) failing with EPERM on a FAT volume, takes the same path; this machine
 * cannot mount one for sshd.)
 */
import { describe, expect, it } from "vitest";
import { expectVhdError } from "../conformance";
import { useSshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd({ sftpArgs: ["-P", "hardlink"] });

describe("ssh publishNoClobber without hard links", () => {
  const current = useSshFixture(sshd);

  async function writeTemp(name: string, text: string): Promise<string> {
    const path = current().join(name);
    const file = await current().storage.createExclusive(path);
    await file.write(0, new TextEncoder().encode(text));
    await file.close();
    return path;
  }

  it("publishes by claim and rename, and still never overwrites", async () => {
    const { storage, join } = current();
    const target = join("a.vhd");
    await storage.publishNoClobber(await writeTemp(".a.tmp", "first"), target);
    expect(await storage.pathFacts(target)).toMatchObject({ kind: "file", size: 5 });
    expect(await storage.list(current().root)).toEqual([{ name: "a.vhd", kind: "file" }]);
    const second = await writeTemp(".b.tmp", "second!");
    await expectVhdError(storage.publishNoClobber(second, target), "ERROR_ALREADY_EXISTS");
    expect(await storage.pathFacts(target)).toMatchObject({ kind: "file", size: 5 });
    expect((await storage.pathFacts(second)).kind).toBe("file");
  });
});
