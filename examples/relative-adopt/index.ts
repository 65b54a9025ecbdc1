/**
 * Relative paths and `adopt`.
 *
 * A step made a base image and, by hand, a differencing disk off it (`legacy.vhd`), before Pulumi managed anything.
 * `adopt: true` takes that disk over (its parent must be this base, by path and unique id) instead of failing with
 * `ERROR_ALREADY_EXISTS`: dynamic resources cannot be imported, so this is how existing disks come under management.
 *
 * The paths follow CreateDifferencingVirtualHardDisk's rule: one may be relative, and it is relative to the other's
 * folder. `legacy.vhd` lies next to the base; `../base.vhd` is seen from `children/`.
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk } from "pulumi-vhd";

const folder = new pulumi.Config().get("folder") ?? path.join(__dirname, ".disks");
const basePath = path.join(folder, "base.vhd");

const vhdPackage = "pulumi-vhd/package.json";
const vhdCli = path.join(path.dirname(require.resolve(vhdPackage)), (require(vhdPackage) as { bin: { vhd: string } }).bin.vhd);

const existing = new command.local.Command("existing-disks", {
  create:
    `"$NODE" "$VHD" create "$BASE" --size 32MiB --quiet && ` +
    `"$NODE" "$VHD" create-differencing legacy.vhd "$BASE" --quiet`,
  delete: `rm -f "$BASE"`,
  environment: { NODE: process.execPath, VHD: vhdCli, BASE: basePath },
});
const base = existing.stdout.apply(() => basePath);

// imagePath relative to the parent's folder; the file exists already: adopted, not recreated.
const legacy = new DifferencingDisk("legacy", { parentPath: base, imagePath: "legacy.vhd", adopt: true });

// parentPath relative to the child's folder (children/ is created).
const fresh = new DifferencingDisk(
  "fresh",
  { imagePath: path.join(folder, "children", "fresh.vhd"), parentPath: "../base.vhd" },
  { dependsOn: existing },
);

// A child of the adopted disk, relative to it.
const stacked = new DifferencingDisk("stacked", { parentPath: legacy.imagePath, imagePath: "stacked.vhd" });

export const legacyDisk = pulumi.output({ imagePath: legacy.imagePath, adopted: legacy.adopted, uniqueId: legacy.uniqueId });
export const freshDisk = pulumi.output({ imagePath: fresh.imagePath, parentPath: fresh.parentPath });
export const stackedDisk = pulumi.output({ imagePath: stacked.imagePath, chain: stacked.chain, chainDepth: stacked.chainDepth });
