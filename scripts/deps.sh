#!/bin/sh
# Install the Debian packages synack needs, if any are missing.
#   scripts/deps.sh build   what building the library and the tool needs
#   scripts/deps.sh test    that, plus what the tests need
#   scripts/deps.sh bench   that of build, plus what `make bench` needs
set -eu
want="cmake make gcc pkg-config libsodium-dev"
if [ "${1:-build}" = test ]; then
	want="$want libcmocka-dev tshark clang libclang-rt-dev"
	# The interop tests' Linux side (tests/interop/).
	want="$want netcat-openbsd curl iproute2 iputils-ping python3 procps"
fi
if [ "${1:-build}" = bench ]; then
	# Namespaces and pinning for the kernel's side, callgrind for the
	# instruction counts, python3 for the table.
	want="$want iproute2 util-linux valgrind python3"
fi
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "synack needs these Debian packages:$missing" >&2
	echo "install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
