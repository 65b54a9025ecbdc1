/**
 * `DifferencingDisk`: the Pulumi resource. A child VHD made off a parent ("golden image"), with the parent's identity
 * and SHA-256 recorded, so that `pulumi preview` plans a rebuild of every disk whose parent (or any ancestor) changed.
 */
import * as pulumi from "@pulumi/pulumi";
import { type PathRules, resolveDiskPaths } from "../inputs/paths";
import { startParentChecksum } from "../ops/observe-parent";
import { localStorage } from "../storage/local/local-storage";
import type { FileFingerprint } from "../storage/facts";
import type { ProxyConnectionArgs } from "../storage/ssh/connection-args";
import { OUTPUT_KEYS } from "./schema";
import { differencingDiskProvider } from "./shim";
import type { Ancestors, DiskState, DiskTypeName } from "./state";

/** The inputs of a {@link DifferencingDisk}. */
export interface DifferencingDiskArgs {
  /**
   * Path of the child disk file. May be relative to the folder of `parentPath` when that is absolute. The folder is
   * created if it does not exist. Changing it replaces the disk.
   */
  imagePath: pulumi.Input<string>;
  /**
   * Path of the parent disk (a base disk or another differencing disk, e.g. another `DifferencingDisk`'s
   * `imagePath`). May be relative to the folder of `imagePath` when that is absolute. Changing it, or a change of the
   * parent's content or identity, replaces the disk.
   */
  parentPath: pulumi.Input<string>;
  /**
   * Take over an existing differencing disk at `imagePath` whose parent is `parentPath` (same file, same unique id)
   * instead of failing with `ERROR_ALREADY_EXISTS`. This is how existing disks come under management, since dynamic
   * resources cannot be imported. Default `false`.
   */
  adopt?: pulumi.Input<boolean>;
  /**
   * Make the parent read-only while this disk exists, and make it writable again when the last disk that asked for
   * it (in any folder; a holds record beside the parent lists them) is deleted. Default `false`.
   */
  protectParent?: pulumi.Input<boolean>;
  /** Block size in bytes: 512 KiB, 1 MiB or 2 MiB. Default: 2 MiB, what every common VHD producer writes. */
  blockSize?: pulumi.Input<number>;
  /**
   * `"windows"` (default): paths must obey Windows naming rules, since VHDs are consumed by Windows hypervisors.
   * `"posix"`: turn those rules off, for disks that never leave a POSIX host.
   */
  pathRules?: pulumi.Input<PathRules>;
  /**
   * Record the parent's SHA-256 and plan a replace when it changes, including changes that keep the parent's size and
   * modification time. Default `true`; turning it off leaves only the unique id and size as change signals.
   */
  checksum?: pulumi.Input<boolean>;
  /**
   * The remote host both paths are on, reached over SSH; absent: this machine. Shaped exactly like
   * `@pulumi/command`'s `remote.ConnectionArgs` (host, port 22, user `root`, password, privateKey,
   * privateKeyPassword, agentSocketPath, hostKey, dialErrorLimit, perDialTimeout, proxy), plus `knownHostsPath` and
   * `hostKeyChecking`: unlike `remote.Connection`, the host key is checked by default, so give `hostKey` (a public-key
   * line or `SHA256:` fingerprint) or `knownHostsPath`, or opt out with `hostKeyChecking: false`. The whole object is
   * stored as a secret; the parent may be another `DifferencingDisk` on the same host. Changing it replaces the disk.
   */
  connection?: pulumi.Input<ConnectionInput>;
}

/** {@link DifferencingDiskArgs.connection}: storage/ssh/connection-args.ts `ConnectionArgs`, each field an input. */
export type ConnectionInput = InputFields<ProxyConnectionArgs> & { proxy?: pulumi.Input<InputFields<ProxyConnectionArgs>> };

/** The fields of `T` as Pulumi inputs, `host` required. */
type InputFields<T extends { host: string }> = { host: pulumi.Input<string> } & {
  [K in Exclude<keyof T, "host">]?: pulumi.Input<Exclude<T[K], undefined>>;
};

