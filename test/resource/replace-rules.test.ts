import { describe, expect, it } from "vitest";
import { REPLACE_RULES, planDiff } from "../../provider/resource/replace-rules";
import { type DiskInputs, type DiskState, UNKNOWN } from "../../provider/resource/state";

const fingerprint = { dev: "2049", ino: "77", size: 4096, mtimeNs: "1000", ctimeNs: "2000" };

const base = { uniqueId: "66666666-6666-6666-6666-666666666666", size: 8192, checksum: "d".repeat(64), fingerprint };
const ancestors = { "/images/base.vhd": base };

const recorded: DiskState = {
  imagePath: "/vms/web/os.vhd",
  parentPath: "/images/golden.vhd",
  uniqueId: "11111111-1111-1111-1111-111111111111",
  foundUniqueId: "11111111-1111-1111-1111-111111111111",
  virtualSize: 64 * 1024 * 1024,
  blockSize: 2 * 1024 * 1024,
  parentUniqueId: "22222222-2222-2222-2222-222222222222",
  parentTimeStamp: "2026-11-21T12:00:00.000Z",
  parentSize: 4096,
  parentDiskType: "dynamic",
  parentFingerprint: fingerprint,
  parentChecksum: "a".repeat(64),
  ancestors,
  chain: ["/images/golden.vhd", "/images/base.vhd"],
  chainDepth: 2,
  adopt: false,
  adopted: false,
  protectParent: false,
  parentModeBeforeProtect: null,
  pathRules: "windows",
  checksum: true,
  secretPaths: false,
  createdFolders: [],
};

const unchanged: DiskInputs = {
  imagePath: recorded.imagePath,
  parentPath: recorded.parentPath,
  adopt: false,
  protectParent: false,
  pathRules: "windows",
  checksum: true,
  secretPaths: false,
  parentUniqueId: recorded.parentUniqueId,
  parentSize: recorded.parentSize,
  parentChecksum: recorded.parentChecksum,
  ancestors,
};

const present = { imageExists: true };

