/* Compiling seccomp profiles with the system's libseccomp, loaded at run time.
 *
 * `lab` resolves a Docker-format profile (capabilities, kernel, arch conditions) in
 * TypeScript and writes plain rule lines; this file turns them into classic BPF with
 * libseccomp and exports it. The sandbox start-up never comes here: it reads the
 * exported file (seccomp_load.c), so libseccomp is needed only when a profile is new.
 *
 * Input (one rule per line, tokens separated by single spaces):
 *   lab-seccomp 1
 *   [arches NATIVE [SUB]...]
 *   default ACTION
 *   [named SYSCALL]...
 *   [restrict-setid]
 *   rule SYSCALL ACTION [arg INDEX OP A B]...
 *   end
 * ACTION: allow | log | trap | kill_process | kill_thread | errno N | trace N
 * OP:     ne lt le eq ge gt masked_eq     (A, B: unsigned 64-bit decimals)
 * All conditions of one rule must hold (AND); separate rules for one syscall are OR.
 * `arches` names the ABIs the filter covers: the native one first, then any of the
 * ABIs the same kernel also runs (x86_64: x86, x32). Without it every such ABI is
 * covered. A system call from an ABI that is not covered kills the process.
 *
 * Rules are added in the order given; every arch is built in its own libseccomp
 * context and the contexts are merged. On ABIs with multiplexers (x86's socketcall and
 * ipc) libseccomp turns a rule for socket() into one for the direct call and one for
 * socketcall(SYS_SOCKET, ...), whose real arguments live in memory a filter cannot
 * read. So lab's rule file starts with an unconditional rule for the multiplexer
 * whenever a call behind it has argument conditions (resolve.ts): an unconditional
 * rule takes the whole syscall in libseccomp, so a 32-bit int 0x80 through socketcall
 * cannot slip past the argument filter of socket.
 *
 * `named` lines (resolve.ts writes them unless the default action allows, or already
 * is ENOSYS) list every syscall the profile names. A profile written before a syscall
 * existed cannot name it, and its default errno (usually EPERM) would then tell glibc
 * that the call exists and was refused, so glibc never falls back (statx, clone3,
 * faccessat2…): as runc and crun do, a short stub before the filter answers ENOSYS
 * for any number above the highest one named, per covered ABI. x32 calls (bit 30 on
 * x86_64) skip the stub and meet the filter as before.
 *
 * `restrict-setid` (a sandbox whose root writes a host-root-owned volume as host root,
 * see src/sandbox/root-volumes.ts) puts a second stub first, as systemd's
 * RestrictSUIDSGID= does: chmod, fchmod, fchmodat, fchmodat2, creat, open, openat, mknod
 * and mknodat fail with EPERM when their mode sets S_ISUID, or S_ISGID with group
 * execute; openat2, whose mode lives in memory the filter cannot read, answers ENOSYS
 * (callers fall back to openat); io_uring_setup fails with EPERM, as io_uring's own
 * open would bypass the filter. It runs before the profile's filter, so no profile, however
 * permissive, can let a set-id file be made. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp_tools.h"
#include "util.h"

#define MAX_INPUT (4u << 20)
#define X32_SYSCALL_BIT 0x40000000u
#define SECCOMP_RET_ERRNO_ENOSYS (0x00050000u | 38u)
#define MAX_RULE_ARGS 6
#define MAX_ARCHES 4

/* The few libseccomp types and constants used, as its ABI defines them (no -dev headers). */
typedef void *scmp_ctx;
struct scmp_arg_cmp {
  unsigned int arg;
  int op;
  uint64_t datum_a;
  uint64_t datum_b;
};
struct scmp_version {
  unsigned int major, minor, micro;
};
enum { SCMP_CMP_NE = 1, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ };
enum { SCMP_FLTATR_ACT_BADARCH = 2, SCMP_FLTATR_CTL_NNP = 3, SCMP_FLTATR_CTL_OPTIMIZE = 8 };
#define SCMP_ACT_KILL_PROCESS 0x80000000U
#define SCMP_ACT_KILL_THREAD 0x00000000U
#define SCMP_ACT_TRAP 0x00030000U
#define SCMP_ACT_ERRNO(x) (0x00050000U | ((x) & 0x0000ffffU))
#define SCMP_ACT_TRACE(x) (0x7ff00000U | ((x) & 0x0000ffffU))
#define SCMP_ACT_LOG 0x7ffc0000U
#define SCMP_ACT_ALLOW 0x7fff0000U
#define NR_SCMP_ERROR (-1)

