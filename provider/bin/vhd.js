#!/usr/bin/env node
// The `vhd` command. A committed launcher rather than a bin pointing into dist/: npm links the bins of a workspace
// package before the root's `prepare` script has built dist/, and it skips a bin whose file does not exist yet.
require("../dist/cli/main.js");
