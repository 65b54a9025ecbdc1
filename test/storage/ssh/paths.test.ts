import { describe, expect, it } from "vitest";
import { SshStorage } from "../../../provider/storage/ssh/ssh-storage";
import { formatSshHost, formatSshUrl, isSshUrl, parseSshUrl } from "../../../provider/storage/ssh/ssh-url";
import { isWindowsDrivePath, sftpToWindowsPath, windowsToSftpPath } from "../../../provider/storage/ssh/windows-paths";
import { expectVhdError } from "../conformance";

describe("ssh:// URLs", () => {
  it("parses user, host, port and the literal path, IPv6 in brackets", () => {
    expect(parseSshUrl("ssh://admin@hv1.example:2222/vms/a b.vhd")).toEqual({ user: "admin", host: "hv1.example", port: 2222, path: "/vms/a b.vhd" });
    expect(parseSshUrl("ssh://hv1/vms/a.vhd")).toEqual({ host: "hv1", path: "/vms/a.vhd" });
    expect(parseSshUrl("ssh://root@[::1]:22/x")).toEqual({ user: "root", host: "::1", port: 22, path: "/x" });
    expect(parseSshUrl("ssh://[fe80::1%25eth0]/x").host).toBe("fe80::1%25eth0");
    expect(parseSshUrl("SSH://h/C:/VMs/a.vhd").path).toBe("/C:/VMs/a.vhd");
    expect(parseSshUrl("ssh://h/a%20b").path).toBe("/a%20b");
  });

  it("refuses what is not a remote file", async () => {
    for (const text of ["/vms/a.vhd", "ssh://host", "ssh://host/", "ssh://@host/x", "ssh://h:0/x", "ssh://h:70000/x", "ssh://h:x/y", "ssh://[::1/x"]) {
      await expectVhdError(Promise.resolve().then(() => parseSshUrl(text)), "ERROR_BAD_PATHNAME");
    }
    expect(isSshUrl("/vms/a.vhd")).toBe(false);
  });

  it("formats identities with user and port always, brackets for IPv6, and round-trips", () => {
    expect(formatSshHost("root", "::1", 22)).toBe("ssh://root@[::1]:22");
    const url = formatSshUrl("admin", "hv1", 2222, "/vms/a.vhd");
    expect(url).toBe("ssh://admin@hv1:2222/vms/a.vhd");
    expect(parseSshUrl(url)).toEqual({ user: "admin", host: "hv1", port: 2222, path: "/vms/a.vhd" });
  });
});

describe("Windows drive paths over Win32-OpenSSH SFTP", () => {
  it("maps drive paths to /C:/... and back", () => {
    expect(windowsToSftpPath("C:\\VMs\\a.vhd")).toBe("/C:/VMs/a.vhd");
    expect(windowsToSftpPath("c:/VMs//sub\\a.vhd")).toBe("/C:/VMs/sub/a.vhd");
    expect(windowsToSftpPath("D:\\")).toBe("/D:/");
    expect(windowsToSftpPath("D:")).toBe("/D:/");
    expect(windowsToSftpPath("E:\\VMs\\")).toBe("/E:/VMs");
    expect(sftpToWindowsPath("/C:/VMs/a.vhd")).toBe("C:\\VMs\\a.vhd");
    expect(sftpToWindowsPath("/d:/")).toBe("D:\\");
    expect(sftpToWindowsPath("/d:")).toBe("D:\\");
    for (const path of ["C:\\VMs\\a.vhd", "Z:\\a b\\c'd.vhd", "C:\\"]) expect(sftpToWindowsPath(windowsToSftpPath(path))).toBe(path);
  });

  it("refuses UNC, device, drive-relative and POSIX paths", async () => {
    for (const path of ["\\\\server\\share\\a.vhd", "\\\\?\\C:\\a.vhd", "C:a.vhd", "/vms/a.vhd", "VMs\\a.vhd"]) {
      expect(isWindowsDrivePath(path)).toBe(false);
      await expectVhdError(Promise.resolve().then(() => windowsToSftpPath(path)), "ERROR_BAD_PATHNAME");
    }
    await expectVhdError(Promise.resolve().then(() => sftpToWindowsPath("/vms/a.vhd")), "ERROR_BAD_PATHNAME");
  });
});

describe("SshStorage naming (no connection needed)", () => {
  it("names a Windows host's files by their SFTP form and refuses POSIX paths there", async () => {
    const storage = new SshStorage({ host: "hv1", user: "Administrator", hostKeyChecking: false }, { pathFlavour: "win32" });
    expect(storage.host).toBe("ssh://Administrator@hv1:22");
    expect(storage.sftpPath("C:\\VMs\\a.vhd")).toBe("/C:/VMs/a.vhd");
    expect(storage.url(storage.sftpPath("C:\\VMs\\a.vhd"))).toBe("ssh://Administrator@hv1:22/C:/VMs/a.vhd");
    await expectVhdError(Promise.resolve().then(() => storage.sftpPath("/vms/a.vhd", "imagePath")), "ERROR_BAD_PATHNAME");
  });

  it("defaults to @pulumi/command's user and port, and refuses relative paths on a POSIX host", async () => {
    const storage = new SshStorage({ host: "::1", hostKeyChecking: false });
    expect(storage.host).toBe("ssh://root@[::1]:22");
    expect(storage.pathFlavour).toBe("posix");
    expect(storage.url("/vms/a.vhd")).toBe("ssh://root@[::1]:22/vms/a.vhd");
    await expectVhdError(Promise.resolve().then(() => storage.sftpPath("vms/a.vhd")), "ERROR_BAD_PATHNAME");
  });
});
