/**
 * The one mapping from SFTP status codes and ssh2 errors to the table. The real-server tests reach most rows; these
 * pin the rows a loopback server cannot produce on demand (DNS failures, unsupported extensions, lost channels).
 */
import { describe, expect, it } from "vitest";
import { isConnectionLoss, vhdErrorFromSsh } from "../../../provider/storage/ssh/ssh-errors";

const context = { hostLabel: "ssh://admin@hv1:2222", action: "open the file", path: "ssh://admin@hv1:2222/vms/a.vhd", parameter: "imagePath" };
const sftpError = (code: number, message: string): Error => Object.assign(new Error(message), { code });
const netError = (code: string): Error => Object.assign(new Error(`connect ${code} 10.0.0.5:22`), { code });

describe("ssh error mapping", () => {
  it.each([
    [sftpError(2, "No such file"), "ERROR_PATH_NOT_FOUND"],
    [sftpError(3, "Permission denied"), "ERROR_ACCESS_DENIED"],
    [sftpError(4, "Failure"), "DISP_E_EXCEPTION"],
    [sftpError(5, "Bad message"), "ERROR_INVALID_NAME"],
    [sftpError(7, "Connection lost"), "ERROR_NETNAME_DELETED"],
    [sftpError(8, "Operation unsupported"), "ERROR_NOT_SUPPORTED"],
    [new Error("Server does not support this extended request"), "ERROR_NOT_SUPPORTED"],
    [new Error("No response from server"), "ERROR_NETNAME_DELETED"],
    [netError("ECONNREFUSED"), "ERROR_CONNECTION_REFUSED"],
    [netError("ENOTFOUND"), "ERROR_HOST_UNREACHABLE"],
    [netError("EHOSTUNREACH"), "ERROR_HOST_UNREACHABLE"],
    [netError("ETIMEDOUT"), "ERROR_TIMEOUT"],
    [netError("ECONNRESET"), "ERROR_NETNAME_DELETED"],
    [Object.assign(new Error("Keepalive timeout"), { level: "client-timeout" }), "ERROR_TIMEOUT"],
    [Object.assign(new Error("All configured authentication methods failed"), { level: "client-authentication" }), "ERROR_LOGON_FAILURE"],
    [new Error("Cannot parse privateKey: Unsupported key format"), "E_INVALIDARG"],
    [new Error("something new"), "DISP_E_EXCEPTION"],
  ])("%s -> %s, naming the host and the file", (error, code) => {
    const mapped = vhdErrorFromSsh(error, context);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toContain("ssh://admin@hv1:2222");
    expect(mapped.message).toContain('imagePath "ssh://admin@hv1:2222/vms/a.vhd"');
  });

  it("a FAILURE the caller explained takes the caller's row", () => {
    const mapped = vhdErrorFromSsh(sftpError(4, "Failure"), {
      ...context,
      onFailure: { code: "ERROR_ALREADY_EXISTS", advice: "something is already there" },
    });
    expect(mapped.code).toBe("ERROR_ALREADY_EXISTS");
    expect(mapped.details).toMatchObject({ host: "ssh://admin@hv1:2222", remoteCode: 4 });
  });

  it("tells a lost connection from a failed request", () => {
    expect(isConnectionLoss(new Error("No response from server"))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", level: "client-socket" }))).toBe(true);
    expect(isConnectionLoss(sftpError(2, "No such file"))).toBe(false);
  });
});
