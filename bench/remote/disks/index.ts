/**
 * The DifferencingDisk side of `npm run bench:remote`: `count` disks off one golden image on a remote host, all through
 * one `connection` (config `connection`, JSON, with the private key from the secret config `privateKey`), into
 * `folder` on that host; `checksum` is the resource's input.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk } from "pulumi-vhd";

const config = new pulumi.Config();
const golden = config.require("golden");
const folder = config.require("folder");
const count = config.requireNumber("count");
const checksum = config.requireBoolean("checksum");
const connection = { ...config.requireObject<{ host: string; port: number; user: string; hostKey: string }>("connection"), privateKey: config.requireSecret("privateKey") };

export const children = Array.from({ length: count }, (_, index) => {
  const disk = new DifferencingDisk(`disk-${index}`, {
    connection,
    parentPath: golden,
    imagePath: path.posix.join(folder, `disk-${index}.vhd`),
    checksum,
  });
  return disk.imagePath;
});
