/**
 * The program every end-to-end test of `DifferencingDisk` drives. The stack config `disks` is a JSON list of disks;
 * a disk names its parent either as a path (`parentPath`) or as another disk of the list (`parent`), which links them
 * the way users do (`parentPath: other.imagePath`), so replacing one makes the other's input unknown in a preview.
 * A disk's `options` are its resource options (`ignoreChanges`, `replaceOnChanges`).
 * `gets` is a JSON list of `{ name, id, connection? }` read with `DifferencingDisk.get`. Every disk's outputs are exported (only
 * its path with `exportPathsOnly`). A path containing `{tenant}` takes the secret config `tenant` there, so the path
 * is a secret, as a tenant folder from `pulumi config set --secret` would make it. A disk's `connection` field
 * written `"{secret:NAME}"` (a private key, say) takes the secret config NAME, as a stack keeps its credentials.
 */
import * as pulumi from "@pulumi/pulumi";
import { DifferencingDisk, type DifferencingDiskArgs } from "pulumi-vhd";

interface DiskSpec extends Omit<DifferencingDiskArgs, "parentPath" | "imagePath"> {
  name: string;
  imagePath: string;
  parentPath?: string;
  parent?: string;
  options?: Pick<pulumi.CustomResourceOptions, "ignoreChanges" | "replaceOnChanges">;
}

const config = new pulumi.Config();
const specs = config.requireObject<DiskSpec[]>("disks");
const gets = config.getObject<{ name: string; id: string; connection?: DiskSpec["connection"] }[]>("gets") ?? [];

const tenant = config.getSecret("tenant");

function withTenant(path: string): pulumi.Input<string> {
  if (!path.includes("{tenant}")) return path;
  if (tenant === undefined) throw new Error(`${path}: set the secret config "tenant"`);
  return tenant.apply((folder) => path.replaceAll("{tenant}", folder));
}

/** The connection with each `"{secret:NAME}"` field replaced by the secret config NAME. */
function withSecretFields(connection: DiskSpec["connection"]): DiskSpec["connection"] {
  if (connection === undefined) return undefined;
  const fields = Object.entries(connection as Record<string, unknown>).map(([key, value]) => {
    const named = typeof value === "string" ? /^\{secret:(\w+)\}$/.exec(value) : null;
    return [key, named === null ? value : config.requireSecret(named[1]!)];
  });
  return Object.fromEntries(fields) as DiskSpec["connection"];
}

const disks = new Map<string, DifferencingDisk>();
for (const { name, parent, parentPath, imagePath, options, connection: given, ...args } of specs) {
  const connection = withSecretFields(given);
  const parentDisk = parent === undefined ? undefined : disks.get(parent);
  if (parent !== undefined && parentDisk === undefined) throw new Error(`disk ${name}: parent ${parent} must come first`);
  const resolvedParent = parentDisk?.imagePath ?? (parentPath === undefined ? undefined : withTenant(parentPath));
  if (resolvedParent === undefined) throw new Error(`disk ${name}: give parent or parentPath`);
  disks.set(name, new DifferencingDisk(name, { ...args, connection, imagePath: withTenant(imagePath), parentPath: resolvedParent }, options));
}
for (const { name, id, connection } of gets) {
  disks.set(name, DifferencingDisk.get(name, id, undefined, { connection: withSecretFields(connection) }));
}

// `npm run bench:stack` exports only the paths, as its qemu-img baseline does, so both print the same amount.
const pathsOnly = config.getBoolean("exportPathsOnly") ?? false;

export const paths = pathsOnly ? [...disks.values()].map((disk) => disk.imagePath) : undefined;
export const outputs = pathsOnly ? undefined : Object.fromEntries(
  [...disks].map(([name, disk]) => [
    name,
    pulumi.output({
      id: disk.id,
      imagePath: disk.imagePath,
      parentPath: disk.parentPath,
      uniqueId: disk.uniqueId,
      virtualSize: disk.virtualSize,
      blockSize: disk.blockSize,
      parentUniqueId: disk.parentUniqueId,
      parentTimeStamp: disk.parentTimeStamp,
      parentSize: disk.parentSize,
      parentDiskType: disk.parentDiskType,
      parentFingerprint: disk.parentFingerprint,
      parentChecksum: disk.parentChecksum,
      chain: disk.chain,
      chainDepth: disk.chainDepth,
      adopted: disk.adopted,
    }),
  ]),
);
