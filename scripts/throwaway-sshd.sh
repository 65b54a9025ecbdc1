#!/usr/bin/env bash
# A throwaway OpenSSH server on loopback, to try DifferencingDisk's `connection` and the CLI's ssh:// paths on one
# machine: fresh host and client keys and a disk root in a temporary folder, sshd running as you (it can log in only
# as you), keys only. Prints the connection values and the commands that point examples/remote-host at it, then runs
# in the foreground until Ctrl-C, when it removes the folder.
#
# Usage: bash scripts/throwaway-sshd.sh [port]      (default: a free port)
# Needs /usr/sbin/sshd and ssh-keygen (Debian: openssh-server, openssh-client) and /run/sshd (create it as root).
set -euo pipefail

SSHD=/usr/sbin/sshd
[[ -x "$SSHD" ]] || { echo "throwaway-sshd: $SSHD is missing (apt-get install openssh-server)" >&2; exit 1; }
[[ -d /run/sshd ]] || mkdir -p /run/sshd 2>/dev/null || { echo "throwaway-sshd: create /run/sshd as root first" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/vhd-throwaway-sshd-XXXXXX")
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/disks"
ssh-keygen -q -t ed25519 -N "" -C throwaway-host -f "$dir/hostkey"
ssh-keygen -q -t ed25519 -N "" -C throwaway-client -f "$dir/client"
cp "$dir/client.pub" "$dir/authorized_keys"

port=${1:-$(( 20000 + RANDOM % 40000 ))}  # a busy port makes sshd fail at once, below
cat > "$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/hostkey
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp internal-sftp
CONFIG

"$SSHD" -D -e -f "$dir/sshd_config" 2> "$dir/sshd.log" &
pid=$!
sleep 1
kill -0 "$pid" 2>/dev/null || { cat "$dir/sshd.log" >&2; exit 1; }

hostkey=$(cut -d' ' -f1,2 "$dir/hostkey.pub")
user=$(id -un)
cat <<INFO
throwaway sshd (pid $pid) on 127.0.0.1:$port; Ctrl-C stops it and removes $dir

  host:          127.0.0.1
  port:          $port
  user:          $user
  identity file: $dir/client
  hostKey:       $hostkey
  disk root:     $dir/disks

Try the CLI:
  npx vhd create ssh://$user@127.0.0.1:$port$dir/disks/golden.vhd --size 64MiB --identity $dir/client --host-key "$hostkey"

Point examples/remote-host at it (after npm run build && npm run toolchain):
  cd examples/remote-host && bash ../../scripts/pulumi.sh stack select --create dev
  bash ../../scripts/pulumi.sh config set host 127.0.0.1
  bash ../../scripts/pulumi.sh config set port $port
  bash ../../scripts/pulumi.sh config set user $user
  bash ../../scripts/pulumi.sh config set identityFile $dir/client
  bash ../../scripts/pulumi.sh config set hostKey "$hostkey"
  bash ../../scripts/pulumi.sh config set folder $dir/disks
  bash ../../scripts/pulumi.sh up --yes
INFO
wait "$pid"
