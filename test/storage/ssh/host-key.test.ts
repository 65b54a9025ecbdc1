import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { checkKnownHosts, hostKeyPolicy, parseHostKey, sha256Fingerprint } from "../../../provider/storage/ssh/host-key";
import { redact, vhdErrorFromSsh } from "../../../provider/storage/ssh/ssh-errors";
import { expectVhdError } from "../conformance";

const dir = mkdtempSync(join(tmpdir(), "vhd-hostkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh ed25519 key from ssh-keygen: its public line, blob and ssh-keygen's own fingerprint. */
function makeKey(name: string): { line: string; blob: Buffer; fingerprint: string } {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "c", "-f", file]);
  const line = readFileSync(`${file}.pub`, "utf8").trim();
  const fingerprint = /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-lf", `${file}.pub`]).toString())?.[1] ?? "";
  return { line, blob: Buffer.from(line.split(" ")[1] ?? "", "base64"), fingerprint };
}

/** The tests compare with OpenSSH's own ssh-keygen (fingerprints, hashed known_hosts). */
const noKeygen = existsSync("/usr/bin/ssh-keygen") ? undefined : "ssh-keygen is not installed (Debian package openssh-client)";

describe("host keys", () => {
  beforeEach((context) => {
    if (noKeygen !== undefined) context.skip(noKeygen);
  });

  it("computes ssh-keygen's fingerprint and reads key lines and fingerprints", () => {
    const key = makeKey("k1");
    expect(sha256Fingerprint(key.blob)).toBe(key.fingerprint);
    expect(parseHostKey(key.line)).toEqual({ fingerprint: key.fingerprint, keyType: "ssh-ed25519" });
    expect(parseHostKey(`  ${key.fingerprint}  `)).toEqual({ fingerprint: key.fingerprint });
  });

  it("refuses malformed keys and a type that does not match the blob", async () => {
    const key = makeKey("k2");
    for (const text of ["", "SHA256:short", "ssh-ed25519", "ssh-rsa " + key.line.split(" ")[1], "MD5:aa:bb"]) {
      await expectVhdError(Promise.resolve().then(() => parseHostKey(text)), "E_INVALIDARG");
    }
  });

  it("known_hosts: plain, [host]:port, patterns, negation, hashed entries, other keys and @revoked", () => {
    const key = makeKey("k3");
    const other = makeKey("k4");
    const [type, data] = key.line.split(" ");
    const [otherType, otherData] = other.line.split(" ");
    const check = (text: string, host: string, port: number): string => checkKnownHosts(text, host, port, key.fingerprint);
    expect(check(`hv1 ${type} ${data}`, "hv1", 22)).toBe("known");
    expect(check(`hv1 ${type} ${data}`, "hv1", 2222)).toBe("unknown");
    expect(check(`[hv1]:2222 ${type} ${data}`, "hv1", 2222)).toBe("known");
    expect(check(`*.lab,!bad.lab ${type} ${data}`, "HV1.lab", 22)).toBe("known");
    expect(check(`*.lab,!bad.lab ${type} ${data}`, "bad.lab", 22)).toBe("unknown");
    expect(check(`hv1 ${otherType} ${otherData}`, "hv1", 22)).toBe("changed");
    expect(check(`hv1 ${otherType} ${otherData}\nhv1 ${type} ${data}`, "hv1", 22)).toBe("known");
    expect(check(`@revoked * ${type} ${data}\nhv1 ${type} ${data}`, "hv1", 22)).toBe("revoked");
    expect(check(`@cert-authority * ${type} ${data}`, "hv1", 22)).toBe("unknown");
    const file = join(dir, "known_hosts");
    writeFileSync(file, `[10.0.0.5]:2200 ${type} ${data}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "ignore" });
    const hashed = readFileSync(file, "utf8");
    expect(hashed).toMatch(/^\|1\|/);
    expect(check(hashed, "10.0.0.5", 2200)).toBe("known");
    expect(check(hashed, "10.0.0.5", 22)).toBe("unknown");
  });

  it("refuses a connection that could not check its host unless opted out", async () => {
    await expectVhdError(Promise.resolve().then(() => hostKeyPolicy({}, "ssh://root@hv1:22")), "E_INVALIDARG");
    expect(hostKeyPolicy({ hostKeyChecking: false }, "ssh://root@hv1:22")).toEqual({ hostKeyChecking: false });
  });

  it("redacts secrets (whole and line by line) from mapped messages", () => {
    // Made at test time: no private key is committed, even a throwaway one.
    const key = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const bodyLine = key.split("\n")[1] ?? "";
    expect(bodyLine.length).toBeGreaterThan(20);
    expect(redact(`bad key ${bodyLine} and pw s3cret!`, [key, "s3cret!"])).toBe("bad key [redacted] and pw [redacted]");
    const error = vhdErrorFromSsh(Object.assign(new Error("auth failed for s3cret!"), { level: "client-authentication" }), {
      hostLabel: "ssh://root@hv1:22",
      action: "connect",
      secrets: ["s3cret!"],
    });
    expect(error.code).toBe("ERROR_LOGON_FAILURE");
    expect(JSON.stringify(error.toJSON()) + error.message).not.toContain("s3cret!");
    expect(error.message).toContain("ssh://root@hv1:22");
  });
});
