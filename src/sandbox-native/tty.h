/* Pseudo-terminals for `-t`: the sandbox side opens a pty of the sandbox's own devpts
 * instance and makes it its controlling terminal; the supervisor side holds the master
 * and relays it with the caller's terminal (raw mode, window size). */
#ifndef LAB_TTY_H
#define LAB_TTY_H

#include <stdbool.h>
#include <termios.h>

/* Plan line: tty ROWS COLS stdin|nostdin */
struct tty_plan {
  bool enabled;               /* the program gets a pty from the sandbox's devpts */
  bool forward_stdin;         /* -i with -t: the caller's stdin is relayed into the pty */
  unsigned short rows, cols;
};

struct plan;

/* Sandbox side, after the user switch and before seal_fds: a session of its own whose
 * controlling terminal is a new pty; 0-2 become the pty; the master goes out on sock. */
int tty_attach_child(const struct plan *p, int sock);
/* Supervisor side: the master sent by tty_attach_child, or -1 when none came. */
int tty_receive_master(int sock);

/* The foreground relay between the caller's stdin/stdout and a pty master. */
struct tty_relay {
  int master;          /* -1: no pty, every function is a no-op */
  int in;              /* the caller's stdin while it is relayed, else -1 */
  bool raw;            /* the caller's terminal was put in raw mode (and must be restored) */
  struct termios saved;
};

void tty_relay_begin(struct tty_relay *r, int master, bool forward_stdin);
/* The caller's window changed (SIGWINCH): pass the size on to the pty. */
void tty_relay_resize(struct tty_relay *r);
/* Moves what poll() reported ready: master -> stdout, stdin -> master. */
void tty_relay_pump(struct tty_relay *r, short master_revents, short in_revents);
/* Copies what is left in the master, restores the caller's terminal, closes the master. */
void tty_relay_end(struct tty_relay *r);

#endif
