/**
 * The demo stack (`npm run demo`). A pipeline step makes the golden image with the `vhd` CLI; `DifferencingDisk`s
 * build two siblings off it and a chain of depth 3. All disks live in `.demo-disks/` next to this file.
 *
 * Follow-up: change the golden image (`echo patch | npx vhd write .demo-disks/golden.vhd --offset 0`), then
 * `npm run preview` plans a replace of every disk below it, parent checksum old -> new.
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk } from "pulumi-vhd";

const disksFolder = new pulumi.Config().get("disksFolder") ?? path.join(__dirname, ".demo-disks");
const goldenPath = path.join(disksFolder, "golden.vhd");

/** The installed `vhd` CLI, run with this Node (so the step works without `vhd` on PATH). */
const vhdPackage = "pulumi-vhd/package.json";
const vhdCli = path.join(path.dirname(require.resolve(vhdPackage)), (require(vhdPackage) as { bin: { vhd: string } }).bin.vhd);

const golden = new command.local.Command("golden-image", {
  create: `"$NODE" "$VHD" create "$GOLDEN" --size 64MiB --quiet`,
  delete: `rm -f "$GOLDEN"`,
  environment: { NODE: process.execPath, VHD: vhdCli, GOLDEN: goldenPath },
});
// The path becomes known when the step has run, so the disks wait for the image (and a preview shows it as unknown).
const goldenImage = golden.stdout.apply(() => goldenPath);

const web = new DifferencingDisk("web", { parentPath: goldenImage, imagePath: path.join(disksFolder, "web", "os.vhd") });
const db = new DifferencingDisk("db", { parentPath: goldenImage, imagePath: path.join(disksFolder, "db", "os.vhd") });

const app = new DifferencingDisk("app", { parentPath: goldenImage, imagePath: path.join(disksFolder, "app", "base.vhd") });
const appPatch = new DifferencingDisk("app-patch", { parentPath: app.imagePath, imagePath: "patch.vhd" });
const appHotfix = new DifferencingDisk("app-hotfix", { parentPath: appPatch.imagePath, imagePath: "hotfix.vhd" });

function describe(disk: DifferencingDisk) {
  return pulumi.output({
    imagePath: disk.imagePath,
    uniqueId: disk.uniqueId,
    parentPath: disk.parentPath,
    parentChecksum: disk.parentChecksum,
    chainDepth: disk.chainDepth,
    chain: disk.chain,
  });
}

export const goldenImagePath = goldenImage;
export const disks = {
  web: describe(web),
  db: describe(db),
  app: describe(app),
  appPatch: describe(appPatch),
  appHotfix: describe(appHotfix),
};
