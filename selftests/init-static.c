// SPDX-License-Identifier: GPL-2.0-only
/*
 * PID 1 of the test VM where there is no busybox (arm64): the C twin of
 * selftests/init, which says what each step is for.  harness_mode (from the
 * kernel command line, in our environment) says what to do: "check" runs
 * every program in /tests and writes the report parse.sh reads to TAP_DEV,
 * anything else runs the /dev/iommu demo.  Then the VM powers off.
 *
 * The report, line by line as selftests/init writes it: HARNESS: START,
 * WATCHDOG, IOMMU, ARGS (if any), RUN and EXIT around each program's own
 * output (TAP), the kmemleak section, DONE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* The test output's own channel: a virtio console (boot.sh). */
#define TAP_DEV "/dev/hvc0"
#define KMEMLEAK "/sys/kernel/debug/kmemleak"
#define SYSCTL "/proc/sys/kernel/"
#define MAX_ARGS 64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* say FD FMT...: one line to FD (the console is 1). */
static void say(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(fd, fmt, ap);
	va_end(ap);
	dprintf(fd, "\n");
}

static void do_mount(const char *type, const char *dir, const char *opts)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, opts) && errno != EBUSY)
		say(1, "init: mount %s on %s: %s", type, dir, strerror(errno));
}

/* append BUF LEN SEP TEXT: add SEP (unless BUF is empty) and TEXT, cut to fit. */
static void append(char *buf, size_t len, const char *sep, const char *text)
{
	if (buf[0])
		strncat(buf, sep, len - strlen(buf) - 1);
	strncat(buf, text, len - strlen(buf) - 1);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The first line of PATH, without its newline; "?" if it cannot be read. */
static const char *read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, len, f))
		snprintf(buf, len, "?");
	else
		buf[strcspn(buf, "\n")] = 0;
	if (f)
		fclose(f);
	return buf;
}

/* The deadlock detectors (config/base.config), armed as parse.sh checks. */
static void watchdog_report(int out)
{
	static const char * const knobs[] = {
		"hung_task_timeout_secs", "hung_task_panic", "soft_watchdog",
		"watchdog_thresh", "softlockup_panic",
	};
	char line[512] = "HARNESS: WATCHDOG", path[128], val[64];
	size_t i;

	write_file(SYSCTL "hung_task_check_interval_secs", "10");
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		snprintf(path, sizeof(path), SYSCTL "%s", knobs[i]);
		read_line(path, val, sizeof(val));
		append(line, sizeof(line), " ", knobs[i]);
		append(line, sizeof(line), "=", val);
	}
	say(out, "%s", line);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The entries of DIR (but . and ..), sorted; returns how many. */
static int list_dir(const char *dir, struct dirent ***names)
{
	int i, j, n = scandir(dir, names, NULL, by_name);

	for (i = j = 0; i < n; i++) {
		if ((*names)[i]->d_name[0] == '.')
			free((*names)[i]);
		else
			(*names)[j++] = (*names)[i];
	}
	return n < 0 ? 0 : j;
}

/* pci_write DEV ATTR TEXT: write TEXT to /sys/bus/pci/devices/DEV/ATTR. */
static void pci_write(const char *dev, const char *attr, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	write_file(path, text);
}

/*
 * The edu device's iommu group and its default domain type.  Under an IOMMU
 * that the device tree or ACPI VIOT describes (smmuv3, virtio) a device
 * joins its group only when a driver binds: edu, which has none, is bound to
 * pci-stub for a moment, then left without a driver.
 */
static void edu_group(const char *dev, char *group, char *type, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	pci_write(dev, "driver_override", "pci-stub");
	write_file("/sys/bus/pci/drivers_probe", dev);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		snprintf(group, len, "%s", strrchr(link, '/') + 1);
		strncat(path, "/type", sizeof(path) - strlen(path) - 1);
		read_line(path, type, len);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev);
	if (!access(path, F_OK))
		pci_write(dev, "driver/unbind", dev);
	pci_write(dev, "driver_override", "\n");
}

/*
 * The IOMMU the VM has, as selftests/init reports it: the entries of
 * /sys/class/iommu, and the edu device's iommu group and its default
 * domain type.  parse.sh checks them against the IOMMU boot.sh asked for.
 */
