/* `lab sandbox attach`: clients of a detached sandbox's supervisor that see its output
 * as it is produced and may type into it. Framing, both ways: one byte of kind, a 4-byte
 * big-endian length, then the data.
 *   supervisor → client: 'o' stdout (a terminal's output too), 'e' stderr
 *   client → supervisor: 'i' input for the program (only with -i), 'r' a terminal's new
 *                        size (2-byte rows, 2-byte columns, big-endian)
 * The supervisor never blocks on a client: one that cannot take the output at once is
 * dropped (it sees EOF and says so), and a client's input waits while the program's
 * input is full. */
#ifndef LAB_ATTACH_H
#define LAB_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#define ATTACH_MAX 8
#define ATTACH_FRAME_MAX 4096

struct attached {
  int fd;
  unsigned char in[5 + ATTACH_FRAME_MAX]; /* a client's frame being read */
  size_t have;
  unsigned char pend[ATTACH_FRAME_MAX]; /* input the program could not take yet */
  size_t npend;
};

struct attach_set {
  struct attached c[ATTACH_MAX];
  int n;
};

/* Takes a connected client; false when the set is full. */
bool attach_add(struct attach_set *a, int fd);
/* Sends output to every client, dropping those that cannot take it now. */
void attach_broadcast(struct attach_set *a, char stream, const char *buf, size_t n);
/* Reads what client i sent: input goes to input_fd (-1: the sandbox takes none), a size
 * to tty_fd (-1: no terminal). The client is dropped when it has gone. */
void attach_read(struct attach_set *a, int i, int input_fd, int tty_fd);
/* Retries client i's waiting input once input_fd can take more, then its next frames. */
void attach_flush(struct attach_set *a, int i, int input_fd, int tty_fd);
void attach_drop(struct attach_set *a, int i);

#endif
