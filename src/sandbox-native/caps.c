/* Order matters here: the bounding set can only be shrunk while CAP_SETPCAP is still
 * effective, and groups/gid can only be changed while CAP_SETGID is, so both happen
 * before setresuid(); KEEPCAPS keeps the permitted set across the uid change so that
 * the final capset() can pick exactly what stays. no_new_privs comes last. */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int capset_all(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  return (int)syscall(SYS_capset, &hdr, data);
}

int drop_privileges(const struct plan *p) {
  set_stage("caps");
  for (int cap = 0; cap < 64; cap++) {
    if (p->caps & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      return set_error("prctl PR_CAPBSET_DROP", NULL, errno);
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return set_error("prctl PR_CAP_AMBIENT_CLEAR_ALL", NULL, errno);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return set_error("prctl PR_SET_KEEPCAPS", NULL, errno);
  set_stage("user");
  /* With setgroups denied (unprivileged maps) the group list is already fixed. */
  if (!p->setgroups_deny && setgroups((size_t)p->n_groups, p->groups) < 0) return set_error("setgroups", NULL, errno);
  if (setresgid(p->gid, p->gid, p->gid) < 0) return set_error("setresgid", NULL, errno);
  if (setresuid(p->uid, p->uid, p->uid) < 0) return set_error("setresuid", NULL, errno);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return set_error("prctl PR_SET_KEEPCAPS", NULL, errno);
  set_stage("caps");
  uint64_t eff = p->uid == 0 ? p->caps : p->ambient;
  /* Ambient capabilities must also be inheritable; root needs none inheritable. */
  if (capset_all(eff, eff, p->uid == 0 ? 0 : p->ambient) < 0) return set_error("capset", NULL, errno);
  if (p->uid != 0) {
    for (int cap = 0; cap < 64; cap++)
      if ((p->ambient & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        return set_error("prctl PR_CAP_AMBIENT_RAISE", NULL, errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return set_error("prctl PR_SET_NO_NEW_PRIVS", NULL, errno);
  return 0;
}
