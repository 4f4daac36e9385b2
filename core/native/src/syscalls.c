// The socket syscalls Node.js does not expose: SO_ORIGINAL_DST, creating sockets inside
// another network namespace (setns), SO_MARK, IP_TRANSPARENT, SO_PEERCRED and passing
// file descriptors over a Unix socket (SCM_RIGHTS). Everything is
// synchronous and cheap; core/syscalls.ts is the only caller and adds the typed errors.
//
// Failures throw an Error with .code ("EPERM"), .errno (the positive Linux errno),
// .syscall ("setsockopt(SO_MARK)") and, for open(), .path.

#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netfilter_ipv4.h> // SO_ORIGINAL_DST

// From linux/netfilter_ipv6/ip6_tables.h, which drags in all of x_tables to get one number.
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define THREAD_NETNS "/proc/thread-self/ns/net"

static napi_value throw_errno(napi_env env, const char *syscall, int err, const char *path) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s failed: %s (errno %d)", syscall, strerror(err), err);
  const char *name = strerrorname_np(err);
  napi_value code, message, error, v;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, error, "path", v);
  }
  napi_throw(env, error);
  return NULL;
}

// ---- argument parsing: each returns false after throwing a TypeError ----

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return false;
  }
  return true;
}

static bool get_int(napi_env env, napi_value v, const char *what, int32_t min, int32_t max,
                    int32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != (int32_t)d || d < min || d > max) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an integer in [%d, %d]", what, min, max);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  *out = (int32_t)d;
  return true;
}

static bool get_fd(napi_env env, napi_value v, int *fd) {
  return get_int(env, v, "fd", 0, INT32_MAX, fd);
}

static bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != (uint32_t)d) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an integer in [0, 4294967295]", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

static bool get_family(napi_env env, napi_value v, int *af) {
  int32_t f;
  if (napi_get_value_int32(env, v, &f) != napi_ok || (f != 4 && f != 6)) {
    napi_throw_type_error(env, NULL, "family must be 4 or 6");
    return false;
  }
  *af = f == 4 ? AF_INET : AF_INET6;
  return true;
}

static bool get_string(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len == 0 ||
      len >= size - 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-empty string shorter than %zu bytes", what,
             size - 1);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

// Reads opts[name] when it is present; leaves *out alone (the default) when undefined.
static bool get_opt(napi_env env, napi_value opts, const char *name, napi_valuetype want,
                    napi_value *out) {
  napi_valuetype t;
  napi_value v;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
    return false;
  if (t == napi_undefined) return true;
  if (t != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "opts.%s has the wrong type", name);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  *out = v;
  return true;
}

// ---- socket creation ----

struct sock_spec {
  int family;
  bool listen; // when false: a bare socket for the caller to connect
  bool datagram; // a bound UDP socket (with listen: bind, no listen())
  struct sockaddr_storage addr;
  socklen_t addrlen;
  int backlog;
  bool reuse_addr;
  bool reuse_port; // SO_REUSEPORT: several listeners (one per data-path worker) share the port
  bool transparent;
  bool has_mark;
  uint32_t mark;
};

static int set_transparent(int fd, int family, int on) {
  return family == AF_INET6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof on)
                            : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on);
}

// Creates the socket in the calling thread's current netns. On failure returns -1 with
// errno set and *syscall naming the call that failed.
static int make_socket(const struct sock_spec *s, const char **syscall) {
  int one = 1;
  int fd = s->datagram ? socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP)
                       : socket(s->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    *syscall = "socket";
    return -1;
  }
  if (!s->listen) return fd;
  // A v6 wildcard listener would otherwise also claim the v4 port (bindv6only=0).
  if (s->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)) {
    *syscall = "setsockopt(IPV6_V6ONLY)";
    goto fail;
  }
  if (s->reuse_addr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)) {
    *syscall = "setsockopt(SO_REUSEADDR)";
    goto fail;
  }
  if (s->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one)) {
    *syscall = "setsockopt(SO_REUSEPORT)";
    goto fail;
  }
  if (s->transparent && set_transparent(fd, s->family, 1)) {
    *syscall = "setsockopt(IP_TRANSPARENT)";
    goto fail;
  }
  if (s->has_mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &s->mark, sizeof s->mark)) {
    *syscall = "setsockopt(SO_MARK)";
    goto fail;
  }
  if (bind(fd, (const struct sockaddr *)&s->addr, s->addrlen)) {
    *syscall = "bind";
    goto fail;
  }
  if (!s->datagram && listen(fd, s->backlog)) {
    *syscall = "listen";
    goto fail;
  }
  return fd;
