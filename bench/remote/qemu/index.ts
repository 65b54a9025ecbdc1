/**
 * The baseline of `npm run bench:remote`: the same disks as the DifferencingDisk stack, each a `command.local.Command`
 * running `ssh host qemu-img create -f qcow2 -b <golden> -F vpc <child>` (qcow2 children: qemu-img cannot write VHD
 * children). Config `ssh` is the ssh command line's options and destination as a JSON list (key, port, known_hosts).
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const golden = config.require("golden");
const folder = config.require("folder");
const count = config.requireNumber("count");
const ssh = config.requireObject<string[]>("ssh").join(" ");

export const children = Array.from({ length: count }, (_, index) => {
  const child = path.posix.join(folder, `disk-${index}.qcow2`);
  const disk = new command.local.Command(`disk-${index}`, {
    create: `${ssh} qemu-img create -q -f qcow2 -b "$GOLDEN" -F vpc "$CHILD"`,
    delete: `${ssh} rm -f "$CHILD"`,
    environment: { GOLDEN: golden, CHILD: child },
  });
  return disk.stdout.apply(() => child);
});
