/* Errors of the sandbox helper: what failed, where, and why, as the engine reports it.
 *
 * Convention (crun's): a function that can fail returns -1 (or a negative value) and
 * records the failure with set_error()/set_error_msg(), naming the call and the path
 * ("open", "/proc/12/ns/net"); its caller passes the -1 up unchanged and does not
 * record again. The record is this module's alone: other files set it through these
 * functions and read it with last_error(). Across processes (a child before exec, the
 * start sequence to its caller) an error travels as one JSON event line, written by
 * format_error_event()/write_error_event() and handed over as data. */
#ifndef LAB_ERROR_H
#define LAB_ERROR_H

#include <stddef.h>

struct lab_error {
  const char *stage;  /* which setup stage: plan, clone, mount, pivot, caps, exec... */
  const char *call;   /* the failing call: mount, open_tree, pivot_root... */
  char path[512];     /* the path involved, if any */
  int err;            /* errno, 0 when the failure is not a syscall */
  char detail[256];   /* extra words for non-errno failures */
};

/* Records a failed call; returns -1. */
int set_error(const char *call, const char *path, int err);
/* Records a failure that is not an errno; returns -1. */
int set_error_msg(const char *call, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Names the stage that errors recorded from now on belong to ("mount", "caps"...). */
void set_stage(const char *stage);
/* The last recorded error. */
const struct lab_error *last_error(void);

/* The last error as one JSON event line ("{"event":"error",...}\n") in buf; its length. */
size_t format_error_event(char *buf, size_t cap);
/* Writes that line on fd. */
void write_error_event(int fd);
/* Writes it on fd and returns code, for a command's last word: return report_error(ctl, 125). */
int report_error(int fd, int code);

#endif
