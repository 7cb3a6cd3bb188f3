/* hello.c -- the ceiling of `make bench`: a bare libfcgi program answering a tiny JSON body,
 * accepting on the socket inherited as fd 0 like the route workers, with no runtime at all. */
#include <stddef.h>

#include <fcgiapp.h>

int main(void)
{
    static const char reply[] = "Status: 200 OK\r\n"
                                "Content-Type: application/json\r\n"
                                "\r\n"
                                "{\"success\":true,\"hello\":\"world\"}";
    FCGX_Request request;

    if (FCGX_Init() != 0 || FCGX_InitRequest(&request, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(reply, (int)(sizeof reply - 1), request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
