/**
 * Publishing where the server offers no hard links: with sftp-server's `-P hardlink` it stops advertising
 * hardlink@openssh.com (as servers other than OpenSSH do), so the adapter claims the name with O_EXCL and renames
 * over its claim. (The other refusal, link(2) failing with EPERM on a FAT volume, takes the same path; this machine
 * cannot mount one for sshd.)
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeAllSessions } from "../../../provider/storage/ssh/session-pool";
import { expectVhdError, type ConformanceFixture } from "../conformance";
import { sshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd({ sftpArgs: ["-P", "hardlink"] });

describe("ssh publishNoClobber without hard links", () => {
  let fx: ConformanceFixture | undefined;
  beforeEach((context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    fx = sshFixture(sshd.server());
  });
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
    await closeAllSessions();
  });
  const current = (): ConformanceFixture => {
    if (fx === undefined) throw new Error("no fixture: the test should have been skipped");
    return fx;
  };

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
    expect(await storage.pathFacts(target)).toEqual({ kind: "file", size: 5 });
    expect(await storage.list(current().root)).toEqual(["a.vhd"]);
    const second = await writeTemp(".b.tmp", "second!");
    await expectVhdError(storage.publishNoClobber(second, target), "ERROR_ALREADY_EXISTS");
    expect(await storage.pathFacts(target)).toEqual({ kind: "file", size: 5 });
    expect((await storage.pathFacts(second)).kind).toBe("file");
  });
});