fail : {
  int err = errno;
  close(fd);
  errno = err;
  return -1;
}
}

// setns() changes only the calling thread (the JS thread here), and a socket stays in the
// netns it was created in for its whole life, so: enter, create, return.
static napi_value socket_in_netns(napi_env env, const char *path, const struct sock_spec *s) {
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return throw_errno(env, "open", errno, path);
  int self = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    int err = errno;
    close(target);
    return throw_errno(env, "open", err, THREAD_NETNS);
  }
  const char *syscall = "setns";
  int fd = -1, err = 0;
  if (setns(target, CLONE_NEWNET) == 0) {
    fd = make_socket(s, &syscall);
    err = errno;
    if (setns(self, CLONE_NEWNET) != 0) {
      // Every socket the JS thread opened from now on would silently live in the foreign
      // netns; crashing is the safe outcome.
      fprintf(stderr, "syscalls: cannot return to the original network namespace: %s\n",
              strerror(errno));
      abort();
    }
  } else {
    err = errno;
  }
  close(target);
  close(self);
  if (fd < 0) return throw_errno(env, syscall, err, NULL);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

// socketInNetns(netnsPath, family): fd of an unconnected non-blocking TCP socket.
static napi_value js_socket_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[4096];
  struct sock_spec s = {0};
  if (!get_args(env, info, 2, argv) || !get_string(env, argv[0], "netnsPath", path, sizeof path) ||
      !get_family(env, argv[1], &s.family))
    return NULL;
  return socket_in_netns(env, path, &s);
}

// listenInNetns(netnsPath, family, address, port, backlog, opts): fd of a listening
// socket; opts.udp: a bound UDP socket instead (backlog unused).
static napi_value js_listen_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  char path[4096], address[INET6_ADDRSTRLEN];
  int32_t port;
  struct sock_spec s = {.listen = true, .reuse_addr = true};
  if (!get_args(env, info, 6, argv) || !get_string(env, argv[0], "netnsPath", path, sizeof path) ||
      !get_family(env, argv[1], &s.family) ||
      !get_string(env, argv[2], "address", address, sizeof address) ||
      !get_int(env, argv[3], "port", 0, 65535, &port) ||
      !get_int(env, argv[4], "backlog", 1, INT32_MAX, &s.backlog))
    return NULL;

  napi_value reuse = NULL, reuse_port = NULL, transparent = NULL, mark = NULL, udp = NULL;
  if (!get_opt(env, argv[5], "udp", napi_boolean, &udp) ||
      !get_opt(env, argv[5], "reuseAddr", napi_boolean, &reuse) ||
      !get_opt(env, argv[5], "reusePort", napi_boolean, &reuse_port) ||
      !get_opt(env, argv[5], "transparent", napi_boolean, &transparent) ||
      !get_opt(env, argv[5], "mark", napi_number, &mark))
    return NULL;
  if (udp) napi_get_value_bool(env, udp, &s.datagram);
  if (reuse) napi_get_value_bool(env, reuse, &s.reuse_addr);
  if (reuse_port) napi_get_value_bool(env, reuse_port, &s.reuse_port);
  if (transparent) napi_get_value_bool(env, transparent, &s.transparent);
  if (mark) {
    if (!get_u32(env, mark, "opts.mark", &s.mark)) return NULL;
    s.has_mark = true;
  }

  int ok;
  if (s.family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&s.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ok = inet_pton(AF_INET, address, &a->sin_addr);
    s.addrlen = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s.addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ok = inet_pton(AF_INET6, address, &a->sin6_addr);
    s.addrlen = sizeof *a;
  }
  if (ok != 1) {
    napi_throw_type_error(env, NULL, "address is not an IP literal of the given family");
    return NULL;
  }
  return socket_in_netns(env, path, &s);
}

