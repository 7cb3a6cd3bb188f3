/* libpq_floor.c -- prints the resident memory of a process that does nothing but load libpq:
 * the floor under every worker's RSS. Debian's libpq links OpenSSL, Kerberos, LDAP and
 * GnuTLS, whose mapped pages count in VmRSS although each host shares one copy. make bench
 * runs it with the workers' environment and prints it beside their figures. */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

int main(void)
{
    char line[256];
    FILE *status = fopen("/proc/self/status", "r");

    if (PQlibVersion() <= 0 || status == NULL)
        return 1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0 || strncmp(line, "RssAnon:", 8) == 0)
            fputs(line, stdout);
    }
    fclose(status);
    return 0;
}
