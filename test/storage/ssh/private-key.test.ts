import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { checkKeyPassphrase, isEncryptedKey } from "../../../provider/storage/ssh/private-key";
import { expectVhdError } from "../conformance";

const dir = mkdtempSync(join(tmpdir(), "vhd-private-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh ed25519 private key from OpenSSH's ssh-keygen, encrypted when `passphrase` is not empty. */
function makeKey(name: string, passphrase: string): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "c", "-f", file]);
  return readFileSync(file, "utf8");
}

const noKeygen = existsSync("/usr/bin/ssh-keygen") ? undefined : "ssh-keygen is not installed (Debian package openssh-client)";

describe("private keys", () => {
  beforeEach((context) => {
    if (noKeygen !== undefined) context.skip(noKeygen);
  });

  it("tells a plain key from an encrypted one", () => {
    expect(isEncryptedKey(makeKey("plain", ""))).toBe(false);
    expect(isEncryptedKey(makeKey("locked", "correct horse"))).toBe(true);
  });

  it("accepts the passphrase that opens a key and refuses a wrong or missing one, naming the key file", async () => {
    const key = makeKey("locked2", "correct horse");
    const source = { parameter: "identity" as const, path: join(dir, "locked2"), howToGive: "set VHD_SSH_KEY_PASSPHRASE" };
    expect(() => checkKeyPassphrase(key, "correct horse", source)).not.toThrow();
    for (const passphrase of ["wrong", undefined]) {
      const error = await expectVhdError((async () => checkKeyPassphrase(key, passphrase, source))(), "ERROR_INVALID_PASSWORD");
      expect(error.message).not.toContain("wrong");
      expect(error).toMatchObject({ parameter: "identity", path: source.path });
    }
  });
});
