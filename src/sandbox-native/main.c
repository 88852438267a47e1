/* lab-helper: the privileged half of a lab sandbox. This file only dispatches; where
 * each part lives (one file per concern, each with a header comment saying what it owns):
 *   run.c          `run`: one sandbox from a plan on fd 3 (plan.c, lifecycle_plan.c parse it)
 *   start.c        starting it: clone, the parent/child handshake, the child's steps (the stage order)
 *   supervise.c    a foreground run's parent after the start: signals, caller, timeout, "exit"
 *   detach.c       a supervisor that outlives the caller (logs.c, attach.c; restarts)
 *   exec.c, copy.c exec and cp into a running sandbox;  join.c  other sandboxes' namespaces
 *   ns.c, userns.c, cgroup.c, mount.c, caps.c, process.c, init.c, tty.c, seccomp_load.c
 *   net.c          veth pairs onto bridges over rtnetlink (bridged networks)
 *                  the kernel concerns of the start, one each
 *   image.c        an image's layers and upper as the root (overlay, idmapped layers)
 *   layer_marks.c  `layer-marks`, `overlay-scan`: overlayfs markers of the image store's layers
 *   serve.c        `serve`: a fork server running many `run`s for one lab process
 *   error.c        the error record and its event line;  util.c, pidref.c, fdpass.c  small tools
 * The helper is single-threaded throughout. */
#include <stdio.h>
#include <string.h>

#include "layer_marks.h"
#include "run.h"
#include "seccomp_tools.h"
#include "serve.h"

#define HELPER_VERSION "lab-helper 1"

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "version") == 0) {
    puts(HELPER_VERSION);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return helper_run();
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve();
  /* `lab profile record` runs this as the sandbox's first program; compiling profiles
   * needs libseccomp and is the separate lab-seccomp binary (seccomp_tool.c). */
  if (argc >= 2 && strcmp(argv[1], "seccomp-record") == 0) return seccomp_record_main(argc, argv);
  /* the image store's overlay markers, and an upper layer's opaque directories */
  if (argc >= 2 && strcmp(argv[1], "layer-marks") == 0) return layer_marks_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "overlay-scan") == 0) return overlay_scan_main(argc, argv);
  fprintf(stderr, "usage: lab-helper run   (plan on fd 3; started by lab, not by hand)\n       lab-helper version\n");
  return 125;
}
