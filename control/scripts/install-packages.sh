#!/bin/sh
# Installs Debian packages. $1...: package names. dpkg-query first: on the lab (no network
# inside nodes) an installed package must not send apt-get looking for a mirror.
# Keeps only the missing packages as the positional parameters: the list to iterate is
# taken once, before the loop shifts it.
for p in "$@"; do
  shift
  dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "install ok installed" || set -- "$@" "$p"
done
[ $# -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@"