static struct {
  void *dl;
  scmp_ctx (*init)(uint32_t);
  void (*release)(scmp_ctx);
  int (*merge)(scmp_ctx, scmp_ctx);
  uint32_t (*arch_native)(void);
  uint32_t (*arch_resolve_name)(const char *);
  int (*arch_add)(scmp_ctx, uint32_t);
  int (*arch_remove)(scmp_ctx, uint32_t);
  int (*attr_set)(scmp_ctx, int, uint32_t);
  int (*resolve_name_arch)(uint32_t, const char *);
  char *(*resolve_num_arch)(uint32_t, int);
  int (*rule_add_array)(scmp_ctx, uint32_t, int, unsigned int, const struct scmp_arg_cmp *);
  int (*export_bpf)(scmp_ctx, int);
  const struct scmp_version *(*version)(void);
} lib;

#define LIBSECCOMP_HINT "install libseccomp (Debian/Ubuntu: apt-get install libseccomp2 · Fedora: dnf install libseccomp)"

static int load_libseccomp(void) {
  set_stage("libseccomp");
  if (lib.dl) return 0;
  lib.dl = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib.dl) return set_error_msg("dlopen", "libseccomp.so.2", "libseccomp.so.2 is not installed; " LIBSECCOMP_HINT);
  struct {
    const char *name;
    void **slot;
  } syms[] = {
      {"seccomp_init", (void **)&lib.init},
      {"seccomp_release", (void **)&lib.release},
      {"seccomp_merge", (void **)&lib.merge},
      {"seccomp_arch_native", (void **)&lib.arch_native},
      {"seccomp_arch_resolve_name", (void **)&lib.arch_resolve_name},
      {"seccomp_arch_add", (void **)&lib.arch_add},
      {"seccomp_arch_remove", (void **)&lib.arch_remove},
      {"seccomp_attr_set", (void **)&lib.attr_set},
      {"seccomp_syscall_resolve_name_arch", (void **)&lib.resolve_name_arch},
      {"seccomp_syscall_resolve_num_arch", (void **)&lib.resolve_num_arch},
      {"seccomp_rule_add_array", (void **)&lib.rule_add_array},
      {"seccomp_export_bpf", (void **)&lib.export_bpf},
      {"seccomp_version", (void **)&lib.version},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    *syms[i].slot = dlsym(lib.dl, syms[i].name);
    if (!*syms[i].slot)
      return set_error_msg("dlsym", syms[i].name, "libseccomp.so.2 lacks %s (version 2.5 or newer is needed); %s", syms[i].name, LIBSECCOMP_HINT);
  }
  return 0;
}

/* The arches one filter covers: the native one first, then every ABI the same kernel
 * also accepts from a process (x86_64 runs i386 and x32 code; arm64 runs arm...). */
static const struct {
  const char *native;
  const char *subs[MAX_ARCHES - 1];
} arch_family[] = {
    {"x86_64", {"x86", "x32"}},     {"aarch64", {"arm"}},           {"ppc64le", {NULL}},
    {"ppc64", {"ppc"}},             {"s390x", {"s390"}},            {"mips64", {"mips64n32", "mips"}},
    {"mipsel64", {"mipsel64n32", "mipsel"}}, {"riscv64", {NULL}}, {"loongarch64", {NULL}},
};