static void iommu_report(char *line, size_t len)
{
	char class[1024] = "", edu[NAME_MAX + 1] = "none", group[64] = "none";
	char type[64] = "none", path[PATH_MAX], vendor[32], id[32];
	struct dirent **names;
	int i, n;

	n = list_dir("/sys/class/iommu", &names);
	for (i = 0; i < n; i++) {
		append(class, sizeof(class), ",", names[i]->d_name);
		free(names[i]);
	}
	if (n)
		free(names);
	n = list_dir("/sys/bus/pci/devices", &names);
	for (i = 0; i < n; i++) {
		const char *d = names[i]->d_name;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", d);
		read_line(path, vendor, sizeof(vendor));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", d);
		read_line(path, id, sizeof(id));
		if (!strcmp(vendor, "0x1234") && !strcmp(id, "0x11e8")) {
			snprintf(edu, sizeof(edu), "%s", d);
			edu_group(d, group, type, sizeof(group));
		}
		free(names[i]);
	}
	if (n)
		free(names);
	snprintf(line, len, "HARNESS: IOMMU want=%s class=%s edu=%s group=%s type=%s",
		 getenv("harness_iommu") ?: "none", class[0] ? class : "none",
		 edu, group, type);
}

/* kmemleak's reports after the tests; NONE on a kernel without it. */
static void kmemleak_report(int out)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (access(KMEMLEAK, F_OK)) {
		say(out, "HARNESS: KMEMLEAK NONE");
		return;
	}
	/* Objects must be a few seconds old before kmemleak reports them. */
	sleep(6);
	if (write_file(KMEMLEAK, "scan") || write_file(KMEMLEAK, "scan")) {
		say(out, "HARNESS: KMEMLEAK DISABLED (scan refused)");
		return;
	}
	say(out, "HARNESS: KMEMLEAK BEGIN");
	fd = open(KMEMLEAK, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		write(out, buf, n);
	if (fd >= 0)
		close(fd);
	say(out, "HARNESS: KMEMLEAK END");
}

/* Run PROG with ARGV[1...], its output to OUT; its status as $? has it. */
static int run(const char *prog, char **argv, int out)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 127;
	if (!pid) {
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		argv[0] = (char *)prog;
		execv(prog, argv);
		dprintf(2, "init: cannot exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The arguments for every program: /harness/args, one per line. */
static int read_args(char **argv)
{
	FILE *f = fopen("/harness/args", "r");
	char line[1024];
	int argc = 1;

	while (f && argc < MAX_ARGS && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		argv[argc++] = strdup(line);
	}
	if (f)
		fclose(f);
	argv[argc] = NULL;
	return argc;
}

static void run_checks(void)
{
	char *argv[MAX_ARGS + 1], prog[PATH_MAX], line[4096];
	int out = open(TAP_DEV, O_WRONLY | O_NOCTTY), argc, i, n, rc;
	struct dirent **names;
	struct utsname u;

	if (out < 0) {
		say(1, "init: cannot open %s: %s", TAP_DEV, strerror(errno));
		return;
	}
	argc = read_args(argv);
	if (!access(KMEMLEAK, F_OK))
		write_file(KMEMLEAK, "clear");
	uname(&u);
	say(out, "HARNESS: START %s", u.release);
	watchdog_report(out);
	iommu_report(line, sizeof(line));
	say(1, "%s", line);
	say(out, "%s", line);
	if (argc > 1) {
		line[0] = 0;
		for (i = 1; i < argc; i++)
			append(line, sizeof(line), " ", argv[i]);
		say(out, "HARNESS: ARGS %s", line);
	}
	n = list_dir("/tests", &names);
	for (i = 0; i < n; i++) {
		snprintf(prog, sizeof(prog), "/tests/%s", names[i]->d_name);
		if (access(prog, X_OK))
			continue;
		say(1, "HARNESS: RUN %s", names[i]->d_name);
		say(out, "HARNESS: RUN %s", names[i]->d_name);
		rc = run(prog, argv, out);
		say(out, "HARNESS: EXIT %s %d", names[i]->d_name, rc);
	}
	kmemleak_report(out);
	say(out, "HARNESS: DONE");
	/* All of it out of the tty before the power goes. */
	tcdrain(out);
	close(out);
}

int main(void)
{
	const char *mode = getenv("harness_mode") ?: "demo";
	char *argv[2] = { NULL, NULL }, line[2048];

	do_mount("proc", "/proc", NULL);
	do_mount("sysfs", "/sys", NULL);
	do_mount("devtmpfs", "/dev", NULL);
	/* Without /dev/console in the initramfs we start with no stdio. */
	if (fcntl(1, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	do_mount("debugfs", "/sys/kernel/debug", NULL);
	do_mount("tmpfs", "/tmp", NULL);
	do_mount("hugetlbfs", "/mnt/huge", "pagesize=2M");
	write_file("/sys/kernel/mm/transparent_hugepage/enabled", "madvise");

	if (!strcmp(mode, "check")) {
		run_checks();
	} else {
		iommu_report(line, sizeof(line));
		say(1, "%s", line);
		if (!access("/tests/iommufd-demo", X_OK))
			run("/tests/iommufd-demo", argv, -1);
		if (!strcmp(mode, "shell"))
			say(1, "init: no shell on this VM (no busybox): powering off");
	}
	sync();
	sleep(1);
	reboot(RB_POWER_OFF);
	return 0;
}
