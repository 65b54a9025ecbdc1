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

/** The implementation, as installed where the provider runs. */
function implementation(): Implementation {
  return require("pulumi-vhd/dist/resource/provider") as Implementation;
}

/**
 * The one shared provider instance of {@link DifferencingDisk}: Pulumi caches serialization per provider object, so
 * sharing it serializes the shim once per program, however many disks it declares.
 */
export const differencingDiskProvider: pulumi.dynamic.ResourceProvider<DiskInputs, DiskState> = {
  async check(olds, news) {
    return implementation().check(olds, news);
  },
  async diff(id, olds, news) {
    return implementation().diff(id, olds, news);
  },
  async create(inputs) {
    return implementation().create(inputs);
  },
  async read(id, props) {
    // The SDK types `ReadResult.inputs` as outputs; ours are the inputs' shape (DiskInputs), which the engine expects.
    const result: pulumi.dynamic.ReadResult = await implementation().read(id, props ?? {});
    return result;
  },
  async update(id, olds, news) {
    return implementation().update(id, olds, news);
  },
  async delete(id, props) {
    return implementation().remove(id, props);
  },
};