static const char *native_name(void) {
  uint32_t n = lib.arch_native();
  const char *names[] = {"x86_64", "x86", "x32", "aarch64", "arm", "ppc64le", "ppc64", "ppc", "s390x", "s390",
                         "mips64", "mipsel64", "mips", "mipsel", "riscv64", "loongarch64", "parisc64", "parisc"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (lib.arch_resolve_name(names[i]) == n) return names[i];
  return NULL;
}

/* Fills names[] with the native arch and its sub-arches that this libseccomp knows. */
static int host_arches(const char *names[MAX_ARCHES], uint32_t tokens[MAX_ARCHES]) {
  const char *nat = native_name();
  if (!nat) return set_error_msg("seccomp_arch_native", NULL, "this machine's architecture is unknown to libseccomp");
  int n = 0;
  names[n] = nat;
  tokens[n++] = lib.arch_resolve_name(nat);
  for (size_t i = 0; i < sizeof arch_family / sizeof arch_family[0]; i++) {
    if (strcmp(arch_family[i].native, nat) != 0) continue;
    for (int j = 0; j < MAX_ARCHES - 1 && arch_family[i].subs[j]; j++) {
      uint32_t t = lib.arch_resolve_name(arch_family[i].subs[j]);
      if (!t) continue; /* an older libseccomp without this ABI */
      names[n] = arch_family[i].subs[j];
      tokens[n++] = t;
    }
  }
  return n;
}

/* Keeps only the listed ABIs, in the listed order; the native one must come first. */
static int restrict_arches(char **tok, int ntok, const char **names, uint32_t *tokens, int *n) {
  if (ntok < 1 || ntok > *n || strcmp(tok[0], names[0]) != 0) return -1;
  const char *keep_names[MAX_ARCHES];
  uint32_t keep_tokens[MAX_ARCHES];
  for (int i = 0; i < ntok; i++) {
    int found = -1;
    for (int j = 0; j < *n; j++)
      if (strcmp(tok[i], names[j]) == 0) found = j;
    for (int k = 0; k < i; k++)
      if (strcmp(tok[i], keep_names[k]) == 0) found = -1; /* listed twice */
    if (found < 0) return -1;
    keep_names[i] = names[found];
    keep_tokens[i] = tokens[found];
  }
  for (int i = 0; i < ntok; i++) names[i] = keep_names[i], tokens[i] = keep_tokens[i];
  *n = ntok;
  return 0;
}

static int bad_arches(const char *path, int lineno) {
  return set_error_msg("parse", path, "line %d: \"arches\" must list this machine's native ABI first, then only ABIs its kernel also runs", lineno);
}

static int parse_action(char **tok, int ntok, int *used, uint32_t *out) {
  unsigned long long v;
  if (ntok < 1) return -1;
  *used = 1;
  if (strcmp(tok[0], "allow") == 0) *out = SCMP_ACT_ALLOW;
  else if (strcmp(tok[0], "log") == 0) *out = SCMP_ACT_LOG;
  else if (strcmp(tok[0], "trap") == 0) *out = SCMP_ACT_TRAP;
  else if (strcmp(tok[0], "kill_process") == 0) *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(tok[0], "kill_thread") == 0) *out = SCMP_ACT_KILL_THREAD;
  else if ((strcmp(tok[0], "errno") == 0 || strcmp(tok[0], "trace") == 0) && ntok >= 2 && parse_u64(tok[1], &v) == 0 && v <= 0xffff) {
    *out = tok[0][0] == 'e' ? SCMP_ACT_ERRNO((uint32_t)v) : SCMP_ACT_TRACE((uint32_t)v);
    *used = 2;
  } else {
    return -1;
  }
  return 0;
}

static int parse_op(const char *s) {
  const char *ops[] = {"ne", "lt", "le", "eq", "ge", "gt", "masked_eq"};
  for (int i = 0; i < 7; i++)
    if (strcmp(s, ops[i]) == 0) return SCMP_CMP_NE + i;
  return -1;
}

static int valid_syscall_name(const char *s) {
  if (!*s || strlen(s) > 64) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
  return 1;
}

static char *read_input(const char *path) {
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return set_error("open", path, errno), NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return set_error("fstat", path, errno), NULL;
  if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_INPUT) return set_error_msg("read", path, "not a regular file below 4 MiB"), NULL;
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) return set_error("malloc", path, ENOMEM), NULL;
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  if (strlen(buf) != got) {
    free(buf);
    return set_error_msg("read", path, "the rule file contains a NUL byte"), NULL;
  }
  return buf;
}

struct ctxs {
  scmp_ctx c[MAX_ARCHES];
  int n;
};

static void release_ctxs(struct ctxs *x) {
  for (int i = 0; i < x->n; i++)
    if (x->c[i]) lib.release(x->c[i]);
}
#define autorelease __attribute__((cleanup(release_ctxs)))

static void free_charp(char **p) { free(*p); }
#define autofree __attribute__((cleanup(free_charp)))

