/*
 * spantap_sys.h - one-line wrappers for calls Swift cannot make directly (variadic ioctl/fcntl,
 * GNU-only prototypes, function-like macros). No logic lives here; each returns what the kernel
 * returned, with errno set on failure.
 */
#ifndef SPANTAP_SYS_H
#define SPANTAP_SYS_H

#include <stdint.h>
#include <stddef.h>

/* memfd_create(2) with MFD_CLOEXEC | MFD_ALLOW_SEALING. */
int spantap_memfd_create(const char *name);
/* Forbid growing, shrinking and further sealing, so a peer cannot make our mapping SIGBUS. */
int spantap_memfd_seal_size(int fd);
/* eventfd(2), non-blocking and close-on-exec. */
int spantap_eventfd(void);

/* TUNSETIFF with IFF_TAP | IFF_NO_PI on an open /dev/net/tun fd. name is in/out (IFNAMSIZ bytes):
 * empty asks the kernel to pick one. */
int spantap_tun_set_tap(int fd, char *name);
/* TUNSETPERSIST: keep the device when the last fd closes. */
int spantap_tun_set_persist(int fd, int persist);

#endif
