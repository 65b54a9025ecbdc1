/**
 * The provider names a remote disk's files as `ssh://user@host:port/abs/path` in every error, also those the
 * validation and the format layers raise with host paths, against a real OpenSSH server on loopback.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as provider from "../../provider/resource/provider";
import type { DiskInputs, DiskState } from "../../provider/resource/state";
import { connectionTo, useSshd } from "../storage/ssh/ssh-fixture";
import { makeGoldenImage } from "./e2e-support";

const sshd = useSshd();

/** `path` on the test server as the provider names it. */
const urlOf = (path: string): string => `ssh://${sshd.server().user}@${sshd.server().host}:${sshd.server().port}${path}`;

describe("provider errors for a disk on a remote host", () => {
  it("check names a parent that is not a VHD by its ssh:// URL", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const folder = join(sshd.server().root, "naming-check");
    mkdirSync(folder);
    writeFileSync(join(folder, "notes.txt"), "not a disk\n".repeat(100));
    const result = await provider.check({}, {
      imagePath: join(folder, "os.vhd"),
      parentPath: join(folder, "notes.txt"),
      connection: connectionTo(sshd.server()),
    });
    expect(result.failures).toHaveLength(1);
    expect(result.failures?.[0]?.reason).toContain(`parentPath ${JSON.stringify(urlOf(join(folder, "notes.txt")))}`);
  });

  it("create names a file already at imagePath by its ssh:// URL, and leaves it", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const folder = join(sshd.server().root, "naming-create");
    mkdirSync(folder);
    await makeGoldenImage(join(folder, "golden.vhd"));
    writeFileSync(join(folder, "os.vhd"), "mine\n");
    const checked = await provider.check({}, {
      imagePath: join(folder, "os.vhd"),
      parentPath: join(folder, "golden.vhd"),
      connection: connectionTo(sshd.server()),
    });
    expect(checked.failures ?? []).toEqual([]);
    // The engine hands create the credentials as plain values; check returns them in the secret wire form.
    const created = provider.create({ ...(checked.inputs as DiskInputs), connection: connectionTo(sshd.server()) });
    await expect(created).rejects.toThrow(`ERROR_ALREADY_EXISTS (0x800700B7): imagePath ${JSON.stringify(urlOf(join(folder, "os.vhd")))}: `);
    expect(readFileSync(join(folder, "os.vhd"), "utf8")).toBe("mine\n");
  });

  it("a disk another stack owns is refused on create and on delete, naming its ownership record with the host", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const folder = join(sshd.server().root, "naming-owner");
    mkdirSync(folder);
    await makeGoldenImage(join(folder, "golden.vhd"));
    const type = "p::pulumi-nodejs:dynamic/vhd:DifferencingDisk";
    const [dev, prod] = [`urn:pulumi:dev::${type}::web`, `urn:pulumi:prod::${type}::web`];
    const connection = connectionTo(sshd.server());
    const inputsFor = async (owner: string): Promise<DiskInputs> => {
      const checked = await provider.check({}, { imagePath: join(folder, "os.vhd"), parentPath: join(folder, "golden.vhd"), adopt: true, connection, owner });
      expect(checked.failures ?? []).toEqual([]);
      return { ...(checked.inputs as DiskInputs), connection };
    };
    const { outs } = await provider.create(await inputsFor(dev));
    const record = join(folder, ".os.vhd.pulumi-vhd-owner");
    expect(existsSync(record)).toBe(true);

    // The same resource in another stack of the project adopting it: the refusal a user meets most.
    await expect(provider.create(await inputsFor(prod))).rejects.toThrow(
      `ERROR_ALREADY_EXISTS (0x800700B7): imagePath ${JSON.stringify(urlOf(join(folder, "os.vhd")))}: the disk there is ` +
        `managed by another resource, ${dev} (ownership record ${urlOf(record)}); one disk has one owner: that is this ` +
        'resource in stack "dev"',
    );
    // prod's delete of a disk whose record names dev leaves it, naming the record the same way.
    const prodState = { ...(outs as DiskState), owner: prod, connection };
    await expect(provider.remove(urlOf(join(folder, "os.vhd")), prodState)).rejects.toThrow(
      `ERROR_SHARING_VIOLATION (0x80070020): imagePath ${JSON.stringify(urlOf(join(folder, "os.vhd")))}: the disk is ` +
        `managed by another resource, ${dev} (ownership record ${urlOf(record)}), so it is left in place`,
    );
    expect(JSON.parse(readFileSync(record, "utf8"))).toMatchObject({ owner: dev });
    await provider.remove(urlOf(join(folder, "os.vhd")), { ...(outs as DiskState), connection });
    expect(existsSync(join(folder, "os.vhd"))).toBe(false);
    expect(existsSync(record)).toBe(false);
  });
});
