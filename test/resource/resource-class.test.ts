/**
 * The resource class under Pulumi's mocks: its type token, the one shared (cached) provider text, the outputs it
 * declares, and `get` reading by id.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  id: string | undefined;
}
const registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs, id: args.id });
        return { id: args.id ?? `/vms/${args.name}.vhd`, state: { ...args.inputs, uniqueId: `id-${args.name}` } };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    true,
  );
});

describe("DifferencingDisk", () => {
  it("registers as pulumi-nodejs:dynamic/vhd:DifferencingDisk with one shared provider text", async () => {
    const { DifferencingDisk } = await import("../../provider/resource/differencing-disk");
    const web = new DifferencingDisk("web", { parentPath: "/images/golden.vhd", imagePath: "/vms/web.vhd" });
    const patch = new DifferencingDisk("patch", { parentPath: web.imagePath, imagePath: "patch.vhd", protectParent: true });
    const uniqueId = await new Promise((resolve) => patch.uniqueId.apply(resolve));
    expect(uniqueId).toBe("id-patch");
    const [first, second] = registered.filter((entry) => entry.name === "web" || entry.name === "patch");
    expect(first?.type).toBe("pulumi-nodejs:dynamic/vhd:DifferencingDisk");
    expect(typeof first?.inputs.__provider).toBe("string");
    expect(second?.inputs.__provider).toBe(first?.inputs.__provider);
    expect(second?.inputs).toMatchObject({ imagePath: "patch.vhd", parentPath: "/vms/web.vhd", protectParent: true });
  });

  it("get reads an existing disk by its id (the absolute path)", async () => {
    const { DifferencingDisk } = await import("../../provider/resource/differencing-disk");
    const found = DifferencingDisk.get("found", "/vms/found.vhd");
    const id = await new Promise((resolve) => found.id.apply(resolve));
    expect(id).toBe("/vms/found.vhd");
    expect(registered.find((entry) => entry.name === "found")?.id).toBe("/vms/found.vhd");
  });
});