/** The outputs of a {@link DifferencingDisk}, as plain values (the recorded state). */
export type DifferencingDiskOutputs = DiskState;

/**
 * A differencing VHD 1.0 disk off a parent disk.
 *
 * ```ts
 * const web = new DifferencingDisk("web", { parentPath: "/images/golden.vhd", imagePath: "/vms/web/os.vhd" });
 * const patched = new DifferencingDisk("web-patched", { parentPath: web.imagePath, imagePath: "/vms/web/patch.vhd" });
 * ```
 *
 * The resource id is the disk's absolute path, or its unique id when `imagePath` or `parentPath` is a secret (Pulumi
 * stores ids in plain text); every output derived from a secret path is a secret. Errors carry the contract's name and
 * HRESULT (`ERROR_ALREADY_EXISTS (0x800700B7): imagePath "/vms/web/os.vhd": ...`).
 */
export class DifferencingDisk extends pulumi.dynamic.Resource {
  /** Absolute path of the disk. */
  declare public readonly imagePath: pulumi.Output<string>;
  /** Absolute path of the parent the disk is linked to. */
  declare public readonly parentPath: pulumi.Output<string>;
  /** The disk's unique id (GUID). */
  declare public readonly uniqueId: pulumi.Output<string>;
  /**
   * The unique id of the file found at `imagePath` by the last refresh (differs when it was replaced; `null` when the
   * file there is not a VHD).
   */
  declare public readonly foundUniqueId: pulumi.Output<string | null>;
  /** Size of the virtual disk in bytes. */
  declare public readonly virtualSize: pulumi.Output<number>;
  /** Block size in bytes. */
  declare public readonly blockSize: pulumi.Output<number>;
  /** The parent's unique id, as recorded in the disk. */
  declare public readonly parentUniqueId: pulumi.Output<string>;
  /** The parent's time stamp, as recorded in the disk (ISO 8601). */
  declare public readonly parentTimeStamp: pulumi.Output<string>;
  /** The parent's file size in bytes when the disk was made. */
  declare public readonly parentSize: pulumi.Output<number>;
  /** The parent's disk type. */
  declare public readonly parentDiskType: pulumi.Output<DiskTypeName>;
  /** The parent's file fingerprint (device, inode, size, mtime, ctime) when the disk was made. */
  declare public readonly parentFingerprint: pulumi.Output<FileFingerprint>;
  /** SHA-256 of the parent when the disk was made (`null` with `checksum: false`). */
  declare public readonly parentChecksum: pulumi.Output<string | null>;
  /** The disks above the parent (path -> unique id, size, SHA-256, fingerprint) when the disk was made. */
  declare public readonly ancestors: pulumi.Output<Ancestors | null>;
  /** Absolute paths of every ancestor, parent first, base last. */
  declare public readonly chain: pulumi.Output<string[]>;
  /** Number of ancestors. */
  declare public readonly chainDepth: pulumi.Output<number>;
  /** True when an existing disk was taken over (`adopt`). */
  declare public readonly adopted: pulumi.Output<boolean>;
  /** The parent's mode before `protectParent` made it read-only (`null`: not changed by this disk). */
  declare public readonly parentModeBeforeProtect: pulumi.Output<number | null>;
  /** Folders made for the disk (outermost first); removed again by delete when empty. */
  declare public readonly createdFolders: pulumi.Output<string[]>;

  /**
   * Declares a differencing disk.
   * @param name The unique name of the resource.
   * @param args The disk's inputs.
   * @param opts Resource options. `deleteBeforeReplace` is not needed: the provider asks for it when the path stays.
   */
  constructor(name: string, args: DifferencingDiskArgs, opts?: pulumi.CustomResourceOptions) {
    // The connection may hold a password or a private key: secret from the program on, so the state never has it plain.
    const connection = args.connection === undefined ? {} : { connection: pulumi.secret(args.connection) };
    const props = { ...withOutputKeys(args), ...connection, ...provenance(name, args, opts) };
    super(differencingDiskProvider, name, props, opts, "vhd", "DifferencingDisk");
    if (opts?.id === undefined) startChecksumEarly(args);
  }