/* Adds one rule to one arch's context; returns 1 when the syscall has no number of its own there. */
static int add_rule(scmp_ctx ctx, uint32_t arch, uint32_t def, const char *name, uint32_t action,
                    const struct scmp_arg_cmp *args, unsigned nargs, int lineno) {
  /* libseccomp's rule calls take the native numbering (pseudo numbers for calls the
   * native arch lacks) and translate it by name for each arch of the context. */
  int nr = lib.resolve_name_arch(lib.arch_native(), name);
  if (nr == NR_SCMP_ERROR) return 1;
  /* a pseudo number here: the call is absent on this arch, or reached via a multiplexer */
  int missing = lib.resolve_name_arch(arch, name) < 0;
  /* libseccomp refuses rules that repeat the default; they change nothing anyway */
  if (action == def) return missing;
  int r = lib.rule_add_array(ctx, action, nr, nargs, args);
  if (r < 0) {
    char where[96];
    snprintf(where, sizeof where, "line %d (%s)", lineno, name);
    return set_error_msg("seccomp_rule_add", where, "libseccomp rejected the rule: %s", strerror(-r));
  }
  return missing;
}

static int bad_line(const char *path, int lineno) {
  return set_error_msg("parse", path, "line %d is not a valid rule line", lineno);
}

/* Parses one "rule" line's action and conditions and adds it to every arch. */
static int compile_rule(char **tok, int ntok, struct ctxs *cx, const uint32_t *arch_tokens, uint32_t def,
                        const char *path, int lineno, unsigned *missing) {
  if (ntok < 3 || !valid_syscall_name(tok[1])) return bad_line(path, lineno);
  uint32_t action;
  int used;
  if (parse_action(tok + 2, ntok - 2, &used, &action) < 0) return bad_line(path, lineno);
  struct scmp_arg_cmp args[MAX_RULE_ARGS];
  unsigned nargs = 0, seen = 0;
  for (int i = 2 + used; i < ntok; i += 5) {
    unsigned long long idx, a, b;
    if (i + 4 >= ntok || strcmp(tok[i], "arg") != 0 || parse_u64(tok[i + 1], &idx) < 0 || idx > 5 ||
        parse_u64(tok[i + 3], &a) < 0 || parse_u64(tok[i + 4], &b) < 0 || nargs == MAX_RULE_ARGS)
      return bad_line(path, lineno);
    int op = parse_op(tok[i + 2]);
    /* libseccomp takes one comparison per argument in a rule */
    if (op < 0 || (seen & (1u << idx))) return bad_line(path, lineno);
    seen |= 1u << idx;
    args[nargs++] = (struct scmp_arg_cmp){(unsigned)idx, op, a, b};
  }
  for (int i = 0; i < cx->n; i++) {
    int r = add_rule(cx->c[i], arch_tokens[i], def, tok[1], action, args, nargs, lineno);
    if (r < 0) return -1;
    if (r == 1 && i == 0) (*missing)++;
  }
  return 0;
}

/* One context per arch, merged at the end (see the comment at the top). */
static int make_contexts(struct ctxs *cx, uint32_t def, const char **arch_names, const uint32_t *arch_tokens, int n_arches) {
  for (int i = 0; i < n_arches; i++) {
    scmp_ctx c = lib.init(def);
    if (!c) return set_error_msg("seccomp_init", NULL, "libseccomp refused the default action");
    cx->c[cx->n++] = c;
    /* The bad-arch action only meets ABIs the host has and we do not know: kill. */
    lib.attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* The helper sets no_new_privs itself, before installing the filter. */
    lib.attr_set(c, SCMP_FLTATR_CTL_NNP, 0);
    /* A binary tree of syscall numbers: O(log n) per syscall instead of a linear scan. */
    lib.attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    /* Real errno values from libseccomp (otherwise many become EFAULT) for our messages. */
    lib.attr_set(c, 9 /* SCMP_FLTATR_API_SYSRAWRC */, 1);
    if (arch_tokens[i] != lib.arch_native()) {
      int r = lib.arch_add(c, arch_tokens[i]);
      if (r == 0) r = lib.arch_remove(c, lib.arch_native());
      if (r < 0) return set_error_msg("seccomp_arch_add", arch_names[i], "%s", strerror(-r));
    }
  }
  return 0;
}

