/*
 * ambient-cni: the mesh's CNI plugin (CNI spec 1.0.0,
 * https://github.com/containernetworking/cni/blob/spec-v1.0.0/SPEC.md), chained after
 * the network's main plugin (bridge, calico, ...). It runs on nodes that have no
 * Node.js, so it is a self-contained C99 executable with no dependency beyond libc.
 *
 * It does nothing to the pod itself: it hands the pod (container id, netns path,
 * CNI_ARGS, the config it got on stdin with prevResult) to the node agent over a Unix
 * stream socket and relays the agent's answer, as istio-cni does. Protocol (one
 * connection per invocation, see node-agent/cni/handoff.ts):
 *
 *   request:  {"command":"ADD","containerId":"...","netns":"...","ifName":"...",
 *              "args":"<CNI_ARGS>","config":<stdin JSON>}\n     then shutdown(SHUT_WR)
 *   reply:    "OK\n" or "ERR\n", then what to print on stdout verbatim
 *
 * Where the agent is: the filesystem socket "agentSocket" (default
 * /var/lib/ambient/cni/cni.sock), in a directory only root may use. Abstract "@names" are
 * refused: any process in the node's network namespace could bind one first. The agent
 * must be root: its SO_PEERCRED uid is checked after connecting, as it checks ours.
 *
 * When the agent cannot be reached, the socket's directory decides (fail closed):
 *  - the directory does not exist: the mesh is not installed on this node (a chain left
 *    behind after the mesh was removed, or the agent has never run here). ADD passes
 *    prevResult through, DEL and CHECK succeed: pods still start on a node without the
 *    mesh. This is the only case a pod passes uncaptured.
 *  - the directory exists (the agent made it; it stays across restarts and reboots): the
 *    agent is starting or restarting. ADD and CHECK fail with a CNI error, so the kubelet
 *    retries until the agent answers, rather than start a pod uncaptured on a meshed node.
 *  - the directory is not a root-owned directory without group/other write: refused, as
 *    a socket someone else may have put there.
 * DEL always succeeds when the agent cannot be reached: a failing DEL only blocks the
 * kubelet, and the agent notices a pod that is gone without it.
 * Once the agent answers, its answer decides.
 *
 * stdout carries only the result or a CNI error object (SPEC.md "Errors"); nothing is
 * logged there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_STDIN_BYTES (1024 * 1024)
#define MAX_REPLY_BYTES (1024 * 1024)
#define MAX_ENV_BYTES (64 * 1024)
#define MAX_JSON_DEPTH 128
#define CONNECT_TIMEOUT_S 5
#define REPLY_TIMEOUT_MS 30000
#define DEFAULT_SOCKET "/var/lib/ambient/cni/cni.sock"

/* CNI well-known error codes (SPEC.md "Error codes"). */
#define CNI_ERR_INVALID_ENV 4
#define CNI_ERR_DECODE 6
#define CNI_ERR_INVALID_NETWORK_CONFIG 7
#define CNI_ERR_TRY_AGAIN_LATER 11
#define CNI_ERR_OTHER 999

static const char *g_cni_version = "1.0.0"; /* the config's, once known: errors echo it */

/* ---------- output ---------- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void die_oom(void) {
    /* No JSON possible without memory; a non-zero exit is still a failure to the runtime. */
    fputs("ambient-cni: out of memory\n", stderr);
    exit(1);
}

static void buf_add(buf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) die_oom();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Appends s (n bytes) as a JSON string literal. Bytes >= 0x80 pass through (UTF-8). */
static void buf_json_string(buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_add(b, "\\\"", 2); break;
        case '\\': buf_add(b, "\\\\", 2); break;
        case '\n': buf_add(b, "\\n", 2); break;
        case '\r': buf_add(b, "\\r", 2); break;
        case '\t': buf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_add(b, u, 6);
            } else {
                buf_add(b, (const char *)&s[i], 1);
            }
        }
    }
    buf_add(b, "\"", 1);
}