describe("planDiff: replace matrix", () => {
  const replaceCases: [string, Partial<DiskInputs>, Partial<DiskState>, string[]][] = [
    ["imagePath changed", { imagePath: "/vms/web/other.vhd" }, {}, ["imagePath"]],
    ["imagePath unknown", { imagePath: UNKNOWN }, {}, ["imagePath"]],
    [
      "parentPath changed to another disk",
      { parentPath: "/images/golden-2.vhd", parentUniqueId: "5".repeat(8) + "-5555-5555-5555-555555555555" },
      {},
      ["parentPath", "parentUniqueId"],
    ],
    ["parentPath changed to the same disk with other content", { parentPath: "/images/golden-2.vhd", parentChecksum: "b".repeat(64) }, {}, ["parentPath", "parentChecksum"]],
    ["parentPath changed to the same disk with another size", { parentPath: "/images/golden-2.vhd", parentSize: 8192 }, {}, ["parentPath", "parentSize"]],
    ["parentPath unknown (parent being replaced)", { parentPath: UNKNOWN }, {}, ["parentPath"]],
    ["parent checksum changed (touch -r keeps size and mtime)", { parentChecksum: "b".repeat(64) }, {}, ["parentChecksum"]],
    ["parent checksum unknown", { parentChecksum: UNKNOWN }, {}, ["parentChecksum"]],
    ["parent unique id changed", { parentUniqueId: "33333333-3333-3333-3333-333333333333" }, {}, ["parentUniqueId"]],
    ["parent size changed", { parentSize: 8192 }, {}, ["parentSize"]],
    ["explicit block size differs", { blockSize: 512 * 1024 }, {}, ["blockSize"]],
    ["file replaced outside Pulumi (found by refresh)", {}, { foundUniqueId: "44444444-4444-4444-4444-444444444444" }, ["imagePath"]],
    [
      "relinked to another parent (found by refresh)",
      {},
      { parentPath: "/images/elsewhere.vhd", parentUniqueId: "5".repeat(8) + "-5555-5555-5555-555555555555" },
      ["parentPath", "parentUniqueId"],
    ],
    ["a disk above the parent changed content", { ancestors: { "/images/base.vhd": { ...base, checksum: "e".repeat(64) } } }, {}, ["ancestors"]],
    ["a disk above the parent is another disk", { ancestors: { "/images/base.vhd": { ...base, uniqueId: "7".repeat(8) + "-7777-7777-7777-777777777777" } } }, {}, ["ancestors"]],
    ["the chain above the parent is longer", { ancestors: { ...ancestors, "/images/other.vhd": { ...base, uniqueId: "8".repeat(8) + "-8888-8888-8888-888888888888" } } }, {}, ["ancestors"]],
    ["an unlinked parent checksum changed (a write into a differencing parent)", { parentChecksum: `sha256-unlinked:${"c".repeat(64)}` }, { parentChecksum: `sha256-unlinked:${"b".repeat(64)}` }, ["parentChecksum"]],
    ["a plain parent checksum no longer matches (check shows it plain)", { parentChecksum: "b".repeat(64) }, {}, ["parentChecksum"]],
    ["the chain above the parent is unknown", { ancestors: UNKNOWN as unknown as DiskInputs["ancestors"] }, {}, ["ancestors"]],
    [
      "parent path, id and checksum all changed",
      { parentPath: "/images/new.vhd", parentUniqueId: "5".repeat(8) + "-5555-5555-5555-555555555555", parentChecksum: "c".repeat(64) },
      {},
      ["parentPath", "parentUniqueId", "parentChecksum"],
    ],
  ];
  for (const [name, inputChange, stateChange, replaces] of replaceCases) {
    it(`replaces when ${name}`, () => {
      const diff = planDiff({ ...recorded, ...stateChange }, { ...unchanged, ...inputChange }, present);
      expect(diff.changes).toBe(true);
      expect(diff.replaces).toEqual(replaces);
      expect(diff.reasons).toHaveLength(replaces.length);
    });
  }

  it("replaces a disk whose file was deleted outside Pulumi, deleting first (same path)", () => {
    const diff = planDiff(recorded, unchanged, { imageExists: false });
    // Not a change of the inputs: the engine, diffing them, would see nothing to do.
    expect(diff).toMatchObject({ changes: true, replaces: ["imagePath"], deleteBeforeReplace: true, changesInInputs: false });
  });

  it("says whether every change is one of the inputs (which the engine then diffs itself)", () => {
    expect(planDiff(recorded, { ...unchanged, parentChecksum: "b".repeat(64) }, present).changesInInputs).toBe(true);
    expect(planDiff(recorded, { ...unchanged, protectParent: true }, present).changesInInputs).toBe(true);
    const foreign = { ...recorded, foundUniqueId: "44444444-4444-4444-4444-444444444444" };
    expect(planDiff(foreign, { ...unchanged, parentChecksum: "b".repeat(64) }, present).changesInInputs).toBe(false);
    expect(planDiff({ ...recorded, parentChecksum: null }, unchanged, present).changesInInputs).toBe(false);
  });

  it("deletes before replacing when the path stays or is unknown, creates first when it moves", () => {
    expect(planDiff(recorded, { ...unchanged, parentChecksum: "b".repeat(64) }, present).deleteBeforeReplace).toBe(true);
    expect(planDiff(recorded, { ...unchanged, imagePath: UNKNOWN }, present).deleteBeforeReplace).toBe(true);
    expect(planDiff(recorded, { ...unchanged, imagePath: "/vms/elsewhere.vhd" }, present).deleteBeforeReplace).toBe(false);
  });

  it("plans a replace when no file is at parentPath yet (made later in the run, or missing)", () => {
    const noParent = { ...unchanged, parentUniqueId: null, parentSize: null, parentChecksum: null, ancestors: null };
    const diff = planDiff(recorded, noParent, present);
    // Creating first: if the parent is really missing, create fails and the disk stays for a restored parent.
    expect(diff).toMatchObject({ changes: true, replaces: ["parentPath"], deleteBeforeReplace: false });
    expect(diff.reasons).toEqual([expect.stringMatching(/^parentPath: no file is at parentPath now: .*ERROR_PATH_NOT_FOUND/)]);
    // A new parentPath (a moved parent) rebuilds the disk empty anyway: delete first, so dependents are planned too.
    const moved = planDiff(recorded, { ...noParent, parentPath: "/images/moved.vhd" }, present);
    expect(moved).toMatchObject({ replaces: ["parentPath"], deleteBeforeReplace: true });
  });
});