/* The highest syscall number the profile names on each covered ABI (0: none, no stub). */
static void note_named(const char *name, const char **arch_names, const uint32_t *arch_tokens, int n_arches, long *highest) {
  for (int i = 0; i < n_arches; i++) {
    if (strcmp(arch_names[i], "x32") == 0) continue; /* shares x86_64's audit value: see the top */
    int nr = lib.resolve_name_arch(arch_tokens[i], name);
    if (nr >= 0 && nr > highest[i]) highest[i] = nr;
  }
}

static struct sock_filter_insn {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
} insn(uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
  return (struct sock_filter_insn){code, jt, jf, k};
}

/* Classic BPF opcodes the stub uses (linux/filter.h). */
enum { LD_W_ABS = 0x20, JEQ_K = 0x15, JGT_K = 0x25, JSET_K = 0x45, RET_K = 0x06 };

/* The ENOSYS stub: for each ABI with a highest named number, "arch matches and nr is
 * above it → ENOSYS"; everything else falls through to libseccomp's filter, which
 * follows the stub unchanged (its jumps are relative). Returns the instruction count. */
static int enosys_stub(struct sock_filter_insn *out, const char **arch_names, const uint32_t *arch_tokens,
                       int n_arches, const long *highest) {
  int n = 0, sections = 0;
  out[n++] = insn(LD_W_ABS, 0, 0, 4); /* seccomp_data.arch */
  int fixup_filter[MAX_ARCHES * 2], nf = 0, fixup_enosys[MAX_ARCHES], ne = 0;
  for (int i = 0; i < n_arches; i++) {
    if (highest[i] <= 0) continue;
    int x86_64 = strcmp(arch_names[i], "x86_64") == 0;
    int len = 3 + x86_64; /* jeq, ld nr, [jset], jgt */
    out[n++] = insn(JEQ_K, 0, (uint8_t)(len - 1), arch_tokens[i]);
    out[n++] = insn(LD_W_ABS, 0, 0, 0); /* seccomp_data.nr */
    if (x86_64) {
      fixup_filter[nf++] = n;
      out[n++] = insn(JSET_K, 0, 0, X32_SYSCALL_BIT);
    }
    fixup_enosys[ne++] = n;
    fixup_filter[nf++] = -n - 1; /* the false branch of the same jgt */
    out[n++] = insn(JGT_K, 0, 0, (uint32_t)highest[i]);
    sections++;
  }
  if (!sections) return 0;
  int enosys = n;
  out[n++] = insn(RET_K, 0, 0, SECCOMP_RET_ERRNO_ENOSYS);
  int filter = n;
  for (int i = 0; i < ne; i++) out[fixup_enosys[i]].jt = (uint8_t)(enosys - fixup_enosys[i] - 1);
  for (int i = 0; i < nf; i++) {
    if (fixup_filter[i] >= 0) out[fixup_filter[i]].jt = (uint8_t)(filter - fixup_filter[i] - 1);
    else out[-fixup_filter[i] - 1].jf = (uint8_t)(filter - (-fixup_filter[i] - 1) - 1);
  }
  /* an arch no section matched: the last jeq's false branch lands on the ENOSYS
   * return; send it to the filter instead */
  for (int i = 1; i < enosys; i++)
    if (out[i].code == JEQ_K && i + 1 + out[i].jf == enosys) out[i].jf = (uint8_t)(filter - i - 1);
  return n;
}

/* The set-id stub (see the top). A tiny assembler: targets are labels, resolved once
 * the layout is known; every jump goes forward. */
enum { L_NEXT = -1, L_DENY = -2, L_ENOSYS = -3, L_END = -4, L_ARG0 = -10 /* L_ARG0 - k: the check of argument k */ };
struct asm_insn {
  uint16_t code;
  int jt, jf; /* labels, or >= 0: an instruction index */
  uint32_t k;
};
enum { ALU_AND_K = 0x54, JA = 0x05 };
#define SETID_MAX_INSNS 160

