/**
 * The baseline of `npm run bench:stack`: the same disks as the DifferencingDisk stack, each made by a
 * `command.local.Command` running `qemu-img create -f qcow2 -b <golden> -F vpc <child>` (qcow2 children, because
 * qemu-img cannot write VHD children). Config `goldens` is a JSON list of golden images; disk i goes off golden i mod n,
 * as in the DifferencingDisk stacks.
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const goldens = config.requireObject<string[]>("goldens");
const folder = config.require("folder");
const count = config.requireNumber("count");

export const children = Array.from({ length: count }, (_, index) => {
  const child = path.join(folder, `disk-${index}.qcow2`);
  const disk = new command.local.Command(`disk-${index}`, {
    create: `qemu-img create -q -f qcow2 -b "$GOLDEN" -F vpc "$CHILD"`,
    delete: `rm -f "$CHILD"`,
    environment: { GOLDEN: goldens[index % goldens.length] as string, CHILD: child },
  });
  return disk.stdout.apply(() => child);
});
