/**
 * A host that runs no commands for us: an SFTP-only account (`ForceCommand internal-sftp`, common on shared hosts).
 * Everything still works over SFTP alone, with the documented weaker fallbacks: the checksum is streamed, the
 * fingerprint has whole-second times and no inode, and the file-system type is unknown.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useSshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd({ extraConfig: ["ForceCommand internal-sftp"] });

describe("ssh storage on an SFTP-only account", () => {
  const current = useSshFixture(sshd);

  it("streams the checksum over SFTP and gets the same digest", async () => {
    const storage = current().storage;
    const path = current().join("a.bin");
    const content = Buffer.alloc(2 * 1024 * 1024 + 5, 0x5a);
    const file = await storage.createExclusive(path);
    await file.write(0, content);
    await file.close();
    const progress: number[] = [];
    const result = await storage.sha256(path, { onProgress: ({ bytesDone }) => progress.push(bytesDone) });
    expect(result).toEqual({ sha256: createHash("sha256").update(content).digest("hex"), bytes: content.length });
    // Streaming reports after every batch; a hash on the host would report once.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(content.length);
  });

  it("falls back to SFTP attributes for the fingerprint, marked weak", async () => {
    const path = current().join("b.bin");
    const file = await current().storage.createExclusive(path);
    await file.write(0, new Uint8Array(10));
    await file.close();
    const fingerprint = await current().storage.fingerprint(path);
    expect(fingerprint).toMatchObject({ dev: "sftp", ino: "", size: 10, ctimeNs: "0" });
    expect(BigInt(fingerprint.mtimeNs) % 1_000_000_000n).toBe(0n);
  });

  it("reports free space and writability without commands; the type is unknown", async () => {
    const facts = await current().storage.volumeFacts(current().root);
    expect(facts.freeBytes).toBeGreaterThan(0);
    expect(facts).toMatchObject({ fsType: "unknown", readOnly: false, writable: true });
  });
});