static int setid_stub(struct sock_filter_insn *out, const char **arch_names, const uint32_t *arch_tokens, int n_arches) {
  static const struct { const char *name; int arg; } calls[] = {
      {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"creat", 1}, {"open", 2},
      {"openat", 3}, {"mknod", 1}, {"mknodat", 2}, {"openat2", -1}, {"io_uring_setup", -2},
  };
  struct asm_insn a[SETID_MAX_INSNS];
  int n = 0, arg_used[6] = {0};
  a[n++] = (struct asm_insn){LD_W_ABS, 0, 0, 4};
  /* one section per audit value: x32 shares x86_64's, its numbers carry bit 30 */
  uint32_t audits[MAX_ARCHES];
  int n_audits = 0;
  for (int i = 0; i < n_arches; i++) {
    uint32_t audit = strcmp(arch_names[i], "x32") == 0 ? 0xC000003Eu /* AUDIT_ARCH_X86_64 */ : arch_tokens[i];
    int seen = 0;
    for (int j = 0; j < n_audits; j++) seen |= audits[j] == audit;
    if (!seen) audits[n_audits++] = audit;
  }
  for (int g = 0; g < n_audits; g++) {
    int jeq = n;
    a[n++] = (struct asm_insn){JEQ_K, L_NEXT, 0 /* patched below */, audits[g]};
    a[n++] = (struct asm_insn){LD_W_ABS, 0, 0, 0};
    for (int i = 0; i < n_arches; i++) {
      uint32_t audit = strcmp(arch_names[i], "x32") == 0 ? 0xC000003Eu : arch_tokens[i];
      if (audit != audits[g]) continue;
      for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        int nr = lib.resolve_name_arch(arch_tokens[i], calls[c].name);
        if (nr < 0) continue;
        if (n + 8 >= SETID_MAX_INSNS) return set_error_msg("seccomp", NULL, "the set-id stub is too long");
        int target = calls[c].arg >= 0 ? L_ARG0 - calls[c].arg : calls[c].arg == -1 ? L_ENOSYS : L_DENY;
        if (calls[c].arg >= 0) arg_used[calls[c].arg] = 1;
        a[n++] = (struct asm_insn){JEQ_K, target, L_NEXT, (uint32_t)nr};
      }
    }
    a[n++] = (struct asm_insn){JA, 0, 0, (uint32_t)L_END};
    a[jeq].jf = n; /* another ABI: the next section */
  }
  a[n++] = (struct asm_insn){JA, 0, 0, (uint32_t)L_END}; /* no section matched */
  int arg_at[6];
  for (int k = 0; k < 6; k++) {
    arg_at[k] = -1;
    if (!arg_used[k]) continue;
    arg_at[k] = n;
    /* the low 32 bits of argument k: the mode */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    a[n++] = (struct asm_insn){LD_W_ABS, 0, 0, (uint32_t)(16 + 8 * k + 4)};
#else
    a[n++] = (struct asm_insn){LD_W_ABS, 0, 0, (uint32_t)(16 + 8 * k)};
#endif
    a[n++] = (struct asm_insn){JSET_K, L_DENY, L_NEXT, 04000 /* S_ISUID */};
    a[n++] = (struct asm_insn){ALU_AND_K, 0, 0, 02010 /* S_ISGID | S_IXGRP */};
    a[n++] = (struct asm_insn){JEQ_K, L_DENY, L_END, 02010};
  }
  int deny = n;
  a[n++] = (struct asm_insn){RET_K, 0, 0, 0x00050000u | 1u /* EPERM */};
  int enosys = n;
  a[n++] = (struct asm_insn){RET_K, 0, 0, SECCOMP_RET_ERRNO_ENOSYS};
  int end = n;
  for (int i = 0; i < n; i++) {
    int jt = a[i].jt, jf = a[i].jf;
    int *labels[2] = {&jt, &jf};
    for (int l = 0; l < 2; l++) {
      int v = *labels[l];
      int to = v >= 0 ? v : v == L_NEXT ? i + 1 : v == L_DENY ? deny : v == L_ENOSYS ? enosys : v == L_END ? end : arg_at[L_ARG0 - v];
      *labels[l] = to;
    }
    uint32_t k = a[i].k;
    if (a[i].code == JA) k = (uint32_t)(end - i - 1);
    else if ((a[i].code & 0x07) == 0x05 && (jt - i - 1 > 255 || jf - i - 1 > 255)) return set_error_msg("seccomp", NULL, "the set-id stub jumps too far");
    if ((a[i].code & 0x07) == 0x05 && a[i].code != JA) out[i] = insn(a[i].code, (uint8_t)(jt - i - 1), (uint8_t)(jf - i - 1), k);
    else out[i] = insn(a[i].code, 0, 0, k);
  }
  return n;
}