static void write_stdout(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            exit(1);
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Prints a CNI error object (SPEC.md "Error") on stdout and exits 1. */
static void fail(int code, const char *msg, const char *details, size_t details_len) {
    buf_t b = {0};
    char num[16];
    buf_str(&b, "{\"cniVersion\":");
    buf_json_string(&b, g_cni_version, strlen(g_cni_version));
    snprintf(num, sizeof num, "%d", code);
    buf_str(&b, ",\"code\":");
    buf_str(&b, num);
    buf_str(&b, ",\"msg\":");
    buf_json_string(&b, msg, strlen(msg));
    if (details && details_len > 0) {
        buf_str(&b, ",\"details\":");
        buf_json_string(&b, details, details_len);
    }
    buf_str(&b, "}\n");
    write_stdout(b.p, b.len);
    exit(1);
}

static void fail_errno(int code, const char *msg, int err) {
    const char *d = strerror(err);
    fail(code, msg, d, strlen(d));
}

/* ---------- a small JSON scanner ----------
 * Validates RFC 8259 syntax and reports where each top-level member's value starts and
 * ends, so that prevResult can be passed through byte for byte and agentSocket read
 * without a JSON library. Raw control characters inside strings are rejected, which also
 * means a valid document has line breaks only as whitespace between tokens. */

typedef struct {
    const char *p, *end;
} scan_t;

static void skip_ws(scan_t *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int scan_string(scan_t *s) {
    if (s->p >= s->end || *s->p != '"') return 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"') return 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (s->p >= s->end) return 0;
            char e = *s->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, s->p++)
                    if (s->p >= s->end || !is_hex(*s->p)) return 0;
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return 0;
            }
        }
    }
    return 0;
}

static int scan_number(scan_t *s) {
    if (s->p < s->end && *s->p == '-') s->p++;
    if (s->p >= s->end) return 0;
    if (*s->p == '0') s->p++;
    else if (is_digit(*s->p)) while (s->p < s->end && is_digit(*s->p)) s->p++;
    else return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (s->p >= s->end || !is_digit(*s->p)) return 0;
        while (s->p < s->end && is_digit(*s->p)) s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (s->p >= s->end || !is_digit(*s->p)) return 0;
        while (s->p < s->end && is_digit(*s->p)) s->p++;
    }
    return 1;
}

static int scan_literal(scan_t *s, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) return 0;
    s->p += n;
    return 1;
}

static int scan_value(scan_t *s, int depth);

/* Object or array after its opening bracket. */
static int scan_container(scan_t *s, int depth, char close, int is_object) {
    if (depth > MAX_JSON_DEPTH) return 0;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    for (;;) {
        skip_ws(s);
        if (is_object) {
            if (!scan_string(s)) return 0;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') return 0;
            s->p++;
        }
        if (!scan_value(s, depth + 1)) return 0;
        skip_ws(s);
        if (s->p >= s->end) return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == close) {
            s->p++;
            return 1;
        }
        return 0;
    }
}

static int scan_value(scan_t *s, int depth) {
    skip_ws(s);
    if (s->p >= s->end) return 0;
    switch (*s->p) {
    case '{': s->p++; return scan_container(s, depth, '}', 1);
    case '[': s->p++; return scan_container(s, depth, ']', 0);
    case '"': return scan_string(s);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default: return scan_number(s);
    }
}

static unsigned hex4(const char *p) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static void put_utf8(buf_t *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
    else { u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
    buf_add(b, u, n);
}

/* Decodes a scanned (valid) JSON string literal [p, end) into a NUL-terminated string.
 * Returns NULL when it contains U+0000, which no name of ours may hold. */
static char *decode_string(const char *p, const char *end) {
    buf_t b = {0};
    buf_add(&b, "", 0);
    p++, end--; /* the quotes */
    while (p < end) {
        if (*p != '\\') {
            buf_add(&b, p++, 1);
            continue;
        }
        p++;
        char e = *p++;
        switch (e) {
        case 'b': buf_add(&b, "\b", 1); break;
        case 'f': buf_add(&b, "\f", 1); break;
        case 'n': buf_add(&b, "\n", 1); break;
        case 'r': buf_add(&b, "\r", 1); break;
        case 't': buf_add(&b, "\t", 1); break;
        case 'u': {
            unsigned cp = hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = hex4(p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            if (cp == 0) {
                free(b.p);
                return NULL;
            }
            put_utf8(&b, cp);
            break;
        }
        default: buf_add(&b, &e, 1); /* " \ / */
        }
    }
    return b.p;
}

typedef struct {
    const char *start, *end; /* value text; start == NULL when absent */
} span_t;

typedef struct {
    const char *start, *end; /* the whole object, without surrounding whitespace */
    span_t cni_version, agent_socket, prev_result;
} config_t;

/* Scans the config; returns NULL on success, else why it is not a JSON object. */
static const char *scan_config(const char *text, size_t len, config_t *cfg) {
    scan_t s = {text, text + len};
    memset(cfg, 0, sizeof *cfg);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') return "the network configuration on stdin is not a JSON object";
    cfg->start = s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    } else {
        for (;;) {
            skip_ws(&s);
            const char *k = s.p;
            if (!scan_string(&s)) return "invalid JSON in the network configuration (a member name)";
            const char *kend = s.p;
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':') return "invalid JSON in the network configuration (expected ':')";
            s.p++;
            skip_ws(&s);
            const char *v = s.p;
            if (!scan_value(&s, 1)) return "invalid JSON in the network configuration (a member value)";
            span_t val = {v, s.p};
            char *key = decode_string(k, kend);
            /* A repeated member: the last one wins, as Go's encoding/json (libcni) reads it. */
            if (key && strcmp(key, "cniVersion") == 0) cfg->cni_version = val;
            else if (key && strcmp(key, "agentSocket") == 0) cfg->agent_socket = val;
            else if (key && strcmp(key, "prevResult") == 0) cfg->prev_result = val;
            free(key);
            skip_ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                continue;
            }
            if (s.p < s.end && *s.p == '}') {
                s.p++;
                break;
            }
            return "invalid JSON in the network configuration (expected ',' or '}')";
        }
    }
    cfg->end = s.p;
    skip_ws(&s);
    if (s.p != s.end) return "trailing data after the network configuration";
    return NULL;
}

