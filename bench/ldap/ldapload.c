// ldapload: a closed-loop LDAP load generator on OpenLDAP's libldap (the library ldapsearch,
// nslcd and SSSD use), for bench/ldap. bench/ldap/generator.ts compiles it on first use:
//   gcc -O2 -pthread -o ldapload ldapload.c -lldap -llber
//
// Modes (every reply is checked; a failed operation is an error, never a success):
//   bind    simple binds as cn=user<K>,ou=users,<base> with --password, K cycling over
//           1..--users; before timing, each of those users binds once (a warm bind cache)
//   search  bound once per connection as --bind-dn/--bind-password, then (cn=user<K>) subtree
//           searches from <base>, K cycling over 1..--users; each must return --expect entries
//   dump    bound once per connection as the searcher, one-level searches of --dump-base with
//           every attribute; each must return --expect entries
//
// Each connection has one request outstanding at a time. --threads threads (default 1) share
// the connections; each runs an event loop over its connections (poll, then the asynchronous
// libldap calls and ldap_result with a zero timeout), so 32 connections cost no context switch
// per operation. The timed phase runs for --seconds or --count operations, whichever ends
// first; requests still in flight at the deadline are awaited and counted. Prints one line of
// JSON: ops (successes), errors, seconds, ops_per_s, p50/p99/max/mean in ms, the generator's
// own CPU (cpu_s, cpu_cores = cpu_s / seconds), for each --watch-pid (up to 4) the CPU that
// process and its descendants used over the same interval (watched_cpu_s, from /proc/PID/stat;
// -1 when unreadable), and the fewest and most entries a search returned. Exit status: 0 when no operation failed, 1 when some did, 2 on bad usage or setup.
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <ldap.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <dirent.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_BIND, MODE_SEARCH, MODE_DUMP };

static struct {
  const char *uri, *base, *password, *bind_dn, *bind_password, *dump_base;
  enum mode mode;
  int connections, threads, users;
  long expect; /* -1: not checked */
  double seconds, warmup;
  uint64_t count; /* 0: no cap */
  int watch_pids[4], nwatch;
} opt = { .uri = NULL, .base = "dc=ldap,dc=goauthentik,dc=io", .connections = 4, .threads = 1, .users = 1000, .expect = -2, .seconds = 6, .warmup = 0, .count = 0 };

/* ---- latency histogram: log-linear, 64 sub-buckets per power of two (< 1.6 % error), in ns ---- */

#define SUB 64
#define LINEAR (2 * SUB)
#define MAX_EXP 44
#define BUCKETS (LINEAR + (MAX_EXP - 7) * SUB)

struct hist {
  uint64_t b[BUCKETS];
  uint64_t n, max_ns;
  double sum_ns;
};

static int bucket_of(uint64_t v) {
  if (v < LINEAR) return (int)v;
  int e = 63 - __builtin_clzll(v); /* >= 7 */
  if (e >= MAX_EXP) return BUCKETS - 1;
  int shift = e - 6;
  return LINEAR + (e - 7) * SUB + (int)((v >> shift) - SUB);
}

/* The middle of a bucket's range. */
static double value_of(int i) {
  if (i < LINEAR) return i;
  int e = (i - LINEAR) / SUB + 7, shift = e - 6;
  uint64_t lo = ((uint64_t)((i - LINEAR) % SUB) + SUB) << shift;
  return (double)lo + (double)((uint64_t)1 << shift) / 2;
}

static void hist_add(struct hist *h, uint64_t ns) {
  h->b[bucket_of(ns)]++;
  h->n++;
  h->sum_ns += (double)ns;
  if (ns > h->max_ns) h->max_ns = ns;
}

static void hist_merge(struct hist *into, const struct hist *h) {
  for (int i = 0; i < BUCKETS; i++) into->b[i] += h->b[i];
  into->n += h->n;
  into->sum_ns += h->sum_ns;
  if (h->max_ns > into->max_ns) into->max_ns = h->max_ns;
}