/* Prepends the stub to the exported program in `fd` (a file of `size` bytes). */
static int prepend_stub(int fd, const char *outpath, const struct sock_filter_insn *stub, int n_stub) {
  struct stat st;
  if (fstat(fd, &st) < 0) return set_error("fstat", outpath, errno);
  size_t size = (size_t)st.st_size;
  if (size % 8 || size / 8 + (size_t)n_stub > 4096) return set_error_msg("seccomp", outpath, "the filter is too long for the ENOSYS stub");
  autofree char *buf = malloc(size + (size_t)n_stub * 8);
  if (!buf) return set_error("malloc", NULL, ENOMEM);
  memcpy(buf, stub, (size_t)n_stub * 8);
  if (pread(fd, buf + (size_t)n_stub * 8, size, 0) != (ssize_t)size) return set_error("read", outpath, errno ? errno : EIO);
  size_t total = size + (size_t)n_stub * 8;
  if (pwrite(fd, buf, total, 0) != (ssize_t)total) return set_error("write", outpath, errno ? errno : EIO);
  return 0;
}

static int compile(const char *in, const char *outpath) {
  if (load_libseccomp() < 0) return -1;
  set_stage("seccomp-compile");
  autofree char *text = read_input(in);
  if (!text) return -1;
  const char *arch_names[MAX_ARCHES];
  uint32_t arch_tokens[MAX_ARCHES];
  int n_arches = host_arches(arch_names, arch_tokens);
  if (n_arches < 0) return -1;

  autorelease struct ctxs cx = {{NULL}, 0};
  uint32_t def = 0;
  int have_default = 0, have_header = 0, have_arches = 0, ended = 0, lineno = 0;
  unsigned n_rules = 0, missing = 0;
  long highest[MAX_ARCHES] = {0};
  int restrict_setid = 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *tok[4 + 5 * MAX_RULE_ARGS + 2];
    int ntok = 0;
    for (char *s2 = NULL, *t = strtok_r(line, " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
      if (ntok == (int)(sizeof tok / sizeof tok[0])) return bad_line(in, lineno);
      tok[ntok++] = t;
    }
    if (ntok == 0 || ended) return bad_line(in, lineno);
    if (!have_header) {
      if (ntok != 2 || strcmp(tok[0], "lab-seccomp") != 0 || strcmp(tok[1], "1") != 0) return bad_line(in, lineno);
      have_header = 1;
    } else if (strcmp(tok[0], "arches") == 0 && !have_default && !have_arches) {
      if (restrict_arches(tok + 1, ntok - 1, arch_names, arch_tokens, &n_arches) < 0) return bad_arches(in, lineno);
      have_arches = 1;
    } else if (strcmp(tok[0], "default") == 0 && !have_default) {
      int used;
      if (parse_action(tok + 1, ntok - 1, &used, &def) < 0 || used != ntok - 1) return bad_line(in, lineno);
      have_default = 1;
      if (make_contexts(&cx, def, arch_names, arch_tokens, n_arches) < 0) return -1;
    } else if (strcmp(tok[0], "named") == 0 && have_default && n_rules == 0) {
      if (ntok != 2 || !valid_syscall_name(tok[1])) return bad_line(in, lineno);
      note_named(tok[1], arch_names, arch_tokens, n_arches, highest);
    } else if (strcmp(tok[0], "restrict-setid") == 0 && have_default && n_rules == 0 && ntok == 1) {
      restrict_setid = 1;
    } else if (strcmp(tok[0], "rule") == 0 && have_default) {
      if (compile_rule(tok, ntok, &cx, arch_tokens, def, in, lineno, &missing) < 0) return -1;
      n_rules++;
    } else if (strcmp(tok[0], "end") == 0 && have_default) {
      ended = 1;
    } else {
      return bad_line(in, lineno);
    }
  }
  if (!ended) return set_error_msg("parse", in, "the rule file does not end with \"end\"");
  for (int i = 1; i < cx.n; i++) {
    int r = lib.merge(cx.c[0], cx.c[i]);
    if (r < 0) return set_error_msg("seccomp_merge", arch_names[i], "%s", strerror(-r));
    cx.c[i] = NULL; /* merge consumed it */
  }
  autoclose int out = open(outpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (out < 0) return set_error("open", outpath, errno);
  int r = lib.export_bpf(cx.c[0], out);
  if (r < 0) return set_error_msg("seccomp_export_bpf", outpath, "%s", strerror(-r));
  struct sock_filter_insn stub[1 + MAX_ARCHES * 4 + 1];
  int n_stub = enosys_stub(stub, arch_names, arch_tokens, n_arches, highest);
  if (n_stub > 0 && prepend_stub(out, outpath, stub, n_stub) < 0) return -1;
  if (restrict_setid) {
    struct sock_filter_insn setid[SETID_MAX_INSNS];
    int n_setid = setid_stub(setid, arch_names, arch_tokens, n_arches);
    if (n_setid < 0 || prepend_stub(out, outpath, setid, n_setid) < 0) return -1;
  }
  struct stat st;
  if (fstat(out, &st) < 0 || fsync(out) < 0) return set_error("fsync", outpath, errno);
  const struct scmp_version *v = lib.version();
  printf("{\"arches\":[");
  for (int i = 0; i < n_arches; i++) printf("%s\"%s\"", i ? "," : "", arch_names[i]);
  printf("],\"enosysAbove\":{");
  for (int i = 0, first = 1; i < n_arches; i++)
    if (highest[i] > 0) printf("%s\"%s\":%ld", first ? "" : ",", arch_names[i], highest[i]), first = 0;
  printf("},\"restrictSetid\":%s,\"rules\":%u,\"missingOnNative\":%u,\"instructions\":%lld,\"libseccomp\":\"%u.%u.%u\"}\n", restrict_setid ? "true" : "false", n_rules, missing,
         (long long)st.st_size / 8, v->major, v->minor, v->micro);
  return 0;
}

int seccomp_compile_main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: lab-seccomp compile RULES_IN BPF_OUT\n");
    return 2;
  }
  if (compile(argv[2], argv[3]) < 0) {
    write_error_event(2);
    return 125;
  }
  return fflush(stdout) == 0 ? 0 : 125;
}

