#!/usr/bin/env bash
# The demo stack `dev` of the root Pulumi project (Pulumi.yaml, index.ts), on the offline defaults of pulumi.sh.
# Usage: scripts/demo.sh up|preview|destroy   (what npm run demo / preview / destroy call, after build + toolchain)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=${PULUMI_VHD_DEMO_STACK:-dev}
pulumi() { bash "$ROOT/scripts/pulumi.sh" --cwd "$ROOT" "$@"; }

pulumi stack select --create "$STACK"
case ${1:-} in
  up) pulumi up --yes --stack "$STACK" ;;
  preview) pulumi preview --diff --stack "$STACK" ;;
  destroy) pulumi destroy --yes --stack "$STACK" ;;
  *) echo "usage: scripts/demo.sh up|preview|destroy" >&2; exit 2 ;;
esac