/* A member that must be a string, decoded; NULL (with *why set) when it is not one. */
static char *string_member(span_t v, const char *name, const char **why) {
    static char msg[128];
    if (!v.start || *v.start != '"') {
        snprintf(msg, sizeof msg, "\"%s\" in the network configuration must be a string", name);
        *why = msg;
        return NULL;
    }
    char *s = decode_string(v.start, v.end);
    if (!s) {
        snprintf(msg, sizeof msg, "\"%s\" in the network configuration contains U+0000", name);
        *why = msg;
    }
    return s;
}

/* ---------- stdin ---------- */

static char *read_stdin(size_t *len) {
    buf_t b = {0};
    char chunk[65536];
    buf_add(&b, "", 0);
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno(CNI_ERR_OTHER, "reading the network configuration from stdin failed", errno);
        }
        if (n == 0) break;
        if (b.len + (size_t)n > MAX_STDIN_BYTES) fail(CNI_ERR_DECODE, "the network configuration on stdin is larger than 1 MiB", NULL, 0);
        buf_add(&b, chunk, (size_t)n);
    }
    *len = b.len;
    return b.p;
}

/* ---------- the agent's socket ---------- */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_addr(const struct sockaddr_un *addr, socklen_t alen) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (;;) {
        if (connect(fd, (const struct sockaddr *)addr, alen) == 0) break;
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return fd;
}

/* Connects to the socket at `path`. Returns the fd, or -1 with errno set. The connect
 * timeout is SO_SNDTIMEO: for AF_UNIX, Linux bounds a blocking connect (a full backlog)
 * by the send timeout. */
static int connect_agent(const char *path) {
    struct sockaddr_un addr;
    size_t n = strlen(path);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (n == 0 || n > sizeof addr.sun_path - 1) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, n);
    return connect_addr(&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1));
}

/* The directory part of an absolute path ("/a/b/c.sock" -> "/a/b"), malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) die_oom();
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

enum dir_state { DIR_ABSENT, DIR_SAFE, DIR_UNSAFE, DIR_UNREADABLE };

/* The socket directory: absent (mesh not installed), safe (root's, no group/other write),
 * or not to be trusted. `why` gets a message for the last two. */
static enum dir_state socket_dir_state(const char *dir, char *why, size_t why_len) {
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) return DIR_ABSENT;
        snprintf(why, why_len, "cannot inspect the agent's socket directory %.200s: %s", dir, strerror(errno));
        return DIR_UNREADABLE;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "the agent's socket directory %.200s is not a directory", dir);
        return DIR_UNSAFE;
    }
    if (st.st_uid != 0 || (st.st_mode & 022) != 0) {
        snprintf(why, why_len, "the agent's socket directory %.200s is not root's alone (uid %u, mode %04o): refusing to talk to what is in it",
                 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return DIR_UNSAFE;
    }
    return DIR_SAFE;
}

/* Waits for fd to be ready for `events` before the deadline; 0 on timeout. */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return 1; /* let the read/write report the error */
    }
}

static void send_all(int fd, const char *p, size_t n, long long deadline) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(fd, POLLOUT, deadline)) fail(CNI_ERR_OTHER, "timed out sending the pod to the node agent", NULL, 0);
                continue;
            }
            fail_errno(CNI_ERR_OTHER, "sending the pod to the node agent failed", errno);
        }
        p += w;
        n -= (size_t)w;
    }
}

