/**
 * The provider object Pulumi serializes into the state (`__provider`). It is deliberately a thin shim: every method
 * loads the implementation from the installed `pulumi-vhd` package, by name, when it runs in the provider process.
 *
 * Why: the engine runs `destroy` and `refresh` with the provider text stored in the state, so anything captured here
 * would be frozen at the version that created the resource, and native objects (fs handles, hashes, promisified
 * functions) cannot be serialized at all (pulumi-dynamic-providers.md, "Known failures"). `require` is never captured
 * by the serializer; it is resolved from the provider's working directory, the project folder.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DiskInputs, DiskState } from "./state";

type Implementation = typeof import("./provider");

/**
 * The implementation, as installed where the provider runs. Missing (a project without `pulumi-vhd` in its
 * node_modules, e.g. a `destroy` run from another checkout), it fails with one line saying so and what to do, not a
 * module-not-found stack trace.
 */
function implementation(): Implementation {
  try {
    return require("pulumi-vhd/dist/resource/provider") as Implementation;
  } catch (error) {
    const cause = error instanceof Error ? error.message.split("\n")[0] : String(error);
    const failure = new Error(
      `the DifferencingDisk provider cannot load the package pulumi-vhd from ${process.cwd()} (${cause}); install it ` +
        "in the Pulumi project (`npm install pulumi-vhd`) and run the command again",
    );
    // The provider server prints a failure as `${error}: ${error.stack}`: this makes that one line.
    failure.stack = failure.message;
    failure.toString = () => "pulumi-vhd";
    throw failure;
  }
}

/**
 * The one shared provider instance of {@link DifferencingDisk}: Pulumi caches serialization per provider object, so
 * sharing it serializes the shim once per program, however many disks it declares.
 *
 * The SDK types what the engine sends and what it gets back with one type; they differ here. The engine strips secrets
 * before every call, so the methods receive plain `DiskInputs` / `DiskState`, and they return path-bearing values in
 * the engine's secret form when the paths are secret (secret-values.ts). The casts below say that.
 */
export const differencingDiskProvider: pulumi.dynamic.ResourceProvider<DiskInputs, DiskState> = {
  async check(olds, news) {
    return (await implementation().check(olds, news)) as pulumi.dynamic.CheckResult<DiskInputs>;
  },
  async diff(id, olds, news) {
    return implementation().diff(id, olds, news);
  },
  async create(inputs) {
    return (await implementation().create(inputs)) as pulumi.dynamic.CreateResult<DiskState>;
  },
  async read(id, props) {
    // `ReadResult.inputs` is typed as outputs, too; ours are the inputs' shape, which the engine expects.
    const result: pulumi.dynamic.ReadResult = await implementation().read(id, props ?? {});
    return result;
  },
  async update(id, olds, news) {
    return (await implementation().update(id, olds, news)) as pulumi.dynamic.UpdateResult<DiskState>;
  },
  async delete(id, props) {
    return implementation().remove(id, props);
  },
};
