import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { checkKeyPassphrase, isEncryptedKey } from "../../../provider/storage/ssh/private-key";
import { expectVhdError } from "../conformance";

const dir = mkdtempSync(join(tmpdir(), "vhd-private-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh private key from OpenSSH's ssh-keygen (ed25519 unless `options` say), encrypted when `passphrase` is not empty. */
function makeKey(name: string, passphrase: string, options: string[] = ["-t", "ed25519"]): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", ...options, "-N", passphrase, "-C", "c", "-f", file]);
  return readFileSync(file, "utf8");
}

/** A copy of `key` that ends early: its first three lines and its closing line. */
function cutKey(key: string): string {
  const lines = key.trimEnd().split("\n");
  return [...lines.slice(0, 3), lines[lines.length - 1]].join("\n");
}

/** Where a test key came from, as the CLI's `--identity` names it. */
const source = (name: string): { parameter: "identity"; path: string } => ({ parameter: "identity", path: join(dir, name) });

const noKeygen = existsSync("/usr/bin/ssh-keygen") ? undefined : "ssh-keygen is not installed (Debian package openssh-client)";

describe("private keys", () => {
  beforeEach((context) => {
    if (noKeygen !== undefined) context.skip(noKeygen);
  });

  it("tells a plain key from an encrypted one", () => {
    expect(isEncryptedKey(makeKey("plain", ""), source("plain"))).toBe(false);
    expect(isEncryptedKey(makeKey("locked", "correct horse"), source("locked"))).toBe(true);
  });

  it("tells them apart in OpenSSH's format and PEM, RSA and ECDSA too, as ssh2's parser does", () => {
    const formats: Array<[string, string[]]> = [
      ["openssh-rsa", ["-t", "rsa", "-b", "2048"]],
      ["openssh-ecdsa", ["-t", "ecdsa"]],
      ["pem-rsa", ["-t", "rsa", "-b", "2048", "-m", "PEM"]],
      ["pem-ecdsa", ["-t", "ecdsa", "-m", "PEM"]],
    ];
    const { utils } = require("ssh2") as typeof import("ssh2");
    for (const [name, options] of formats) {
      for (const passphrase of ["", "correct horse"]) {
        const key = makeKey(`${name}-${passphrase.length}`, passphrase, options);
        const parsed = utils.parseKey(key);
        expect(parsed instanceof Error && /no passphrase given/i.test(parsed.message), name).toBe(passphrase !== "");
        expect(isEncryptedKey(key, source(name)), name).toBe(passphrase !== "");
      }
    }
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

  it("refuses a file that is no private key (not a key, a cut key, the public key), naming the file, never its text", async () => {
    const cut = cutKey(makeKey("whole", ""));
    const cases: Array<[string, string, RegExp]> = [
      ["notes.txt", "host: 192.0.2.7\nuser: backup\n", /not a private key in OpenSSH or PEM format/],
      ["cut", cut, /not a private key in OpenSSH or PEM format/],
      ["whole.pub", readFileSync(join(dir, "whole.pub"), "utf8"), /it is a public key \(the \.pub file\)/],
      // PEM's armour alone says nothing: a cut PEM key, and PKCS #8 (ssh-keygen -m PKCS8), which ssh2 does not read.
      ["cut-pem", cutKey(makeKey("whole-pem", "", ["-t", "rsa", "-b", "2048", "-m", "PEM"])), /not a private key in OpenSSH or PEM format/],
      ["pkcs8", makeKey("pkcs8", "", ["-t", "rsa", "-b", "2048", "-m", "PKCS8"]), /not a private key in OpenSSH or PEM format/],
    ];
    for (const [name, text, why] of cases) {
      const error = await expectVhdError((async () => isEncryptedKey(text, source(name)))(), "E_INVALIDARG");
      expect(error, name).toMatchObject({ parameter: "identity", path: join(dir, name) });
      expect(error.message, name).toContain(`identity ${JSON.stringify(join(dir, name))}: the private key file cannot be used: `);
      expect(error.message, name).toMatch(why);
      expect(error.message, name).toContain("give the private key file, as ssh -i takes");
      for (const line of text.split("\n").filter((line) => line.length >= 8 && !line.startsWith("-----"))) {
        expect(error.message, name).not.toContain(line);
      }
    }
  });
});
