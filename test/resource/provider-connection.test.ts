/**
 * The provider's `connection` handling that needs no server: a connection that could not check the host's key is a
 * check failure before any network traffic, without the credentials in it; credentials always go back to the engine
 * in the secret wire form, whatever else is secret.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as provider from "../../provider/resource/provider";
import { secretPathValues } from "../../provider/resource/secret-values";

const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
// Made at test time: no private key is committed, even a throwaway one. PKCS #1 PEM, a form ssh2 reads (it does not
// read PKCS #8, which check refuses as no usable key before it looks at the host key).
const KEY_TEXT = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

describe("a DifferencingDisk's connection in the provider", () => {
  it("check refuses a connection with neither hostKey nor knownHostsPath, naming the input, without the key", async () => {
    const result = await provider.check({}, {
      imagePath: "/vms/a.vhd",
      parentPath: "/images/golden.vhd",
      connection: { host: "192.0.2.1", user: "vhd", privateKey: KEY_TEXT },
    });
    expect(result.failures).toHaveLength(1);
    expect(result.failures?.[0]?.property).toBe("connection.hostKey");
    expect(result.failures?.[0]?.reason).toContain("E_INVALIDARG");
    expect(result.failures?.[0]?.reason).not.toContain("NOT-A-REAL-KEY");
  });

  it("returns password, privateKey and privateKeyPassword (also the proxy's) as secrets, paths secret or not", () => {
    for (const secretPaths of [false, true]) {
      const connection = { host: "h", password: "pw", privateKey: KEY_TEXT, proxy: { host: "bastion", privateKeyPassword: "pp" } };
      const marked = secretPathValues({ imagePath: "/vms/a.vhd", connection }, secretPaths) as unknown as Record<string, Record<string, unknown>>;
      const sent = marked.connection!;
      expect(sent.host).toBe("h");
      expect(sent.password).toEqual({ [SIGNATURE_KEY]: expect.any(String), value: "pw" });
      expect(sent.privateKey).toEqual({ [SIGNATURE_KEY]: expect.any(String), value: KEY_TEXT });
      expect((sent.proxy as Record<string, unknown>).privateKeyPassword).toEqual({ [SIGNATURE_KEY]: expect.any(String), value: "pp" });
      expect(connection.password).toBe("pw");
    }
  });

  it("read (get) of an ssh:// id refuses a missing connection or one to another host, before any connection", async () => {
    const id = "ssh://vhd@192.0.2.1:22/vms/a.vhd";
    await expect(provider.read(id, { imagePath: id })).rejects.toThrow(/^E_INVALIDARG \(0x80070057\): imagePath "ssh:\/\/vhd@192\.0\.2\.1:22\/vms\/a\.vhd": no connection was given/);
    const elsewhere = { host: "192.0.2.2", user: "vhd", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", privateKey: KEY_TEXT };
    const refused = provider.read(id, { imagePath: id, connection: elsewhere });
    await expect(refused).rejects.toThrow("the connection given reaches ssh://vhd@192.0.2.2:22");
    await expect(provider.read(id, { imagePath: id, connection: elsewhere })).rejects.not.toThrow(KEY_TEXT.split("\n")[1]!);
  });
});