/* The q-quantile (0 < q <= 1) in ms: the smallest recorded value with at least q of all at or below it. */
static double hist_quantile_ms(const struct hist *h, double q) {
  if (h->n == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;
  if (rank < 1) rank = 1;
  for (int i = 0; i < BUCKETS; i++) {
    seen += h->b[i];
    if (seen >= rank) return value_of(i) / 1e6;
  }
  return (double)h->max_ns / 1e6;
}

/* ---- connections and the event loop ---- */

struct conn {
  LDAP *ld;
  int fd, msgid, busy, dead, index;
  long entries;
  uint64_t started_ns;
  /* dump mode: the raw reply stream, read past libldap */
  unsigned char *buf;
  size_t len, cap;
};

struct worker {
  pthread_t thread;
  struct conn **conns;
  int nconns;
  struct hist hist;
  uint64_t ops, errors;
  long entries_min, entries_max;
};

/* One phase: until `deadline_ns` (0: none) or `cap` operations issued (0: none); recorded when `timed`. */
static struct {
  uint64_t deadline_ns, cap;
  int timed;
  atomic_uint_fast64_t issued;
} phase;

static atomic_int reported; /* error lines printed to stderr so far */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static atomic_uint_fast64_t send_failures; /* requests libldap could not send: errors too */

/* The first few failures go to stderr; the rest are only counted. */
static void report(const char *what, int code) {
  if (atomic_fetch_add(&reported, 1) < 5) fprintf(stderr, "ldapload: %s: %s (%d)\n", what, ldap_err2string(code), code);
}

static char *user_dn(char *buf, size_t size, uint64_t i) {
  snprintf(buf, size, "cn=user%llu,ou=users,%s", (unsigned long long)(i % (uint64_t)opt.users + 1), opt.base);
  return buf;
}

/*
 * Dump mode bypasses libldap once bound: libldap spends more CPU decoding each entry into an
 * LDAPMessage than slapd spends sending it, so ldap_result would make the client the bottleneck
 * of a 10,000-entry dump. The request is encoded with liblber and written to the socket (libldap
 * has nothing pending on it), and the replies are framed by their BER lengths: each PDU must be
 * an LDAPMessage with this request's message ID, holding a SearchResultEntry (counted), a
 * SearchResultReference (skipped) or the SearchResultDone whose resultCode ends the search.
 */
static int send_dump(struct conn *c) {
  BerElement *ber = ber_alloc_t(LBER_USE_DER);
  struct berval *bv = NULL;
  c->msgid = (c->msgid + 1) & 0x7fffffff;
  if (c->msgid < 1000000) c->msgid = 1000000; /* well clear of the IDs libldap gave out */
  int rc = LDAP_ENCODING_ERROR;
  if (ber != NULL &&
      ber_printf(ber, "{it{seeiibts{}}}", (ber_int_t)c->msgid, (ber_tag_t)LDAP_REQ_SEARCH, opt.dump_base, (ber_int_t)LDAP_SCOPE_ONELEVEL,
                 (ber_int_t)LDAP_DEREF_NEVER, (ber_int_t)0, (ber_int_t)0, (ber_int_t)0, (ber_tag_t)LDAP_FILTER_PRESENT, "objectClass") != -1 &&
      ber_flatten(ber, &bv) == 0) {
    rc = LDAP_SUCCESS;
    for (size_t off = 0; off < bv->bv_len;) {
      ssize_t n = send(c->fd, bv->bv_val + off, bv->bv_len - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        rc = LDAP_SERVER_DOWN;
        break;
      }
      off += (size_t)n;
    }
  }
  if (bv != NULL) ber_bvfree(bv);
  if (ber != NULL) ber_free(ber, 1);
  return rc;
}

/* Sends the next request on `c`; returns 0 when the phase is over (nothing sent). */
static int issue(struct conn *c) {
  if (phase.deadline_ns != 0 && now_ns() >= phase.deadline_ns) return 0;
  uint64_t i = atomic_fetch_add(&phase.issued, 1);
  if (phase.cap != 0 && i >= phase.cap) return 0;
  char buf[512];
  int rc;
  c->entries = 0;
  c->started_ns = now_ns();
  if (opt.mode == MODE_BIND) {
    struct berval cred = { strlen(opt.password), (char *)opt.password };
    rc = ldap_sasl_bind(c->ld, user_dn(buf, sizeof buf, i), LDAP_SASL_SIMPLE, &cred, NULL, NULL, &c->msgid);
  } else if (opt.mode == MODE_SEARCH) {
    snprintf(buf, sizeof buf, "(cn=user%llu)", (unsigned long long)(i % (uint64_t)opt.users + 1));
    rc = ldap_search_ext(c->ld, opt.base, LDAP_SCOPE_SUBTREE, buf, NULL, 0, NULL, NULL, NULL, 0, &c->msgid);
  } else {
    rc = send_dump(c);
  }
  if (rc != LDAP_SUCCESS) {
    report("cannot send a request", rc);
    atomic_fetch_add(&send_failures, 1);
    c->dead = 1;
    return 0;
  }
  return 1;
}

/*
 * The operation on `c` ended with the result code `code`, or with the connection lost (`lost`):
 * check, record, send the next.
 */
static void finish(struct worker *w, struct conn *c, int lost, int code) {
  uint64_t elapsed = now_ns() - c->started_ns;
  int ok = 0;
  if (lost) {
    report("connection lost", code);
    c->dead = 1;
  } else if (code != LDAP_SUCCESS) {
    report(opt.mode == MODE_BIND ? "bind failed" : "search failed", code);
  } else if (opt.mode != MODE_BIND && opt.expect >= 0 && c->entries != opt.expect) {
    if (atomic_fetch_add(&reported, 1) < 5) fprintf(stderr, "ldapload: a search returned %ld entries, expected %ld\n", c->entries, opt.expect);
  } else {
    ok = 1;
  }
  if (opt.mode != MODE_BIND && !lost) {
    if (w->entries_min < 0 || c->entries < w->entries_min) w->entries_min = c->entries;
    if (c->entries > w->entries_max) w->entries_max = c->entries;
  }
  if (!ok) {
    w->errors++;
  } else if (phase.timed) {
    w->ops++;
    hist_add(&w->hist, elapsed);
  }
  c->busy = !lost && issue(c);
}

/* A final result through libldap. */
static void complete(struct worker *w, struct conn *c, LDAPMessage *msg) {
  int code = LDAP_OTHER;
  int rc = ldap_parse_result(c->ld, msg, &code, NULL, NULL, NULL, NULL, 1);
  if (rc != LDAP_SUCCESS) code = rc; /* unparsable: an error with libldap's reason */
  finish(w, c, 0, code);
}

/* Reads one BER length at `p` (at most `n` bytes there); returns its size in bytes, 0 when incomplete, -1 when invalid. */
static int ber_length(const unsigned char *p, size_t n, size_t *len) {
  if (n < 1) return 0;
  if (p[0] < 0x80) {
    *len = p[0];
    return 1;
  }
  int k = p[0] & 0x7f;
  if (k == 0 || k > 4) return -1;
  if (n < (size_t)k + 1) return 0;
  size_t v = 0;
  for (int i = 1; i <= k; i++) v = (v << 8) | p[i];
  *len = v;
  return k + 1;
}

/* Reads and frames the raw replies of a dump (see send_dump). */
static void drain_raw(struct worker *w, struct conn *c) {
  if (c->cap - c->len < 65536) {
    c->cap = c->cap ? c->cap * 2 : 262144;
    c->buf = realloc(c->buf, c->cap);
  }
  ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    finish(w, c, 1, LDAP_SERVER_DOWN);
    return;
  }
  c->len += (size_t)n;
  size_t off = 0;
  while (c->busy) {
    const unsigned char *p = c->buf + off;
    size_t avail = c->len - off, body;
    if (avail < 2) break;
    int hl = ber_length(p + 1, avail - 1, &body);
    if (hl == 0) break;
    if (p[0] != 0x30 || hl < 0) {
      finish(w, c, 1, LDAP_DECODING_ERROR);
      return;
    }
    size_t total = 1 + (size_t)hl + body;
    if (avail < total) break;
    /* messageID INTEGER, then the protocolOp's tag and length */
    const unsigned char *q = p + 1 + hl, *end = p + total;
    size_t idlen, oplen;
    int ok = end - q >= 3 && q[0] == 0x02 && q[1] >= 1 && q[1] <= 4 && end - q >= 2 + q[1] + 2;
    long id = 0;
    if (ok) {
      idlen = q[1];
      for (size_t i = 0; i < idlen; i++) id = (id << 8) | q[2 + i];
      q += 2 + idlen;
      ok = id == c->msgid && ber_length(q + 1, (size_t)(end - q - 1), &oplen) > 0;
    }
    if (!ok) {
      finish(w, c, 1, LDAP_DECODING_ERROR);
      return;
    }
    off += total;
    if (q[0] == LDAP_RES_SEARCH_ENTRY) {
      c->entries++;
    } else if (q[0] == LDAP_RES_SEARCH_REFERENCE) {
      /* not an entry */
    } else if (q[0] == LDAP_RES_SEARCH_RESULT) {
      /* SearchResultDone: [APPLICATION 5] { resultCode ENUMERATED, ... } */
      int ol = ber_length(q + 1, (size_t)(end - q - 1), &oplen);
      const unsigned char *r = q + 1 + ol;
      int code = end - r >= 3 && r[0] == 0x0a && r[1] == 1 ? r[2] : LDAP_DECODING_ERROR;
      if (off != c->len) code = LDAP_PROTOCOL_ERROR; /* nothing may follow the end of the search */
      c->len = off = 0;
      finish(w, c, 0, code);
      return;
    } else {
      finish(w, c, 1, LDAP_DECODING_ERROR);
      return;
    }
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

/* Reads what libldap has for `c` without blocking, up to the end of the current operation. */
static void drain(struct worker *w, struct conn *c) {
  struct timeval zero = { 0, 0 };
  while (c->busy) {
    LDAPMessage *msg = NULL;
    int rc = ldap_result(c->ld, c->msgid, LDAP_MSG_ONE, &zero, &msg);
    if (rc == 0) return;
    if (rc < 0) {
      int err = LDAP_OTHER;
      ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
      finish(w, c, 1, err);
      return;
    }
    if (rc == LDAP_RES_SEARCH_ENTRY) {
      c->entries++;
      ldap_msgfree(msg);
    } else if (rc == LDAP_RES_SEARCH_REFERENCE || rc == LDAP_RES_INTERMEDIATE) {
      ldap_msgfree(msg);
    } else {
      /* The next request is sent; its reply cannot be here yet: back to poll. */
      complete(w, c, msg);
      return;
    }
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct pollfd *fds = calloc((size_t)w->nconns, sizeof *fds);
  struct conn **which = calloc((size_t)w->nconns, sizeof *which);
  for (int k = 0; k < w->nconns; k++) {
    struct conn *c = w->conns[k];
    c->busy = !c->dead && issue(c);
  }
  for (;;) {
    int n = 0;
    for (int k = 0; k < w->nconns; k++) {
      struct conn *c = w->conns[k];
      if (!c->busy) continue;
      fds[n].fd = c->fd;
      fds[n].events = POLLIN;
      fds[n].revents = 0;
      which[n++] = c;
    }
    if (n == 0) break;
    int r = poll(fds, (nfds_t)n, 1000);
    if (r < 0 && errno != EINTR) {
      perror("ldapload: poll");
      exit(2);
    }
    for (int k = 0; k < n && r > 0; k++) {
      if (fds[k].revents == 0) continue;
      if (opt.mode == MODE_DUMP) drain_raw(w, which[k]);
      else drain(w, which[k]);
    }
  }
  free(fds);
  free(which);
  return NULL;
}

static void run_phase(struct worker *ws, int nw, uint64_t deadline_ns, uint64_t cap, int timed) {
  phase.deadline_ns = deadline_ns;
  phase.cap = cap;
  phase.timed = timed;
  atomic_store(&phase.issued, 0);
  for (int t = 0; t < nw; t++) {
    if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]) != 0) {
      perror("ldapload: pthread_create");
      exit(2);
    }
  }
  for (int t = 0; t < nw; t++) pthread_join(ws[t].thread, NULL);
}

