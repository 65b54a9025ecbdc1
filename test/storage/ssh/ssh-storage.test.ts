import { describe, expect, it } from "vitest";
import { describeStorageConformance, expectVhdError } from "../conformance";
import { sshFixture, useSshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd();

describeStorageConformance("ssh (OpenSSH on loopback)", async () => sshFixture(sshd.server()), sshd.unavailable);

describe("ssh storage beyond the conformance suite", () => {
  const current = useSshFixture(sshd);

  it("rmdir of a folder that holds entries is ERROR_DIR_NOT_EMPTY (SFTP says only FAILURE)", async () => {
    const { storage, join } = current();
    await storage.mkdir(join("full"));
    await storage.mkdir(join("full", "inner"));
    const error = await expectVhdError(storage.rmdir(join("full")), "ERROR_DIR_NOT_EMPTY");
    expect(error.message).toContain(`ssh://${sshd.server().user}@127.0.0.1:${sshd.server().port}${join("full")}`);
  });

  it("a strong fingerprint: device and inode from GNU stat, nanosecond times", async () => {
    const { storage, join } = current();
    const file = await storage.createExclusive(join("f.bin"));
    await file.close();
    const fingerprint = await storage.fingerprint(join("f.bin"));
    expect(fingerprint.dev).toMatch(/^\d+$/);
    expect(fingerprint.ino).toMatch(/^\d+$/);
    expect(fingerprint.ctimeNs).not.toBe("0");
  });
});
