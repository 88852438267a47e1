/* Reading a compiled seccomp BPF program on the host and installing it as the child's
 * very last step before exec (seccomp.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"
#include "util.h"

#define MAX_BPF_INSNS 4096 /* the kernel's BPF_MAXINSNS */

int read_seccomp_bpf(const char *path, struct sock_fprog *prog) {
  set_stage("seccomp");
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return set_error("open", path, errno);
  struct stat st;
  if (fstat(fd, &st) < 0) return set_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
      st.st_size > (off_t)(MAX_BPF_INSNS * sizeof(struct sock_filter)))
    return set_error_msg("seccomp", path, "not a BPF program (size %lld)", (long long)st.st_size);
  struct sock_filter *insns = malloc((size_t)st.st_size);
  if (!insns) return set_error("malloc", path, ENOMEM);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, (char *)insns + got, (size_t)st.st_size - got);
    if (r <= 0) {
      free(insns);
      return set_error("read", path, r < 0 ? errno : EIO);
    }
    got += (size_t)r;
  }
  prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
  prog->filter = insns;
  return 0;
}

int install_seccomp(const struct sock_fprog *prog) {
  set_stage("seccomp");
  /* TSYNC is not needed: the helper is single-threaded. */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0) return set_error("seccomp", NULL, errno);
  return 0;
}