/* Syscall numbers are dense from each ABI's base; these ranges cover every table
 * libseccomp knows (x32 numbers carry bit 30, the MIPS ABIs start at 4000/5000/6000,
 * ARM adds a few private calls at 0xf0000). */
static void print_table(uint32_t arch, const char *name) {
  long base = 0;
  if (strcmp(name, "x32") == 0) base = 0x40000000L;
  else if (strncmp(name, "mips", 4) == 0) base = strstr(name, "n32") ? 6000 : strstr(name, "64") ? 5000 : 4000;
  int first = 1;
  for (long n = base; n < base + 1024; n++) {
    char *s = lib.resolve_num_arch(arch, (int)n);
    if (!s) continue;
    printf("%s\"%s\":%ld", first ? "" : ",", s, n);
    first = 0;
    free(s);
  }
  if (strcmp(name, "arm") == 0)
    for (long n = 0xf0000; n < 0xf0010; n++) {
      char *s = lib.resolve_num_arch(arch, (int)n);
      if (!s) continue;
      printf("%s\"%s\":%ld", first ? "" : ",", s, n);
      first = 0;
      free(s);
    }
}

int seccomp_names_main(int argc, char **argv) {
  if (load_libseccomp() < 0) {
    write_error_event(2);
    return 125;
  }
  const char *names[MAX_ARCHES];
  uint32_t tokens[MAX_ARCHES];
  int n = host_arches(names, tokens);
  if (n < 0) {
    write_error_event(2);
    return 125;
  }
  const struct scmp_version *v = lib.version();
  printf("{\"libseccomp\":\"%u.%u.%u\",\"native\":\"%s\",\"arches\":{", v->major, v->minor, v->micro, names[0]);
  for (int i = 0; i < n; i++) {
    printf("%s\"%s\":{\"audit\":%u,\"syscalls\":{", i ? "," : "", names[i], tokens[i]);
    print_table(tokens[i], names[i]);
    printf("}}");
  }
  printf("}}\n");
  return fflush(stdout) == 0 ? 0 : 125;
}
