# SPDX-License-Identifier: GPL-2.0-only
ifneq ($(KERNELRELEASE),)
# kbuild: this directory is linked into the kernel as drivers/iommu/iommufd.
iommufd-y := \
	access.o \
	device.o \
	fault.o \
	hw_pagetable.o \
	io_pagetable.o \
	ioas.o \
	main.o \
	pages.o \
	vfio_compat.o

iommufd-$(CONFIG_IOMMUFD_TEST) += selftest.o

obj-$(CONFIG_IOMMUFD) += iommufd.o
obj-$(CONFIG_IOMMUFD_DRIVER) += iova_bitmap.o

else
# The harness: build our kernel, boot it in QEMU, run the selftests.
# See README.md; the work is done by the small scripts in scripts/.
#   make check        everything: normal kernel under intel, amd, virtio;
#                     arm64 under smmuv3; debug under intel
#   make test ONLY=iommufd-access ARGS="-r FIXTURE.VARIANT.TEST"
#   make test IOMMU=amd      the VM's IOMMU: intel (default), amd, virtio,
#                            or smmuv3 (the arm64 kernel)
#   make type1        the whole suite on a kernel with VFIO's own container
#                     and type1 driver (config/type1.config), under intel
#   make run FLAVOUR=debug IOMMU=virtio    (FLAVOUR: normal, debug, type1,
#                     arm64, upstream: the package's own iommufd; make test
#                     takes them too, but arm64: IOMMU=smmuv3)
#   make realworld    DPDK testpmd on /dev/vfio/vfio, QEMU 10 on /dev/iommu
#                     (ONLY=testpmd|vmm, IOMMU=intel|amd, FLAVOUR=upstream)
#   make bench        ours vs upstream iommufd vs VFIO type1, one table
#                     (ROUNDS=3, BENCH_ARGS="-t" for tiny sizes)
FLAVOUR ?= normal
export ONLY ARGS IOMMU FLAVOUR ROUNDS BENCH_ARGS

.PHONY: all check test check-quick type1 run run-debug kernel kernel-debug \
	kernel-type1 kernel-arm64 kernel-upstream selftests selftests-arm64 \
	lint selftest-harness realworld bench clean distclean

all: check

check:
	@scripts/check.sh

test check-quick:
	@scripts/test.sh

type1:
	@scripts/test.sh type1

run:
	@scripts/run.sh $(FLAVOUR) $(IOMMU)

run-debug:
	@scripts/run.sh debug $(IOMMU)

kernel:
	@scripts/deps.sh
	@scripts/kernel.sh normal

kernel-debug:
	@scripts/deps.sh
	@scripts/kernel.sh debug

kernel-type1:
	@scripts/deps.sh
	@scripts/kernel.sh type1

kernel-arm64:
	@scripts/deps.sh
	@scripts/kernel.sh arm64

kernel-upstream:
	@scripts/deps.sh
	@scripts/kernel.sh upstream

selftests:
	@scripts/deps.sh
	@scripts/kernel.sh normal
	@scripts/selftests.sh x86

selftests-arm64:
	@scripts/deps.sh
	@scripts/kernel.sh arm64
	@scripts/selftests.sh arm64

lint:
	@scripts/deps.sh
	@scripts/lint.sh

selftest-harness:
	@scripts/selftest-harness.sh

realworld:
	@scripts/realworld.sh $(FLAVOUR)

bench:
	@scripts/bench.sh

clean:
	@scripts/clean.sh

distclean:
	@scripts/clean.sh all
endif
