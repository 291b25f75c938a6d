# SPDX-License-Identifier: GPL-2.0-only
ifneq ($(KERNELRELEASE),)
# kbuild: this directory is linked into the kernel as drivers/iommu/iommufd.
iommufd-y := \
	access.o \
	device.o \
	hw_pagetable.o \
	io_pagetable.o \
	ioas.o \
	main.o \
	pages.o

iommufd-$(CONFIG_IOMMUFD_TEST) += selftest.o

obj-$(CONFIG_IOMMUFD) += iommufd.o
obj-$(CONFIG_IOMMUFD_DRIVER) += iova_bitmap.o

else
# The harness: build our kernel, boot it in QEMU, run the selftests.
# See README.md; the work is done by the small scripts in scripts/.

.PHONY: all kernel kernel-debug selftests check run lint clean distclean

all: check

kernel:
	@scripts/deps.sh
	@scripts/kernel.sh normal

kernel-debug:
	@scripts/deps.sh
	@scripts/kernel.sh debug

selftests:
	@scripts/deps.sh
	@scripts/selftests.sh normal

check:
	@scripts/check.sh

run:
	@scripts/run.sh

lint:
	@scripts/deps.sh
	@scripts/lint.sh

clean:
	rm -rf .cache/build logs

distclean:
	rm -rf .cache logs
endif