static struct conn *open_conn(int index) {
  struct conn *c = calloc(1, sizeof *c);
  c->index = index;
  int rc = ldap_initialize(&c->ld, opt.uri);
  if (rc != LDAP_SUCCESS) {
    fprintf(stderr, "ldapload: ldap_initialize(%s): %s\n", opt.uri, ldap_err2string(rc));
    exit(2);
  }
  int v3 = LDAP_VERSION3;
  ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  /* The first bind opens the socket: the searcher's (search, dump) or user1's (bind; part of the warm-up). */
  const char *dn = opt.bind_dn;
  const char *pw = opt.bind_password;
  char buf[512];
  if (opt.mode == MODE_BIND) {
    dn = user_dn(buf, sizeof buf, (uint64_t)index);
    pw = opt.password;
  }
  struct berval cred = { strlen(pw), (char *)pw };
  rc = ldap_sasl_bind_s(c->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
  if (rc != LDAP_SUCCESS) {
    fprintf(stderr, "ldapload: bind as %s on %s: %s\n", dn, opt.uri, ldap_err2string(rc));
    exit(2);
  }
  if (ldap_get_option(c->ld, LDAP_OPT_DESC, &c->fd) != LDAP_OPT_SUCCESS || c->fd < 0) {
    fprintf(stderr, "ldapload: no socket after bind\n");
    exit(2);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds (user + system, all threads) used so far by `root` and every process descended from it. */
static double tree_cpu_seconds(int root) {
  enum { MAXP = 65536 };
  static int pid[MAXP], ppid[MAXP], in[MAXP];
  static double cpu[MAXP];
  int n = 0;
  DIR *d = opendir("/proc");
  if (d == NULL) return -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < MAXP) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *rp = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long ut, st;
    int pp;
    if (rp == NULL || sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &pp, &ut, &st) != 3) continue;
    pid[n] = atoi(e->d_name);
    ppid[n] = pp;
    cpu[n] = (double)(ut + st);
    in[n] = pid[n] == root;
    n++;
  }
  closedir(d);
  for (int changed = 1; changed;) {
    changed = 0;
    for (int i = 0; i < n; i++) {
      if (in[i]) continue;
      for (int j = 0; j < n; j++) {
        if (in[j] && pid[j] == ppid[i]) {
          in[i] = changed = 1;
          break;
        }
      }
    }
  }
  double ticks = 0;
  int found = 0;
  for (int i = 0; i < n; i++) {
    if (in[i]) {
      ticks += cpu[i];
      found = 1;
    }
  }
  return found ? ticks / (double)sysconf(_SC_CLK_TCK) : -1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: ldapload --uri ldap://HOST:PORT --mode bind|search|dump [--base DN] [--connections N] [--threads N]\n"
          "                [--seconds S] [--count N] [--warmup S] [--users N] [--password P]\n"
          "                [--bind-dn DN --bind-password P] [--expect N (-1: any)] [--dump-base DN]\n"
          "                [--watch-pid PID (up to 4: the CPU each process and its descendants use while timed)]\n");
  exit(2);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
    { "uri", required_argument, NULL, 'u' },        { "mode", required_argument, NULL, 'm' },
    { "base", required_argument, NULL, 'b' },       { "connections", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 't' },    { "seconds", required_argument, NULL, 's' },
    { "count", required_argument, NULL, 'n' },      { "warmup", required_argument, NULL, 'W' },
    { "users", required_argument, NULL, 'U' },      { "password", required_argument, NULL, 'p' },
    { "bind-dn", required_argument, NULL, 'D' },    { "bind-password", required_argument, NULL, 'w' },
    { "expect", required_argument, NULL, 'e' },     { "dump-base", required_argument, NULL, 'd' },
    { "watch-pid", required_argument, NULL, 'P' },  { NULL, 0, NULL, 0 },
  };
  const char *mode = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
      case 'u': opt.uri = optarg; break;
      case 'm': mode = optarg; break;
      case 'b': opt.base = optarg; break;
      case 'c': opt.connections = atoi(optarg); break;
      case 't': opt.threads = atoi(optarg); break;
      case 's': opt.seconds = atof(optarg); break;
      case 'n': opt.count = strtoull(optarg, NULL, 10); break;
      case 'W': opt.warmup = atof(optarg); break;
      case 'U': opt.users = atoi(optarg); break;
      case 'p': opt.password = optarg; break;
      case 'D': opt.bind_dn = optarg; break;
      case 'w': opt.bind_password = optarg; break;
      case 'e': opt.expect = atol(optarg); break;
      case 'd': opt.dump_base = optarg; break;
      case 'P':
        if (opt.nwatch == 4) usage();
        opt.watch_pids[opt.nwatch++] = atoi(optarg);
        break;
      default: usage();
    }
  }
  if (opt.uri == NULL || mode == NULL || optind != argc) usage();
  if (strcmp(mode, "bind") == 0) opt.mode = MODE_BIND;
  else if (strcmp(mode, "search") == 0) opt.mode = MODE_SEARCH;
  else if (strcmp(mode, "dump") == 0) opt.mode = MODE_DUMP;
  else usage();
  if (opt.connections < 1 || opt.threads < 1 || opt.users < 1 || opt.seconds <= 0 || opt.warmup < 0) usage();
  if (opt.threads > opt.connections) opt.threads = opt.connections;
  if (opt.mode == MODE_BIND && opt.password == NULL) usage();
  if (opt.mode != MODE_BIND && (opt.bind_dn == NULL || opt.bind_password == NULL || opt.expect < -1)) usage();
  static char dump_base[512];
  if (opt.dump_base == NULL) {
    snprintf(dump_base, sizeof dump_base, "ou=users,%s", opt.base);
    opt.dump_base = dump_base;
  }

  struct worker *ws = calloc((size_t)opt.threads, sizeof *ws);
  for (int t = 0; t < opt.threads; t++) {
    ws[t].conns = calloc((size_t)opt.connections, sizeof *ws[t].conns);
    ws[t].entries_min = -1;
  }
  for (int k = 0; k < opt.connections; k++) {
    struct worker *w = &ws[k % opt.threads];
    w->conns[w->nconns++] = open_conn(k);
  }

  /* Untimed: every user of the cycle binds once (bind mode), then --warmup seconds of load. */
  if (opt.mode == MODE_BIND) run_phase(ws, opt.threads, 0, (uint64_t)opt.users, 0);
  if (opt.warmup > 0) run_phase(ws, opt.threads, now_ns() + (uint64_t)(opt.warmup * 1e9), 0, 0);
  uint64_t warm_errors = 0;
  for (int t = 0; t < opt.threads; t++) {
    warm_errors += ws[t].errors;
    ws[t].errors = 0;
    ws[t].entries_min = -1;
    ws[t].entries_max = 0;
  }

  warm_errors += atomic_exchange(&send_failures, 0);
  double watched0[4], watched[4];
  for (int k = 0; k < opt.nwatch; k++) watched0[k] = tree_cpu_seconds(opt.watch_pids[k]);
  double cpu0 = cpu_seconds();
  uint64_t t0 = now_ns();
  run_phase(ws, opt.threads, t0 + (uint64_t)(opt.seconds * 1e9), opt.count, 1);
  uint64_t t1 = now_ns();
  double cpu = cpu_seconds() - cpu0;
  char watched_json[256] = "";
  for (int k = 0, off = 0; k < opt.nwatch; k++) {
    double now = tree_cpu_seconds(opt.watch_pids[k]);
    watched[k] = watched0[k] >= 0 && now >= 0 ? now - watched0[k] : -1;
    off += snprintf(watched_json + off, sizeof watched_json - (size_t)off, "%s%.2f", k ? "," : "", watched[k]);
  }

  struct hist *all = calloc(1, sizeof *all);
  uint64_t errors = 0;
  long emin = -1, emax = 0;
  int dead = 0;
  for (int t = 0; t < opt.threads; t++) {
    hist_merge(all, &ws[t].hist);
    errors += ws[t].errors;
    if (ws[t].entries_min >= 0 && (emin < 0 || ws[t].entries_min < emin)) emin = ws[t].entries_min;
    if (ws[t].entries_max > emax) emax = ws[t].entries_max;
    for (int k = 0; k < ws[t].nconns; k++) dead += ws[t].conns[k]->dead;
  }
  errors += atomic_load(&send_failures);
  double seconds = (double)(t1 - t0) / 1e9;
  printf("{\"mode\":\"%s\",\"connections\":%d,\"threads\":%d,\"ops\":%llu,\"errors\":%llu,\"warmup_errors\":%llu,"
         "\"dead_connections\":%d,\"seconds\":%.4f,\"ops_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,"
         "\"mean_ms\":%.4f,\"cpu_s\":%.4f,\"cpu_cores\":%.4f,\"watched_cpu_s\":[%s],\"entries_min\":%ld,\"entries_max\":%ld}\n",
         mode, opt.connections, opt.threads, (unsigned long long)all->n, (unsigned long long)errors,
         (unsigned long long)warm_errors, dead, seconds, (double)all->n / seconds, hist_quantile_ms(all, 0.5),
         hist_quantile_ms(all, 0.99), (double)all->max_ns / 1e6, all->n ? all->sum_ns / (double)all->n / 1e6 : 0.0, cpu,
         cpu / seconds, watched_json, emin, emax);
  for (int t = 0; t < opt.threads; t++) {
    for (int k = 0; k < ws[t].nconns; k++) ldap_unbind_ext_s(ws[t].conns[k]->ld, NULL, NULL);
  }
  return errors != 0 || warm_errors != 0 || dead != 0 ? 1 : 0;
}
