/* A control-socket client for tests that must run as another user (via setpriv).
 * Usage: raw_client SOCKET_PATH REQUEST_LINE. Prints the response line; exits 2 if it cannot
 * connect (printing the errno name), 3 if the daemon closed without answering. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 1;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path, argv[1], sizeof address.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        printf("connect: %s\n", errno == EACCES ? "EACCES" : strerror(errno));
        return 2;
    }
    char request[4096];
    int length = snprintf(request, sizeof request, "%s\n", argv[2]);
    /* A refused peer is answered and disconnected at once: the send may fail (no SIGPIPE), the
     * answer is still there to read. */
    (void)send(fd, request, (size_t)length, MSG_NOSIGNAL);
    char response[65536];
    ssize_t n = read(fd, response, sizeof response - 1);
    if (n <= 0)
        return 3;
    fwrite(response, 1, (size_t)n, stdout);
    return 0;
}
