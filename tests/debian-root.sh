# Sourced by tests/gpu-check-bare and tests/debian-release: a Debian root made once with debootstrap
# (minbase) and kept, entered with chroot. The caller first re-runs itself in a mount namespace of
# its own (root_private_namespace "$@"), so that no mount outlives it, however it ends; inside,
# only fresh instances (proc, sysfs, tmpfs) and a read-only view of the repository are mounted.
# Where the root cannot be made or entered (no root user, no debootstrap, no mirror, no mounts)
# the functions exit 77: the caller's test is skipped, not failed; a package that fails to
# install fails it. Needs ROOT (the repository) and BUILD (where logs go) set by the caller.

DEBIAN_MIRROR="${PTUNER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root_mounts=()
root_unmount() {
  local i
  for ((i = ${#root_mounts[@]} - 1; i >= 0; i--)); do
    umount "${root_mounts[$i]}" 2> /dev/null || umount -l "${root_mounts[$i]}" || true
  done
  root_mounts=()
}
trap root_unmount EXIT

# root_private_namespace "$@": re-run the calling script in a private mount namespace (unshare),
# where one can be made; elsewhere the EXIT trap's unmounting is all there is.
root_private_namespace() {
  [ -z "${PTUNER_MOUNT_NAMESPACE:-}" ] || return 0
  [ "$(id -u)" -eq 0 ] && command -v unshare > /dev/null && unshare -m --propagation private true 2> /dev/null ||
    return 0
  PTUNER_MOUNT_NAMESPACE=1 exec unshare -m --propagation private "$0" "$@"
}
root_mount() {  # root_mount TARGET MOUNT-ARGS...
  local target=$1
  shift
  mkdir -p "$target"
  mount "$@" "$target" || return 1
  root_mounts+=("$target")
}

# root_enter DIR SUITE PACKAGES...: the root at DIR (Debian SUITE with PACKAGES installed, made
# when missing), /proc, /sys and /dev/shm mounted, the repository read-only at DIR/src.
root_enter() {
  R=$(realpath -m "$1")
  local suite=$2
  shift 2
  local packages="$suite: $*"
  local log="$BUILD/$(basename "$R").log"
  [ "$(id -u)" -eq 0 ] || { echo "$(basename "$0"): needs root (debootstrap, chroot)" >&2; exit 77; }
  command -v debootstrap > /dev/null || { echo "$(basename "$0"): no debootstrap (launch/setup installs it)" >&2; exit 77; }
  mkdir -p "$BUILD"
  # Mounts left by a run that was killed.
  awk -v r="$R/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  if [ ! -f "$R/.ready" ]; then
    rm -rf "$R"
    echo "$(basename "$0"): debootstrap $suite (minbase) into $R"
    # A release newer than this debootstrap (Debian 12's knows no forky) is made as sid is.
    local script=()
    [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=(/usr/share/debootstrap/scripts/sid)
    debootstrap --variant=minbase "$suite" "$R" "$DEBIAN_MIRROR" "${script[@]}" > "$log" 2>&1 ||
      { tail -n 20 "$log"; exit 77; }
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    # Packages install their daemons (munge, slurmd) without starting them in the root.
    printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d" && chmod +x "$R/usr/sbin/policy-rc.d"
  fi
  # A mirror frozen at a date (a snapshot, as here) serves a testing release's Release file past
  # its Valid-Until, which apt would refuse.
  echo 'Acquire::Check-Valid-Until "false";' > "$R/etc/apt/apt.conf.d/99ptuner-snapshot"
  root_mount "$R/proc" -t proc proc && root_mount "$R/sys" -t sysfs sysfs && root_mount "$R/dev/shm" -t tmpfs shm ||
    { echo "$(basename "$0"): cannot mount proc, sysfs and /dev/shm in $R" >&2; exit 77; }
  [ -c "$R/dev/null" ] || { echo "$(basename "$0"): $R/dev has no device nodes" >&2; exit 77; }
  # (Re)install when the root is new or the caller's package list changed: an unreachable mirror
  # is a skip, a package that does not install a failure.
  if [ "$(cat "$R/.ready" 2> /dev/null)" != "$packages" ]; then
    in_root apt-get update -qq >> "$log" 2>&1 || { tail -n 20 "$log"; echo "$(basename "$0"): no Debian mirror" >&2; exit 77; }
    { in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" &&
      in_root apt-get clean; } >> "$log" 2>&1 || { tail -n 20 "$log"; exit 1; }
    echo "$packages" > "$R/.ready"
  fi
  root_mount "$R/src" --bind "$ROOT" && mount -o remount,bind,ro "$R/src" ||
    { echo "$(basename "$0"): cannot mount $ROOT read-only at $R/src" >&2; exit 77; }
}

# in_root COMMAND...: run in the root with a clean environment.
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 HOME=/root "$@"; }