// originalDst(fd, family): the pre-DNAT destination conntrack recorded for the connection.
static napi_value js_original_dst(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd, family;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_family(env, argv[1], &family))
    return NULL;

  char text[INET6_ADDRSTRLEN];
  int port;
  if (family == AF_INET) {
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &a, &len))
      return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno, NULL);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else {
    struct sockaddr_in6 a = {0};
    socklen_t len = sizeof a;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &a, &len))
      return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", errno, NULL);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, out, "port", v);
  return out;
}

// setMark(fd, mark)
static napi_value js_set_mark(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t mark;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_u32(env, argv[1], "mark", &mark))
    return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark))
    return throw_errno(env, "setsockopt(SO_MARK)", errno, NULL);
  return NULL;
}

// getMark(fd): number
static napi_value js_get_mark(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  int fd;
  uint32_t mark = 0;
  socklen_t len = sizeof mark;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len))
    return throw_errno(env, "getsockopt(SO_MARK)", errno, NULL);
  napi_create_uint32(env, mark, &out);
  return out;
}

// setTransparent(fd, on): the option's level depends on the socket's family, so ask it.
static napi_value js_set_transparent(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd, family;
  bool on;
  socklen_t len = sizeof family;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "on must be a boolean");
    return NULL;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len))
    return throw_errno(env, "getsockopt(SO_DOMAIN)", errno, NULL);
  if (set_transparent(fd, family, on))
    return throw_errno(env, "setsockopt(IP_TRANSPARENT)", errno, NULL);
  return NULL;
}

// ---- peer credentials (SO_PEERCRED) ----
// Self-contained: the CNI hand-off checks who connected to its Unix socket (unix(7):
// the credentials the peer had when it called connect(), not what it has now).

// peerCredentials(fd): {pid, uid, gid} of the process that connected a Unix socket.
static napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  int fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
    return throw_errno(env, "getsockopt(SO_PEERCRED)", errno, NULL);
  napi_create_object(env, &out);
  napi_create_int32(env, (int32_t)cred.pid, &v);
  napi_set_named_property(env, out, "pid", v);
  napi_create_uint32(env, (uint32_t)cred.uid, &v);
  napi_set_named_property(env, out, "uid", v);
  napi_create_uint32(env, (uint32_t)cred.gid, &v);
  napi_set_named_property(env, out, "gid", v);
  return out;
}

// ---- file descriptors over a Unix socket (SCM_RIGHTS) ----
// The node agent's listener handover (node-agent/handover/): an old agent passes the
// listening sockets it holds to the agent replacing it, so that the kernel sockets (and
// their accept queues) live on in the new process. Non-blocking, one syscall per call:
// the caller frames messages and waits for readiness (node-agent/handover/channel.ts).

// SCM_MAX_FD in the kernel (include/net/scm.h): the most descriptors one message carries.
#define MAX_FDS_PER_MESSAGE 253

// sendFds(fd, data, fds): bytes sent by one sendmsg(MSG_DONTWAIT); fds ride on its first
// byte. EAGAIN is thrown like any other error.
static napi_value js_send_fds(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  int fd;
  void *data;
  size_t len;
  bool is_buffer, is_array;
  uint32_t nfds;
  if (!get_args(env, info, 3, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, NULL, "data must be a non-empty Buffer");
    return NULL;
  }
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[2], &nfds) != napi_ok || nfds > MAX_FDS_PER_MESSAGE) {
    napi_throw_type_error(env, NULL, "fds must be an array of at most 253 descriptors");
    return NULL;
  }
  int fds[MAX_FDS_PER_MESSAGE];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    if (napi_get_element(env, argv[2], i, &v) != napi_ok || !get_fd(env, v, &fds[i])) return NULL;
  }
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)];
    struct cmsghdr align;
  } control;
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendmsg", errno, NULL);
  napi_create_int64(env, n, &out);
  return out;
}

