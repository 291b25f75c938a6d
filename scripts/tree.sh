#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tree.sh [ours|upstream]: a kernel tree to build from.
# ours (the default): unpack Debian's linux-source-6.12 into .cache/linux,
# remove the package's iommufd and link ours in its place, then prove that
# the tree holds none of the package's iommufd files.  Safe to run any
# number of times: the links are refreshed so files added to or removed
# from the repo follow.
# upstream: unpack the package into .cache/linux-upstream and leave it as
# it is, its own iommufd included (the "upstream" kernel flavour, to compare
# ours against); prove that none of its iommufd files changed since.
# The package version is recorded in the tree's .unpacked; a new version of
# the package is unpacked afresh, and what was built from the old tree
# (kernels, uAPI headers) is deleted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=${1:-ours}
src=$(tree_src "$tree")
lock_cache
version=$(dpkg-query -W -f='${Version}' $PKG 2>/dev/null) ||
	die "$PKG is not installed (scripts/deps.sh installs it)"

unpack() {
	[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install $PKG)"
	# Built from another tree: kbuild would trust their timestamps.
	safe_rm "$KSRC" "$KSRC.tmp" "$CACHE/build" "$CACHE/headers"
	mkdir -p "$KSRC.tmp"
	say "unpacking $TARBALL"
	tar xJf "$TARBALL" -C "$KSRC.tmp" --strip-components=1
	cd "$KSRC.tmp"
	# Fingerprints of what we remove, kept to prove later it never returns.
	sha256sum $PKG_DIR/* $PKG_HEADERS > "$CACHE/package-iommufd.sha256"
	# The ABI reference (headers only) for compatibility tests.
	mkdir -p "$CACHE/package"
	cp include/uapi/linux/iommufd.h "$CACHE/package/uapi-iommufd.h"
	cp $PKG_DIR/iommufd_test.h "$CACHE/package/iommufd_test.h"
	rm -rf $PKG_DIR $PKG_HEADERS
	cd - >/dev/null
	mv "$KSRC.tmp" "$KSRC"
	echo "$version" > "$KSRC/.unpacked"
}

# link SRC DST: make DST a symlink to SRC (absolute), replacing whatever is there.
link() {
	mkdir -p "$(dirname "$2")"
	ln -sfn "$1" "$2"
}

overlay() {
	local f d=$KSRC/$PKG_DIR
	mkdir -p "$d"
	find "$d" -maxdepth 1 -type l -delete
	for f in "$REPO"/Kconfig "$REPO"/Makefile "$REPO"/*.c "$REPO"/*.h; do
		[ -e "$f" ] && link "$f" "$d/$(basename "$f")"
	done
	for f in $PKG_HEADERS Documentation/userspace-api/iommufd.rst; do
		link "$REPO/$f" "$KSRC/$f"
	done
}

verify() {
	local bad=0 n=0 f t
	while IFS= read -r f; do
		t=$(readlink -f "$f")
		case "$t" in
		"$REPO"/*) n=$((n + 1)) ;;
		*) echo "  not ours: $f -> $t"; bad=1 ;;
		esac
	done < <(find "$KSRC/$PKG_DIR" -mindepth 1 -maxdepth 1; for f in $PKG_HEADERS; do echo "$KSRC/$f"; done)
	# No file in its place may have the content of one the package shipped.
	while read -r sum f; do
		for t in "$KSRC/$f" "$KSRC/$PKG_DIR"/*; do
			[ -f "$t" ] || continue
			if [ "$(sha256sum < "$t" | cut -d' ' -f1)" = "$sum" ]; then
				echo "  package file content found at $t (was $f)"
				bad=1
			fi
		done
	done < "$CACHE/package-iommufd.sha256"
	[ $bad = 0 ] || die "the kernel tree still holds package iommufd files"
	say "tree: $n iommufd files, all links into $REPO; none of the package's $(wc -l < "$CACHE/package-iommufd.sha256") iommufd files present"
}

# The package's tree as it is, with the fingerprints of its iommufd files;
# nothing of ours is linked in.  Only its own build depends on it.
unpack_upstream() {
	[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install $PKG)"
	safe_rm "$KSRC_UPSTREAM" "$KSRC_UPSTREAM.tmp" "$CACHE/build/upstream"
	mkdir -p "$KSRC_UPSTREAM.tmp"
	say "unpacking $TARBALL, untouched"
	tar xJf "$TARBALL" -C "$KSRC_UPSTREAM.tmp" --strip-components=1
	(cd "$KSRC_UPSTREAM.tmp" && sha256sum $PKG_DIR/* $PKG_HEADERS > .iommufd.sha256)
	mv "$KSRC_UPSTREAM.tmp" "$KSRC_UPSTREAM"
	echo "$version" > "$KSRC_UPSTREAM/.unpacked"
}

# Every iommufd file as the package shipped it, and no link anywhere.
verify_upstream() {
	local links
	(cd "$KSRC_UPSTREAM" && sha256sum --quiet -c .iommufd.sha256) ||
		die "$KSRC_UPSTREAM: the package's iommufd files changed (make distclean)"
	links=$(cd "$KSRC_UPSTREAM" && find $PKG_DIR $PKG_HEADERS -type l)
	[ -z "$links" ] || die "$KSRC_UPSTREAM: symlinks in the package's iommufd: $links"
	say "tree: upstream, the package's $(wc -l < "$KSRC_UPSTREAM/.iommufd.sha256") iommufd files unmodified in $KSRC_UPSTREAM"
}

unpacked=$(cat "$src/.unpacked" 2>/dev/null) || unpacked="(no tree)"
if [ "$unpacked" != "$version" ]; then
	say "$PKG is $version, the unpacked $tree tree ${unpacked:-(unknown version)}: unpacking afresh"
	if [ "$tree" = upstream ]; then
		timed unpack unpack_upstream
	else
		timed unpack unpack
	fi
fi
if [ "$tree" = upstream ]; then
	verify_upstream
else
	overlay
	verify
fi
