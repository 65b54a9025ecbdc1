/**
 * End to end, real Pulumi CLI: every planned replace names its reason where a person (`preview --diff`) and a pipeline
 * (`preview --json`) look, on a fleet of 12 disks off two golden images. A golden-image change shows, per replaced
 * disk, the one fact that changed (old -> new checksum, of the parent or of the ancestor), and none of the file
 * internals (device, inode, ctime) that change on every touch.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiskSpec, DiskStack, type JsonStep, jsonSteps, makeGoldenImage, plannedSteps, sha256Of, vhdWrite } from "./e2e-support";

let disks: DiskStack;
let before: string;
let after: string;

/** Off golden 1: a1..a4, b1 and b2 off a1, c1 and c2 off b1 (8 disks). Off golden 2: d1..d4. */
function fleet(golden: string, dir: string): DiskSpec[] {
  const disk = (name: string, parent: Pick<DiskSpec, "parent" | "parentPath">): DiskSpec => ({
    name,
    imagePath: join(dir, "vms", `${name}.vhd`),
    ...parent,
  });
  const golden2 = join(dir, "golden2.vhd");
  return [
    ...["a1", "a2", "a3", "a4"].map((name) => disk(name, { parentPath: golden })),
    ...["b1", "b2"].map((name) => disk(name, { parent: "a1" })),
    ...["c1", "c2"].map((name) => disk(name, { parent: "b1" })),
    ...["d1", "d2", "d3", "d4"].map((name) => disk(name, { parentPath: golden2 })),
  ];
}
const CHILDREN = ["a1", "a2", "a3", "a4"];
const DESCENDANTS = ["b1", "b2", "c1", "c2"];

beforeAll(async () => {
  disks = await DiskStack.create("reasons", fleet);
  await makeGoldenImage(join(disks.dir, "golden2.vhd"));
  // Stack outputs of paths only, so the preview prints the disks' plans and nothing else.
  await disks.stack.runChecked(["config", "set", "--stack", disks.stack.stackName, "exportPathsOnly", "true"]);
  const up = await disks.stack.up();
  expect(up.code, up.output).toBe(0);
  before = sha256Of(disks.golden);
  await vhdWrite(disks.golden, 8192, Buffer.alloc(4096, 0x21));
  after = sha256Of(disks.golden);
});

afterAll(async () => {
  await disks?.dispose();
});

describe("the reasons of a golden-image change", () => {
  it("preview --diff shows per replaced disk the one fact that changed, and no file internals", async () => {
    const preview = await disks.stack.preview(["--diff"]);
    expect(preview.code, preview.output).toBe(0);
    // The size a person reads; reported, not asserted (239 lines before the reasons were trimmed, 117 on 2026-11-30).
    console.log(`preview --diff of a golden change, 12-disk fleet: ${preview.stdout.split("\n").length} lines`);
    const steps = plannedSteps(preview.stdout);
    expect(steps.map((step) => step.name).sort()).toEqual([...CHILDREN, ...DESCENDANTS].sort());
    for (const step of steps) {
      expect(step.operation).toBe("replace");
      expect(step.text).not.toMatch(/\b(dev|ino|ctimeNs|mtimeNs|fingerprint)\b/);
      const changed = step.text.split("\n").filter((line) => /^\s*~ /.test(line));
      // A disk replaced for its own reason shows that one changed input. A dependent the engine recreates shows all
      // its inputs (the engine gives the display no changed keys for it), the changed ancestor marked.
      if (CHILDREN.includes(step.name)) {
        expect(changed, step.text).toEqual([expect.stringMatching(new RegExp(`~ parentChecksum\\s*: "${before}" => "${after}"`))]);
      } else {
        expect(changed.at(-1), step.text).toMatch(new RegExp(`~ checksum\\s*: "${before}" => "${after}"`));
        expect(step.text).toContain(disks.golden);
      }
    }
  });

  it("preview --json names each replaced disk's own reason, down the chain golden <- a1 <- b1 <- c1, children deleted first", async () => {
    const preview = await disks.stack.preview(["--json", "--show-replacement-steps"]);
    expect(preview.code, preview.output).toBe(0);
    const steps = jsonSteps(preview.stdout);
    for (const name of CHILDREN) {
      const step = steps.get(name)?.find((candidate) => candidate.op === "replace");
      expect(step, name).toMatchObject({ replaceReasons: ["parentChecksum"], diffReasons: ["parentChecksum"] });
      expect(Object.keys(step?.detailedDiff ?? {}), name).toEqual(["parentChecksum"]);
    }
    // The engine deletes a dependent of a delete-before-replace early and recreates it without asking its provider
    // again: its logical replace step has no keys, its create-replacement step the keys of the provider's diff asked
    // with the dependent's parentPath unknown. That diff looks at the parent still recorded, so each disk says its
    // own reason: a disk above its parent changed (ancestors), besides its parent being replaced (the engine's order
    // of the two varies between runs).
    for (const name of DESCENDANTS) {
      const step = steps.get(name)?.find((candidate) => candidate.op === "create-replacement");
      expect([...(step?.replaceReasons ?? [])].sort(), name).toEqual(["ancestors", "parentPath"]);
    }
    for (const name of [...CHILDREN, ...DESCENDANTS]) {
      expect(steps.get(name)?.some((step) => (step.replaceReasons ?? []).length > 0), name).toBe(true);
    }
    for (const name of ["d1", "d2", "d3", "d4"]) expect(steps.has(name)).toBe(false);
    // The order of the deletes is still the cascade's: each disk before its parent.
    const order = JSON.parse(preview.stdout) as { steps: JsonStep[] };
    const deleted = order.steps.filter((step) => step.op === "delete-replaced").map((step) => /::(\w+)$/.exec(step.urn)?.[1]);
    for (const [child, parent] of [["c1", "b1"], ["b1", "a1"], ["b2", "a1"]]) {
      expect(deleted.indexOf(child), `${child} before ${parent}: ${deleted.join(" ")}`).toBeLessThan(deleted.indexOf(parent));
    }
  });
});