describe("planDiff: no change, or an update in place", () => {
  it("reports nothing at all when nothing changed", () => {
    expect(planDiff(recorded, unchanged, present)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
      updatedSettings: [],
      changesInInputs: false,
      reasons: [],
      relink: false,
    });
  });

  it("relinks in place (an update, no replace) when the same parent is at a new path", () => {
    const moved = { ...unchanged, parentPath: "/images/2026/golden.vhd" };
    expect(planDiff(recorded, moved, present)).toMatchObject({ changes: true, replaces: [], relink: true, reasons: [] });
    // With the checksum off on either side, the unique id and size decide.
    const unchecked = { ...moved, checksum: false, parentChecksum: null };
    expect(planDiff(recorded, unchecked, present)).toMatchObject({ replaces: [], relink: true });
    // A refresh that found the disk linked elsewhere, to the same parent: relinked back to the program's path.
    expect(planDiff({ ...recorded, parentPath: "/images/elsewhere.vhd" }, unchanged, present)).toMatchObject({ relink: true });
    // The checksum not known yet (preview) is no proof of the same content.
    expect(planDiff(recorded, { ...moved, parentChecksum: UNKNOWN }, present)).toMatchObject({ relink: false, replaces: ["parentPath", "parentChecksum"] });
  });

  it("ignores the chain above the parent when the state predates it or a checksum is off", () => {
    expect(planDiff({ ...recorded, ancestors: null }, unchanged, present).changes).toBe(false);
    const off = { ...unchanged, ancestors: { "/images/base.vhd": { ...base, checksum: null } } };
    expect(planDiff(recorded, off, present).replaces).toEqual([]);
  });

  it("accepts any block size when none is asked for (the default, or an adopted disk's own)", () => {
    expect(planDiff({ ...recorded, blockSize: 512 * 1024 }, unchanged, present).changes).toBe(false);
  });

  it("does not compare checksums when either side has the checksum off", () => {
    const off = { ...unchanged, checksum: false, parentChecksum: null };
    expect(planDiff({ ...recorded, checksum: false, parentChecksum: null }, off, present).changes).toBe(false);
    expect(planDiff(recorded, off, present)).toMatchObject({ changes: true, replaces: [] });
  });

  it("updates in place when a setting changes, naming it", () => {
    for (const change of [{ protectParent: true }, { adopt: true }, { pathRules: "posix" as const }]) {
      const diff = planDiff(recorded, { ...unchanged, ...change }, present);
      expect(diff).toMatchObject({ changes: true, replaces: [], updatedSettings: Object.keys(change) });
    }
  });

  it("updates in place to record a checksum for a disk made with the checksum off", () => {
    const madeWithout = { ...recorded, checksum: true, parentChecksum: null };
    expect(planDiff(madeWithout, unchanged, present)).toMatchObject({ changes: true, replaces: [] });
  });

  it("updates in place to record an ancestor at a new path (matched by unique id), without a replace", () => {
    const moved = { ...unchanged, ancestors: { "/images/2026/base.vhd": base } };
    expect(planDiff(recorded, moved, present)).toMatchObject({ changes: true, replaces: [], changesInInputs: false, relink: false });
    // The same facts in another key order (the state sorts keys) are no change.
    const two = { "/images/b.vhd": base, "/images/a.vhd": { ...base, uniqueId: "8".repeat(8) + "-8888-8888-8888-888888888888" } };
    const reordered = Object.fromEntries(Object.entries(two).reverse());
    expect(planDiff({ ...recorded, ancestors: two }, { ...unchanged, ancestors: reordered }, present).changes).toBe(false);
    // Ancestors not observed (a chain broken above the parent, in a preview before the relink that mends it): no change.
    expect(planDiff(recorded, { ...unchanged, ancestors: null }, present).changes).toBe(false);
  });

  it("updates in place to record an unlinked checksum where state of an earlier version has a plain one", () => {
    // check() gives the unlinked kind only when the plain SHA-256 still matches the recorded one.
    const unlinked = `sha256-unlinked:${"f".repeat(64)}`;
    expect(planDiff(recorded, { ...unchanged, parentChecksum: unlinked }, present)).toMatchObject({ changes: true, replaces: [] });
    const ancestorsUnlinked = { "/images/base.vhd": { ...base, checksum: unlinked } };
    expect(planDiff(recorded, { ...unchanged, ancestors: ancestorsUnlinked }, present)).toMatchObject({ changes: true, replaces: [] });
    // The other way round is no upgrade: a recorded unlinked checksum against a plain one is a change.
    const state = { ...recorded, parentChecksum: unlinked };
    expect(planDiff(state, unchanged, present).replaces).toEqual(["parentChecksum"]);
  });

  it("names each rule's property as an input of the resource", () => {
    const inputKeys = new Set(Object.keys(unchanged).concat("blockSize", "connection"));
    for (const rule of REPLACE_RULES) expect(inputKeys.has(rule.property)).toBe(true);
  });
});
