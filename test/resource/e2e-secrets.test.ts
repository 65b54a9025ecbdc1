/**
 * End to end, real Pulumi CLI: a tenant folder from `pulumi config set --secret` in the disk paths. Every value derived
 * from a secret path (the paths, a relative child resolved against a secret parent, `chain`, the keys of `ancestors`,
 * the folders made, the stack outputs built from them) is a secret in the state, and the resource id (plain text by
 * design in Pulumi) is the disk's unique id instead of its path. Checked by walking `pulumi stack export` (without
 * `--show-secrets`) for the plaintext.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskStack } from "./e2e-support";

const TENANT = "tenant-7f3a9c";

let disks: DiskStack;

beforeAll(async () => {
  disks = await DiskStack.create("secrets", (golden, dir) => [
    { name: "a", parentPath: golden, imagePath: join(dir, "{tenant}", "a.vhd") },
    { name: "b", parent: "a", imagePath: "b.vhd" },
    { name: "plain", parentPath: golden, imagePath: join(dir, "plain", "plain.vhd") },
  ]);
  await disks.stack.runChecked(["config", "set", "--secret", "--stack", disks.stack.stackName, "tenant", TENANT]);
});

afterAll(async () => {
  await disks?.dispose();
});

/** Every string in a JSON value (object keys included) with the path to it. */
function strings(value: unknown, at = "$"): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${at}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [[`${at}{key}`, key] as [string, string], ...strings(item, `${at}.${key}`)]);
  }
  return [];
}

async function plaintextInState(): Promise<string[]> {
  const exported = await disks.stack.runChecked(["stack", "export", "--stack", disks.stack.stackName]);
  return strings(JSON.parse(exported.stdout)).filter(([, text]) => text.includes(TENANT)).map(([at]) => at);
}

describe("secret paths under the real CLI", () => {
  it("up makes the disks; the state holds the tenant folder nowhere in plain text", async () => {
    const up = await disks.stack.up();
    expect(up.code, up.output).toBe(0);
    expect(up.output).not.toContain(TENANT);
    expect(existsSync(join(disks.dir, TENANT, "b.vhd"))).toBe(true);
    expect(await plaintextInState()).toEqual([]);
    const outputs = await disks.stack.runChecked(["stack", "output", "--json", "--stack", disks.stack.stackName]);
    expect(outputs.stdout).not.toContain(TENANT);
  });

  it("the ids: a secret disk's is its unique id, a plain disk's its path; the values themselves are all there", async () => {
    const resources = (await disks.stack.exportStack()).deployment.resources ?? [];
    const byName = (name: string) => resources.find((resource) => resource.urn.endsWith(`::${name}`));
    const b = await disks.outputsOf("b");
    expect(byName("b")?.id).toBe(b.uniqueId);
    expect(byName("a")?.id).toBe((await disks.outputsOf("a")).uniqueId);
    expect(byName("plain")?.id).toBe(join(disks.dir, "plain", "plain.vhd"));
    expect(b).toMatchObject({ imagePath: join(disks.dir, TENANT, "b.vhd"), chain: [join(disks.dir, TENANT, "a.vhd"), disks.golden] });
    // `--show-secrets` shows a secret as its plaintext inside the secret's wire form.
    expect(byName("a")?.outputs?.createdFolders).toMatchObject({ plaintext: JSON.stringify([join(disks.dir, TENANT)]) });
  });

  it("preview and refresh find no changes, and refresh keeps the secrets", async () => {
    const preview = await disks.stack.preview(["--expect-no-changes"]);
    expect(preview.code, preview.output).toBe(0);
    const refresh = await disks.stack.refresh(["--expect-no-changes"]);
    expect(refresh.code, refresh.output).toBe(0);
    expect(await plaintextInState()).toEqual([]);
  });

  it("destroy deletes the disks by their secret paths, and the tenant folder it made", async () => {
    const destroy = await disks.stack.destroy();
    expect(destroy.code, destroy.output).toBe(0);
    expect(destroy.output).not.toContain(TENANT);
    expect(existsSync(join(disks.dir, TENANT))).toBe(false);
    expect(existsSync(join(disks.dir, "plain"))).toBe(false);
  });
});