static char *recv_all(int fd, size_t *len, long long deadline) {
    buf_t b = {0};
    char chunk[65536];
    buf_add(&b, "", 0);
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(fd, POLLIN, deadline)) fail(CNI_ERR_OTHER, "the node agent did not answer within 30 s", NULL, 0);
                continue;
            }
            fail_errno(CNI_ERR_OTHER, "reading the node agent's answer failed", errno);
        }
        if (r == 0) break;
        if (b.len + (size_t)r > MAX_REPLY_BYTES) fail(CNI_ERR_OTHER, "the node agent's answer is larger than 1 MiB", NULL, 0);
        buf_add(&b, chunk, (size_t)r);
    }
    *len = b.len;
    return b.p;
}

/* ---------- main ---------- */

static const char *required_env(const char *name) {
    const char *v = getenv(name);
    char msg[96];
    if (!v || !*v) {
        snprintf(msg, sizeof msg, "%s is not set", name);
        fail(CNI_ERR_INVALID_ENV, msg, NULL, 0);
    }
    if (strlen(v) > MAX_ENV_BYTES) {
        snprintf(msg, sizeof msg, "%s is longer than 64 KiB", name);
        fail(CNI_ERR_INVALID_ENV, msg, NULL, 0);
    }
    return v;
}

static const char *optional_env(const char *name) {
    const char *v = getenv(name);
    if (v && strlen(v) > MAX_ENV_BYTES) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s is longer than 64 KiB", name);
        fail(CNI_ERR_INVALID_ENV, msg, NULL, 0);
    }
    return v ? v : "";
}

/* ADD: prints prevResult (or a bare result) as our own; DEL and CHECK print nothing. */
static void pass_through(int is_add, const config_t *cfg, const char *cni_version) {
    if (!is_add) return;
    buf_t b = {0};
    if (cfg->prev_result.start) {
        buf_add(&b, cfg->prev_result.start, (size_t)(cfg->prev_result.end - cfg->prev_result.start));
    } else {
        buf_str(&b, "{\"cniVersion\":");
        buf_json_string(&b, cni_version, strlen(cni_version));
        buf_str(&b, "}");
    }
    buf_str(&b, "\n");
    write_stdout(b.p, b.len);
}