  /**
   * Reads an existing disk into the program without managing it (it owns nothing: `destroy` leaves the disk).
   * @param name The unique name of the resulting resource.
   * @param id The disk's absolute path (the id of a `DifferencingDisk` whose paths are not secret; for a disk with
   *   secret paths, whose id is its unique id, give its path as a secret: `pulumi.secret(path)`). A disk on a remote
   *   host by its id, `ssh://user@host:port/abs/path`, with `lookup.connection` to reach it (same user, host and port).
   * @param opts Resource options.
   * @param lookup `connection`: how to reach the host of an `ssh://` id, as {@link DifferencingDiskArgs.connection}.
   * @throws (at `pulumi up`) `E_INVALIDARG` for an `ssh://` id without a connection, or naming another host.
   */
  static get(
    name: string,
    id: pulumi.Input<pulumi.ID>,
    opts?: pulumi.CustomResourceOptions,
    lookup: { connection?: pulumi.Input<ConnectionInput> } = {},
  ): DifferencingDisk {
    const connection = lookup.connection === undefined ? {} : { connection: lookup.connection };
    return new DifferencingDisk(name, { imagePath: id, parentPath: pulumi.output(id), ...connection }, { ...opts, id });
  }
}

/** The type token the engine gives a `DifferencingDisk` (`pulumi-nodejs:dynamic/<module>:<type>`). */
const TYPE_TOKEN = "pulumi-nodejs:dynamic/vhd:DifferencingDisk";

/**
 * What only the program knows and the provider needs: whether a path is secret (the engine strips secrets before the
 * provider sees them; see `DiskSettings.secretPaths`), and the resource's URN, which owns the disk (`owner`; none for
 * a `get`).
 */
function provenance(
  name: string,
  args: DifferencingDiskArgs,
  opts: pulumi.CustomResourceOptions | undefined,
): { secretPaths: pulumi.Output<boolean>; owner?: pulumi.Output<string> } {
  const secrets = [args.imagePath, args.parentPath].map((input) => pulumi.isSecret(pulumi.output(input)));
  const secretPaths = pulumi.output(Promise.all(secrets).then((flags) => flags.includes(true)));
  // A `get` (an id given) reads a disk without managing it: it owns nothing, so its read claims nothing.
  if (opts?.id !== undefined) return { secretPaths };
  return { secretPaths, owner: pulumi.createUrn(name, TYPE_TOKEN, opts?.parent) };
}

/**
 * Starts the parent's checksum in the program (ops/observe-parent.ts `startParentChecksum`) for a disk declared with
 * plain paths on this machine and checksum on: the provider's first `check` then finds it done or under way instead of
 * starting it after the plugin's start-up (issue 11). Anything else (outputs, a remote host, paths the rules refuse) is
 * left to `check`, which reports what is wrong.
 */
function startChecksumEarly(args: DifferencingDiskArgs): void {
  const { imagePath, parentPath, pathRules, checksum } = args;
  if (typeof imagePath !== "string" || typeof parentPath !== "string" || args.connection !== undefined) return;
  if (!(checksum === undefined || checksum === true) || !(pathRules === undefined || typeof pathRules === "string")) return;
  let resolved: string;
  try {
    resolved = resolveDiskPaths({ imagePath, parentPath }, { pathRules }).parentPath;
  } catch {
    return;
  }
  startParentChecksum(resolved, localStorage);
}

/** The inputs with every output key seeded as `undefined`, so the engine fills it (schema.ts lists them). */
function withOutputKeys(args: DifferencingDiskArgs): Record<string, unknown> {
  const props: Record<string, unknown> = Object.fromEntries(OUTPUT_KEYS.map((key) => [key, undefined]));
  return { ...props, ...args };
}
