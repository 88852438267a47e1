/* Seccomp enforcement: a compiled classic-BPF program, read on the host side
 * before the root changes and installed as the very last step before exec. */
#ifndef LAB_SECCOMP_H
#define LAB_SECCOMP_H

#include <linux/filter.h>

/* Reads the BPF program stored at path (an array of struct sock_filter, as
 * libseccomp's seccomp_export_bpf writes it). */
int read_seccomp_bpf(const char *path, struct sock_fprog *prog);
/* Installs it; no_new_privs must already be set. */
int install_seccomp(const struct sock_fprog *prog);

#endif
