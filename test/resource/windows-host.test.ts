/**
 * A disk on a connection whose paths are Windows drive paths is on a Windows host (Win32-OpenSSH): the contract's
 * Windows path rules resolve and check its paths as Windows does, and its storage sends them in the SFTP drive form.
 * An explicit `pathRules: "posix"` wins. No network: every case here is decided before a connection is made (see
 * README, "Disks on a remote host", for what was not tried against a real Windows host).
 */
import { describe, expect, it } from "vitest";
import { resolveDiskPaths } from "../../provider/inputs/paths";
import { remoteFlavourOf, storageOf } from "../../provider/resource/disk-host";
import * as provider from "../../provider/resource/provider";
import type { ConnectionArgs } from "../../provider/storage/ssh/connection-args";

/** A host in TEST-NET-1 (RFC 5737), never dialled here; the host key pinned so check does not refuse it first. */
const connection: ConnectionArgs = { host: "192.0.2.1", user: "vhd", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };

describe("how a disk's host spells paths", () => {
  it("drive paths on a connection make a Windows host; POSIX paths, or an explicit pathRules \"posix\", a POSIX one", () => {
    expect(remoteFlavourOf({ connection, imagePath: "C:\\VMs\\web\\os.vhd", parentPath: "golden.vhd" })).toBe("win32");
    expect(remoteFlavourOf({ connection, imagePath: "os.vhd", parentPath: "D:/Images/golden.vhd", pathRules: "windows" })).toBe("win32");
    expect(remoteFlavourOf({ connection, imagePath: "/vms/os.vhd", parentPath: "/images/golden.vhd" })).toBe("posix");
    expect(remoteFlavourOf({ connection, imagePath: "C:\\VMs\\os.vhd", parentPath: "C:\\golden.vhd", pathRules: "posix" })).toBe("posix");
    expect(storageOf({ imagePath: "C:\\VMs\\os.vhd", parentPath: "C:\\golden.vhd" }).host).toBeUndefined();
  });

  it("a Windows host's storage names a drive path by its SFTP form in the ssh:// URL", () => {
    const storage = storageOf({ connection, imagePath: "C:\\VMs\\web\\os.vhd", parentPath: "..\\golden.vhd" });
    expect(storage.pathFlavour).toBe("win32");
    expect(storage.describe("C:\\VMs\\web\\os.vhd")).toBe("ssh://vhd@192.0.2.1:22/C:/VMs/web/os.vhd");
    expect(storage.describe("..\\golden.vhd")).toBe("..\\golden.vhd");
  });

  it("the Windows rules resolve a relative parent beside a drive path, on any OS", () => {
    expect(resolveDiskPaths({ imagePath: "C:\\VMs\\web\\os.vhd", parentPath: "..\\golden.vhd" }, { flavour: "win32" })).toEqual({
      imagePath: "C:\\VMs\\web\\os.vhd",
      parentPath: "C:\\VMs\\golden.vhd",
    });
    expect(resolveDiskPaths({ imagePath: "c:/VMs/os.vhd", parentPath: "C:\\Images\\golden.vhd" }, { flavour: "win32" }).imagePath).toBe("c:\\VMs\\os.vhd");
  });
});

describe("check of a disk on a Windows host", () => {
  const failureOf = async (imagePath: string, parentPath: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const result = await provider.check({}, { imagePath, parentPath, connection, ...extra });
    expect(result.failures, JSON.stringify(result.inputs)).toHaveLength(1);
    return result.failures?.[0]?.reason ?? "";
  };

  it("refuses a reserved device name, naming the file by its URL", async () => {
    const reason = await failureOf("C:\\VMs\\CON.vhd", "C:\\Images\\golden.vhd");
    expect(reason).toMatch(/^ERROR_INVALID_NAME \(0x8007007B\): imagePath "ssh:\/\/vhd@192\.0\.2\.1:22\/C:\/VMs\/CON\.vhd": /);
  });

  it("refuses a resolved path of 260 characters or more", async () => {
    const reason = await failureOf(`C:\\VMs\\${"d".repeat(250)}\\os.vhd`, "C:\\Images\\golden.vhd");
    expect(reason).toContain("ERROR_BUFFER_OVERFLOW (0x8007006F)");
  });

  it("with pathRules \"posix\" given, drive paths are relative POSIX paths and refused as such", async () => {
    const reason = await failureOf("C:\\VMs\\os.vhd", "C:\\Images\\golden.vhd", { pathRules: "posix" });
    expect(reason).toContain("ERROR_BAD_PATHNAME (0x800700A1)");
  });
});
