#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# kernel.sh FLAVOUR [TARGET...]: configure and build a kernel.
# FLAVOUR is "normal" (x86_64: tinyconfig + config/base.config +
# config/x86.config), "debug" (adds config/debug.config), "type1" (adds
# config/type1.config), "arm64" (cross-built: tinyconfig +
# config/base.config + config/arm64.config), "upstream" (normal's config,
# from the package's own tree and iommufd: tree.sh upstream) or "l2"
# (x86_64: tinyconfig + config/l2.config, the guest vmm.sh boots inside
# the test VM).  The build lives in .cache/build/FLAVOUR and goes through
# ccache, so a rebuild after editing one of our files is quick.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: kernel.sh normal|debug|type1|arm64|upstream|l2 [target...]}
shift
out=$CACHE/build/$flavour
frags=$(flavour_frags "$flavour")
arch=$(flavour_arch "$flavour")
tree=$(flavour_tree "$flavour")
src=$(tree_src "$tree")
kbuild_vars "$arch"
targets=${*:-$(basename "$KERNEL_IMAGE")}
lock_cache

kmake() {
	make -C "$src" O="$out" -j"$JOBS" "${KBUILD_VARS[@]}" "$@"
}

# Every option the fragments ask for must survive olddefconfig; a later
# fragment's value of an option wins, as in merge_config.sh.
check_config() {
	local line sym bad=0
	local -A want=()
	local -a order=()
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		sym=${line%%=*}
		[ -n "${want[$sym]+set}" ] || order+=("$sym")
		want[$sym]=${line#*=}
	done < <(cat $frags)
	for sym in "${order[@]}"; do
		if [ "${want[$sym]}" = n ]; then
			grep -q "^$sym=" "$out/.config" && { echo "  $sym is set"; bad=1; }
		else
			grep -qx "$sym=${want[$sym]}" "$out/.config" ||
				{ echo "  $sym=${want[$sym]} missing"; bad=1; }
		fi
	done
	[ $bad = 0 ] || die "options dropped from $out/.config (missing dependencies?)"
}

configure() {
	mkdir -p "$out"
	kmake -s tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" $frags >/dev/null
	kmake -s olddefconfig
	check_config
	cat $frags | sha256sum > "$out/.fragments"
}

"$REPO/scripts/tree.sh" "$tree"
if ! cat $frags | sha256sum | cmp -s - "$out/.fragments" 2>/dev/null; then
	timed "configure $flavour" configure
fi
say "building $flavour kernel ($arch, $tree tree, $targets) in $out"
timed "build $flavour" kmake -s $targets
