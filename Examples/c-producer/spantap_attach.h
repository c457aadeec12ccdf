/*
 * spantap_attach.h - asking spantapd for a ring over its control socket, in plain C.
 *
 * The control protocol is one JSON object per line. An attach looks like
 *     {"command":"attach-producer","name":"xpf-0"}
 * (optionally with "slot_count" and "slot_size", up to spantapd's --ring-slots / --ring-slot-size),
 * and a successful reply carries two descriptors (SCM_RIGHTS): the ring's memfd, then its eventfd.
 * Keep the socket open for as long as the ring is fed: closing it detaches the producer, and
 * spantapd closes it on its side if the producer breaks the ring protocol (see spantap_ring.h).
 */
#ifndef SPANTAP_ATTACH_H
#define SPANTAP_ATTACH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The reply is JSON written by spantapd; a real producer would use a JSON library. Returns the
 * n-th (from 0) number stored under key, e.g. the output_id of rule n, or -1 if there is none. */
static inline long spantap_json_number(const char *json, const char *key, int n)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    for (; at && n > 0; n--)
        at = strstr(at + 1, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

/* Connects to the control socket at path; returns the socket, or -1 (errno set). */
static inline int spantap_connect(const char *path)
{
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (sock < 0 || connect(sock, (struct sockaddr *)&address, sizeof address) != 0) {
        if (sock >= 0)
            close(sock);
        return -1;
    }
    return sock;
}

/* Sends one request line on sock and reads the reply line into reply (NUL-terminated). Returns 0
 * when the reply says "ok":true and carried the ring's memfd and eventfd (stored in fds), 1 when
 * spantapd refused (the reply says why), -1 when the connection failed. */
static inline int spantap_request_ring(int sock, const char *request, char *reply, size_t reply_size, int fds[2])
{
    size_t length = strlen(request);
    if (write(sock, request, length) != (ssize_t)length)
        return -1;
    union { struct cmsghdr align; char buf[CMSG_SPACE(2 * sizeof(int))]; } control;
    struct iovec iov = { .iov_base = reply, .iov_len = reply_size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return -1;
    reply[n] = '\0';
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!strstr(reply, "\"ok\":true") || !cmsg || cmsg->cmsg_type != SCM_RIGHTS)
        return 1;
    memcpy(fds, CMSG_DATA(cmsg), 2 * sizeof(int));
    return 0;
}

#endif /* SPANTAP_ATTACH_H */