// recvFds(fd, maxBytes): {data: Buffer, fds: number[]} from one recvmsg(MSG_DONTWAIT);
// data empty: the peer closed. The received descriptors are close-on-exec. A message
// whose descriptors did not all fit (MSG_CTRUNC) is an error, and those that arrived are
// closed: a half-received set cannot be used.
static napi_value js_recv_fds(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, v, arr;
  int fd;
  int32_t max_bytes;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_int(env, argv[1], "maxBytes", 1, 1 << 24, &max_bytes))
    return NULL;
  char *buf = malloc((size_t)max_bytes);
  if (!buf) return throw_errno(env, "malloc", ENOMEM, NULL);
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)max_bytes};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(buf);
    return throw_errno(env, "recvmsg", err, NULL);
  }
  int fds[MAX_FDS_PER_MESSAGE];
  int nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count && nfds < MAX_FDS_PER_MESSAGE; i++)
      memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    free(buf);
    return throw_errno(env, "recvmsg(SCM_RIGHTS truncated)", EMSGSIZE, NULL);
  }
  napi_create_object(env, &out);
  napi_create_buffer_copy(env, (size_t)n, buf, NULL, &v);
  free(buf);
  napi_set_named_property(env, out, "data", v);
  napi_create_array_with_length(env, (size_t)nfds, &arr);
  for (int i = 0; i < nfds; i++) {
    napi_create_int32(env, fds[i], &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  napi_set_named_property(env, out, "fds", arr);
  return out;
}

// socketInfo(fd): {type: "tcp-listener" | "udp" | "other", family: 4 | 6 | 0, address, port,
// reusePort}
// of a received descriptor, so that an adopted socket is checked to be what the message
// says before it is served.
static napi_value js_socket_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  int fd, type = 0, listening = 0, reuse_port = 0;
  socklen_t len = sizeof type;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
    return throw_errno(env, "getsockopt(SO_TYPE)", errno, NULL);
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len))
    return throw_errno(env, "getsockopt(SO_ACCEPTCONN)", errno, NULL);
  len = sizeof reuse_port;
  if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse_port, &len))
    return throw_errno(env, "getsockopt(SO_REUSEPORT)", errno, NULL);
  struct sockaddr_storage a;
  socklen_t alen = sizeof a;
  memset(&a, 0, sizeof a);
  if (getsockname(fd, (struct sockaddr *)&a, &alen))
    return throw_errno(env, "getsockname", errno, NULL);
  char text[INET6_ADDRSTRLEN] = "";
  int family = 0, port = 0;
  if (a.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&a;
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    family = 4;
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&a;
    inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    family = 6;
    port = ntohs(in->sin6_port);
  }
  const char *kind = family == 0                          ? "other"
                     : type == SOCK_STREAM && listening   ? "tcp-listener"
                     : type == SOCK_DGRAM                 ? "udp"
                                                          : "other";
  napi_create_object(env, &out);
  napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "type", v);
  napi_create_int32(env, family, &v);
  napi_set_named_property(env, out, "family", v);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, out, "port", v);
  napi_get_boolean(env, reuse_port != 0, &v);
  napi_set_named_property(env, out, "reusePort", v);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"originalDst", NULL, js_original_dst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketInNetns", NULL, js_socket_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listenInNetns", NULL, js_listen_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMark", NULL, js_set_mark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getMark", NULL, js_get_mark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTransparent", NULL, js_set_transparent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerCredentials", NULL, js_peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFds", NULL, js_send_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvFds", NULL, js_recv_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketInfo", NULL, js_socket_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof *props, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
