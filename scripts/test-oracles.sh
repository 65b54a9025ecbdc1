#!/usr/bin/env bash
# Makes sure the independent oracles the tests compare against are installed, from Debian's packages:
#   vhdiinfo (libvhdi-utils), pyvhdi under /usr/bin/python3 (python3-libvhdi), qemu-img (qemu-utils), and the real
#   OpenSSH server the SSH storage tests start on loopback: /usr/sbin/sshd (openssh-server), ssh-keygen (openssh-client).
# Run by `npm test` and by .ci/run; does nothing when all of them are present. Installing needs root (or sudo).
set -euo pipefail

PACKAGES=(libvhdi-utils python3-libvhdi qemu-utils openssh-server openssh-client)

present() {
  command -v vhdiinfo >/dev/null && command -v qemu-img >/dev/null &&
    [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null &&
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pyvhdi' 2>/dev/null
}

present && exit 0

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "test-oracles: the tests need ${PACKAGES[*]} (Debian); install them as root: apt-get install ${PACKAGES[*]}" >&2
  exit 1
fi

echo "test-oracles: installing ${PACKAGES[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
present || { echo "test-oracles: installed, but vhdiinfo, qemu-img, pyvhdi, sshd or ssh-keygen is still missing" >&2; exit 1; }
