import { describe, expect, it } from "vitest";
import { OUTPUT_KEYS, RECORDED_SETTING_KEYS, stateDefaults } from "../../provider/resource/schema";
import { readSettings, recordedSettings } from "../../provider/resource/settings";

describe("the resource's one field table", () => {
  it("gives the settings a state records: every setting but blockSize, owner only when set", () => {
    const { settings } = readSettings({ blockSize: 2 * 1024 * 1024, owner: "urn:pulumi:s::p::vhd:DifferencingDisk::d" });
    expect(settings).toBeDefined();
    expect(recordedSettings(settings!)).toEqual({
      adopt: false,
      protectParent: false,
      pathRules: "windows",
      checksum: true,
      secretPaths: false,
      owner: "urn:pulumi:s::p::vhd:DifferencingDisk::d",
    });
    expect(recordedSettings(readSettings({}).settings!)).not.toHaveProperty("owner");
    expect([...RECORDED_SETTING_KEYS].sort()).toEqual(["adopt", "checksum", "owner", "pathRules", "protectParent", "secretPaths"]);
  });

  it("seeds as outputs what a program reads, not the class's own bookkeeping", () => {
    expect(OUTPUT_KEYS).toContain("parentChecksum");
    expect(OUTPUT_KEYS).toContain("createdFolders");
    expect(OUTPUT_KEYS).not.toContain("secretPaths");
    expect(OUTPUT_KEYS).not.toContain("owner");
    expect(OUTPUT_KEYS).not.toContain("relink");
  });

  it("hands each old state its own default arrays", () => {
    const first = stateDefaults();
    first.chain?.push("/x.vhd");
    expect(stateDefaults().chain).toEqual([]);
    expect(stateDefaults()).toMatchObject({ chainDepth: 0, parentModeBeforeProtect: null, ancestors: null });
  });
});
