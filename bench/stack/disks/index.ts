/**
 * The DifferencingDisk side of `npm run bench:stack`: the program a user writes, shaped like the baseline (../qemu)
 * so that both sides pay the same for their own program. Config `goldens` is a JSON list of golden images; disk i
 * goes off golden i mod n, into `folder`; `checksum` is the resource's input.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk } from "pulumi-vhd";

const config = new pulumi.Config();
const goldens = config.requireObject<string[]>("goldens");
const folder = config.require("folder");
const count = config.requireNumber("count");
const checksum = config.requireBoolean("checksum");

export const children = Array.from({ length: count }, (_, index) => {
  const disk = new DifferencingDisk(`disk-${index}`, {
    parentPath: goldens[index % goldens.length] as string,
    imagePath: path.join(folder, `disk-${index}.vhd`),
    checksum,
  });
  return disk.imagePath;
});
