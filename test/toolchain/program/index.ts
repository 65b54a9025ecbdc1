/**
 * The toolchain's end-to-end fixture: one dynamic resource (a marker file written by a provider serialized from this
 * program) and one `command.local.Command`, both under the folder given as config `workDir`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

interface MarkerInputs {
  path: string;
  content: string;
}

/**
 * Kept small and free of captured module state: the engine serializes this object into the stack, and its methods
 * require what they need at run time (pulumi-dynamic-providers.md §1).
 */
const markerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MarkerInputs) {
    const fs = require("node:fs") as typeof import("node:fs");
    const crypto = require("node:crypto") as typeof import("node:crypto");
    fs.writeFileSync(inputs.path, inputs.content, { flag: "wx" });
    const sha256 = crypto.createHash("sha256").update(inputs.content).digest("hex");
    return { id: inputs.path, outs: { ...inputs, sha256 } };
  },
  async diff(_id: string, olds: MarkerInputs, news: MarkerInputs) {
    const replaces = olds.path === news.path ? [] : ["path"];
    return { changes: olds.path !== news.path || olds.content !== news.content, replaces };
  },
  async update(_id: string, _olds: MarkerInputs, news: MarkerInputs) {
    const fs = require("node:fs") as typeof import("node:fs");
    const crypto = require("node:crypto") as typeof import("node:crypto");
    fs.writeFileSync(news.path, news.content);
    return { outs: { ...news, sha256: crypto.createHash("sha256").update(news.content).digest("hex") } };
  },
  /** Reports the file as it is on disk, so a refresh sees drift (and none when nothing changed). */
  async read(id: string, props: MarkerInputs & { sha256: string }) {
    const fs = require("node:fs") as typeof import("node:fs");
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const content = fs.readFileSync(id, "utf8");
    return { id, props: { ...props, content, sha256: crypto.createHash("sha256").update(content).digest("hex") } };
  },
  async delete(id: string) {
    const fs = require("node:fs") as typeof import("node:fs");
    fs.rmSync(id, { force: true });
  },
};

class MarkerFile extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  declare readonly sha256: pulumi.Output<string>;

  constructor(name: string, args: { path: pulumi.Input<string>; content: pulumi.Input<string> }) {
    super(markerProvider, name, { ...args, sha256: undefined }, {}, "toolchain", "MarkerFile");
  }
}

const config = new pulumi.Config();
const workDir = config.require("workDir");

const marker = new MarkerFile("marker", { path: `${workDir}/marker.txt`, content: "made by a dynamic provider\n" });

const greeting = new command.local.Command("greeting", {
  create: 'printf "hello from %s\\n" "$WHO"',
  delete: 'touch "$WORK_DIR/command-deleted"',
  environment: { WHO: "command.local", WORK_DIR: workDir },
});

export const markerPath = marker.path;
export const markerSha256 = marker.sha256;
export const greetingStdout = greeting.stdout;
