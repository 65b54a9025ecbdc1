/**
 * Disks on a remote host.
 *
 * `connection` is the same object `@pulumi/command`'s `remote.Command` takes, plus host-key trust: the host key is
 * checked by default (here pinned with `hostKey`; `knownHostsPath` works too, `hostKeyChecking: false` opts out).
 * Both paths of a disk are on its connection's host. Ids and chains name the host (`ssh://user@host:port/path`);
 * the private key is read from a local file and kept a secret, so the state never holds it in plain text.
 *
 * Config: host, port (22), user, identityFile (a private key file on this machine), hostKey (the host's public-key
 * line or SHA256: fingerprint), folder (where the disks go on the host). `bash scripts/throwaway-sshd.sh` starts a
 * server on loopback and prints all of them.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk } from "pulumi-vhd";

const config = new pulumi.Config();
const host = config.require("host");
const port = config.getNumber("port") ?? 22;
const user = config.require("user");
const identityFile = config.require("identityFile");
const hostKey = config.require("hostKey");
const folder = config.require("folder");

const connection = { host, port, user, hostKey, privateKey: pulumi.secret(readFileSync(identityFile, "utf8")) };

const vhdPackage = "pulumi-vhd/package.json";
const vhdCli = path.join(path.dirname(require.resolve(vhdPackage)), (require(vhdPackage) as { bin: { vhd: string } }).bin.vhd);
const goldenPath = path.posix.join(folder, "golden.vhd");

// The golden image, made on the host by the vhd CLI through an ssh:// path.
const golden = new command.local.Command("golden-image", {
  create: `"$NODE" "$VHD" create "$URL" --size 64MiB --identity "$KEY" --host-key "$HOST_KEY" --quiet`,
  environment: { NODE: process.execPath, VHD: vhdCli, URL: `ssh://${user}@${host}:${port}${goldenPath}`, KEY: identityFile, HOST_KEY: hostKey },
});

const os = new DifferencingDisk(
  "os",
  { connection, parentPath: goldenPath, imagePath: path.posix.join(folder, "vms", "os.vhd") },
  { dependsOn: golden },
);
// Relative to the parent's folder, on the same host.
const app = new DifferencingDisk("app", { connection, parentPath: os.imagePath, imagePath: "app.vhd" });

export const osDisk = pulumi.output({ id: os.id, imagePath: os.imagePath, parentChecksum: os.parentChecksum });
export const appDisk = pulumi.output({ id: app.id, chain: app.chain, chainDepth: app.chainDepth });