int main(void) {
    /* A peer that closes early must give EPIPE (and a CNI error), not kill us silently. */
    signal(SIGPIPE, SIG_IGN);

    const char *command = getenv("CNI_COMMAND");
    if (!command || !*command) fail(CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set", NULL, 0);
    if (strcmp(command, "VERSION") == 0) {
        /* SPEC.md "VERSION": answered without reading the config or contacting anything. */
        static const char v[] = "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n";
        write_stdout(v, sizeof v - 1);
        return 0;
    }
    int is_add = strcmp(command, "ADD") == 0, is_del = strcmp(command, "DEL") == 0, is_check = strcmp(command, "CHECK") == 0;
    if (!is_add && !is_del && !is_check) {
        char msg[128];
        snprintf(msg, sizeof msg, "unsupported CNI_COMMAND \"%.64s\"", command);
        fail(CNI_ERR_INVALID_ENV, msg, NULL, 0);
    }

    size_t in_len;
    char *in = read_stdin(&in_len);
    config_t cfg;
    const char *why = scan_config(in, in_len, &cfg);
    if (why) fail(CNI_ERR_DECODE, why, NULL, 0);
    char *cni_version = string_member(cfg.cni_version, "cniVersion", &why);
    if (!cni_version) fail(CNI_ERR_DECODE, why, NULL, 0);
    g_cni_version = cni_version;
    const char *socket_name = DEFAULT_SOCKET;
    if (cfg.agent_socket.start) {
        socket_name = string_member(cfg.agent_socket, "agentSocket", &why);
        if (!socket_name) fail(CNI_ERR_DECODE, why, NULL, 0);
    }
    if (socket_name[0] != '/')
        fail(CNI_ERR_INVALID_NETWORK_CONFIG, "\"agentSocket\" must be an absolute path (a socket in a root-only directory); abstract names are refused",
             socket_name, strlen(socket_name));

    /* SPEC.md section 2: CNI_NETNS is required for ADD and CHECK, optional for DEL. */
    const char *container_id = required_env("CNI_CONTAINERID");
    const char *if_name = required_env("CNI_IFNAME");
    const char *netns = is_del ? optional_env("CNI_NETNS") : required_env("CNI_NETNS");
    const char *args = optional_env("CNI_ARGS");

    char why_dir[512];
    char *dir = dir_of(socket_name);
    enum dir_state ds = socket_dir_state(dir, why_dir, sizeof why_dir);
    if (ds == DIR_ABSENT) {
        /* The mesh is not installed on this node: pass through (SPEC.md: a chained plugin
         * "MUST handle prevResult by either passing it through, or modifying it"). */
        pass_through(is_add, &cfg, cni_version);
        return 0;
    }
    if (is_del && ds != DIR_SAFE) return 0; /* nothing to release through a socket we do not trust */
    if (ds != DIR_SAFE) fail(CNI_ERR_OTHER, why_dir, socket_name, strlen(socket_name));

    int fd = connect_agent(socket_name);
    if (fd < 0) {
        int e = errno;
        if (is_del) return 0; /* see the header: DEL never blocks the kubelet */
        char msg[768];
        if (e == ENOENT || e == ECONNREFUSED) {
            /* The directory is there, so the mesh is installed: the agent is starting or
             * restarting. The pod waits for it (the kubelet retries ADD). */
            snprintf(msg, sizeof msg,
                     "the mesh is installed on this node (%.200s exists) but its node agent is not answering (%s): it is starting or restarting; "
                     "the pod is not started uncaptured and the runtime retries. If the mesh was removed from this node, remove %.200s "
                     "or the ambient-cni entry from the CNI configuration",
                     dir, e == ENOENT ? "no socket" : "connection refused", dir);
            fail(CNI_ERR_TRY_AGAIN_LATER, msg, socket_name, strlen(socket_name));
        }
        if (e == EAGAIN || e == ETIMEDOUT) fail(CNI_ERR_TRY_AGAIN_LATER, "timed out connecting to the node agent", socket_name, strlen(socket_name));
        snprintf(msg, sizeof msg, "connecting to the node agent failed: %s", strerror(e));
        fail(CNI_ERR_OTHER, msg, socket_name, strlen(socket_name));
    }
    struct ucred peer;
    socklen_t peer_len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0) fail_errno(CNI_ERR_OTHER, "reading the node agent's credentials (SO_PEERCRED) failed", errno);
    if (peer.uid != 0) {
        if (is_del) return 0; /* never hand it anything; DEL does not block the kubelet */
        char msg[160];
        snprintf(msg, sizeof msg, "the process listening on the agent's socket runs as uid %u, not root: refusing to hand it the pod", (unsigned)peer.uid);
        fail(CNI_ERR_OTHER, msg, socket_name, strlen(socket_name));
    }
    long long deadline = now_ms() + REPLY_TIMEOUT_MS;

    buf_t req = {0};
    buf_str(&req, "{\"command\":");
    buf_json_string(&req, command, strlen(command));
    buf_str(&req, ",\"containerId\":");
    buf_json_string(&req, container_id, strlen(container_id));
    buf_str(&req, ",\"netns\":");
    buf_json_string(&req, netns, strlen(netns));
    buf_str(&req, ",\"ifName\":");
    buf_json_string(&req, if_name, strlen(if_name));
    buf_str(&req, ",\"args\":");
    buf_json_string(&req, args, strlen(args));
    buf_str(&req, ",\"config\":");
    size_t config_at = req.len;
    buf_add(&req, cfg.start, (size_t)(cfg.end - cfg.start));
    /* The request is one line: line breaks in valid JSON are only whitespace between
     * tokens (the scanner rejected raw control characters in strings), so they become
     * spaces without changing the document. */
    for (size_t i = config_at; i < req.len; i++)
        if (req.p[i] == '\n' || req.p[i] == '\r') req.p[i] = ' ';
    buf_str(&req, "}\n");
    send_all(fd, req.p, req.len, deadline);
    shutdown(fd, SHUT_WR);

    size_t reply_len;
    char *reply = recv_all(fd, &reply_len, deadline);
    close(fd);

    char *nl = memchr(reply, '\n', reply_len);
    size_t status_len = nl ? (size_t)(nl - reply) : reply_len;
    const char *body = nl ? nl + 1 : reply + reply_len;
    size_t body_len = reply_len - (size_t)(body - reply);
    if (status_len == 2 && memcmp(reply, "OK", 2) == 0) {
        write_stdout(body, body_len);
        return 0;
    }
    if (status_len == 3 && memcmp(reply, "ERR", 3) == 0) {
        size_t i = 0;
        while (i < body_len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
        if (i == body_len) fail(CNI_ERR_OTHER, "the node agent refused the pod without saying why", NULL, 0);
        write_stdout(body, body_len);
        return 1;
    }
    fail(CNI_ERR_OTHER, reply_len == 0 ? "the node agent closed the connection without an answer" : "the node agent's answer is neither OK nor ERR",
         reply, reply_len > 200 ? 200 : reply_len);
    return 1;
}
