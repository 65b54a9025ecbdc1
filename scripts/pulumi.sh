#!/usr/bin/env bash
# Runs the project-local Pulumi CLI (.tools/bin, made by `npm run toolchain`) with offline defaults: no account, no
# network. Each default yields to a value already set in the environment:
#   PULUMI_HOME=<project>/.pulumi-home                 CLI home: credentials, plugin cache (kept out of ~/.pulumi)
#   PULUMI_BACKEND_URL=file://<project>/.pulumi-state  the state backend: files inside the project
#   PULUMI_CONFIG_PASSPHRASE=""                        passphrase secrets provider with an empty passphrase (unless
#                                                      PULUMI_CONFIG_PASSPHRASE_FILE is set); set your own for
#                                                      stacks holding real secrets
#   PULUMI_SKIP_UPDATE_CHECK=true                      no version check over the network
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true   a missing plugin is an error, never a download
# Plugins are found on PATH, where .tools/bin comes first. Usage: scripts/pulumi.sh <pulumi arguments...>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ ! -x "$ROOT/.tools/bin/pulumi" ]; then
  echo "scripts/pulumi.sh: no .tools/bin/pulumi: run \`npm run toolchain\` first" >&2
  exit 1
fi

export PATH="$ROOT/.tools/bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$ROOT/.pulumi-home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$ROOT/.pulumi-state}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE=""
fi
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"

# The file backend wants its folder to exist.
case $PULUMI_BACKEND_URL in
  file://~*) ;;
  file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
esac

exec pulumi "$@"
