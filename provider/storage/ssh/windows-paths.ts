/**
 * Windows drive paths and the form Win32-OpenSSH's sftp-server uses for them: `C:\VMs\a.vhd` is `/C:/VMs/a.vhd` on
 * the wire (curl/curl#5298; PowerShell/Win32-OpenSSH#1849). The provider keeps drive paths everywhere the user sees
 * them and converts only at the SFTP boundary.
 */
import { VhdError, type ErrorParameter } from "../../errors";

const DRIVE_PATH = /^([A-Za-z]):(?:[\\/]|$)/;
const SFTP_DRIVE_PATH = /^\/([A-Za-z]):(?:\/|$)/;

/** True for an absolute drive path: `C:\`, `C:\VMs\a.vhd`, `c:/VMs` (a drive-relative `C:a.vhd` is not). */
export function isWindowsDrivePath(path: string): boolean {
  return DRIVE_PATH.test(path);
}

/**
 * `C:\VMs\a.vhd` (either slash) to `/C:/VMs/a.vhd`; the drive letter is upper-cased and a trailing separator kept
 * only for the drive's root (`C:\` to `/C:/`).
 * @throws `ERROR_BAD_PATHNAME` for anything but an absolute drive path (UNC shares, `\\?\` paths, relative paths).
 */
export function windowsToSftpPath(path: string, parameter: ErrorParameter = "path"): string {
  const match = DRIVE_PATH.exec(path);
  if (match === null || match[1] === undefined) {
    throw new VhdError("ERROR_BAD_PATHNAME", "a path on a Windows host must be an absolute drive path such as C:\\VMs\\a.vhd", {
      parameter,
      path,
    });
  }
  const rest = path.slice(2).replace(/\\/g, "/").replace(/\/{2,}/g, "/");
  const trimmed = rest.length > 1 ? rest.replace(/\/$/, "") : "/";
  return `/${match[1].toUpperCase()}:${trimmed}`;
}

/**
 * `/C:/VMs/a.vhd` to `C:\VMs\a.vhd`: what a directory listing or realpath from Win32-OpenSSH maps back to.
 * @throws `ERROR_BAD_PATHNAME` when the text is not in the SFTP drive form.
 */
export function sftpToWindowsPath(path: string, parameter: ErrorParameter = "path"): string {
  const match = SFTP_DRIVE_PATH.exec(path);
  if (match === null || match[1] === undefined) {
    throw new VhdError("ERROR_BAD_PATHNAME", "not a Win32-OpenSSH SFTP drive path such as /C:/VMs/a.vhd", { parameter, path });
  }
  const rest = path.slice(3).replace(/\//g, "\\");
  return `${match[1].toUpperCase()}:${rest === "" ? "\\" : rest}`;
}
