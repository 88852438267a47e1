/* `lab sandbox cp` (copy.c): a framed stream of files out of a running sandbox (on
 * stdout) or into it (from stdin). Plan line: copy out|in PATH [follow] [archive] [intodir]. */
#ifndef LAB_COPY_H
#define LAB_COPY_H

#include <stdbool.h>

struct copy_plan {
  char direction;             /* 'o' out of the sandbox, 'i' into it; 0 = no copy */
  char *path;                 /* the path inside the sandbox */
  bool follow;                /* cp -L out: a symlink at path itself is followed */
  bool archive;               /* cp -a: owners travel with the entries (ids inside the sandbox) */
  bool intodir;               /* cp - (a tar archive): path must be a directory; many top entries go into it */
};

struct plan;

/* Copies between the caller and the running sandbox p->exec.target. */
int run_copy(struct plan *p, int ctl);

#endif
