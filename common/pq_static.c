/* pq_static.c -- the Kerberos (GSSAPI) and LDAP functions that Debian's static libpq calls,
 * each answering "not available".
 *
 * Every program here links libpq statically (see the Makefile). The shared libpq brings
 * Kerberos, LDAP, GnuTLS and a dozen more libraries into every worker, about 3 MB of each
 * worker's resident memory, for two features this service does not use:
 * - GSSAPI. A TCP connection made with the default gssencmode=prefer finds no credentials and
 *   goes on without GSSAPI encryption. gssencmode=require, or a server that asks for gss
 *   authentication, fails with libpq's own error message.
 * - LDAP lookups of connection services (ldap:// lines in pg_service.conf). These fail as
 *   "could not create LDAP structure".
 * The signatures are those of MIT Kerberos' gssapi.h and OpenLDAP's ldap.h, with their
 * opaque handle types spelled as pointers. Every program links this object itself, not through
 * libcommon.a, from which the linker would take it only for a symbol needed before libpq. */
#include <stddef.h>
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef struct gss_buffer_desc {
    size_t length;
    void *value;
} gss_buffer_desc;

#define GSS_S_COMPLETE 0u
#define GSS_S_FAILURE (13u << 16)
#define UNUSED __attribute__((unused))

static const char not_available[] = "GSSAPI is not available in this build";

void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

static OM_uint32 gss_fail(OM_uint32 *minor)
{
    if (minor != NULL)
        *minor = 0;
    return GSS_S_FAILURE;
}

OM_uint32 gss_acquire_cred(OM_uint32 *minor, UNUSED void *name, UNUSED OM_uint32 time_req,
                           UNUSED void *mechs, UNUSED int usage, void **cred,
                           UNUSED void *actual_mechs, UNUSED OM_uint32 *time_rec)
{
    if (cred != NULL)
        *cred = NULL;
    return gss_fail(minor);
}

OM_uint32 gss_import_name(OM_uint32 *minor, UNUSED gss_buffer_desc *input, UNUSED void *type,
                          void **name)
{
    if (name != NULL)
        *name = NULL;
    return gss_fail(minor);
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, UNUSED void *cred, UNUSED void **ctx,
                               UNUSED void *target, UNUSED void *mech, UNUSED OM_uint32 flags,
                               UNUSED OM_uint32 time_req, UNUSED void *bindings,
                               UNUSED gss_buffer_desc *input, UNUSED void **actual_mech,
                               gss_buffer_desc *output, UNUSED OM_uint32 *ret_flags,
                               UNUSED OM_uint32 *time_rec)
{
    if (output != NULL) {
        output->length = 0;
        output->value = NULL;
    }
    return gss_fail(minor);
}

/* libpq prints whatever this returns and loops while *context is non-zero. */
OM_uint32 gss_display_status(OM_uint32 *minor, UNUSED OM_uint32 status, UNUSED int type,
                             UNUSED void *mech, OM_uint32 *context, gss_buffer_desc *text)
{
    if (minor != NULL)
        *minor = 0;
    if (context != NULL)
        *context = 0;
    text->length = sizeof not_available - 1;
    text->value = (void *)not_available;
    return GSS_S_COMPLETE;
}

/* Nothing this file hands out is allocated. */
OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_desc *buffer)
{
    if (buffer != NULL) {
        buffer->length = 0;
        buffer->value = NULL;
    }
    gss_fail(minor);
    return GSS_S_COMPLETE;
}

OM_uint32 gss_release_cred(OM_uint32 *minor, void **cred)
{
    if (cred != NULL)
        *cred = NULL;
    gss_fail(minor);
    return GSS_S_COMPLETE;
}

OM_uint32 gss_release_name(OM_uint32 *minor, void **name)
{
    if (name != NULL)
        *name = NULL;
    gss_fail(minor);
    return GSS_S_COMPLETE;
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, void **ctx, gss_buffer_desc *output)
{
    if (ctx != NULL)
        *ctx = NULL;
    return gss_release_buffer(minor, output);
}

OM_uint32 gss_wrap(OM_uint32 *minor, UNUSED void *ctx, UNUSED int conf_req, UNUSED OM_uint32 qop,
                   UNUSED gss_buffer_desc *input, UNUSED int *conf_state,
                   UNUSED gss_buffer_desc *output)
{
    return gss_fail(minor);
}

OM_uint32 gss_unwrap(OM_uint32 *minor, UNUSED void *ctx, UNUSED gss_buffer_desc *input,
                     UNUSED gss_buffer_desc *output, UNUSED int *conf_state, UNUSED OM_uint32 *qop)
{
    return gss_fail(minor);
}

OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, UNUSED void *ctx, UNUSED int conf_req,
                              UNUSED OM_uint32 qop, UNUSED OM_uint32 size,
                              UNUSED OM_uint32 *max_input)
{
    return gss_fail(minor);
}

/* ldap_init failing is the only LDAP call libpq reaches; the rest follow a successful one. */
void *ldap_init(UNUSED const char *host, UNUSED int port)
{
    return NULL;
}

char *ldap_err2string(UNUSED int err)
{
    return (char *)"LDAP is not available in this build";
}

int ldap_set_option(UNUSED void *ld, UNUSED int option, UNUSED const void *value)
{
    return -1;
}

int ldap_simple_bind(UNUSED void *ld, UNUSED const char *who, UNUSED const char *password)
{
    return -1;
}

int ldap_search_st(UNUSED void *ld, UNUSED const char *base, UNUSED int scope,
                   UNUSED const char *filter, UNUSED char **attrs, UNUSED int attrsonly,
                   UNUSED void *timeout, UNUSED void **result)
{
    return -1;
}

int ldap_result(UNUSED void *ld, UNUSED int msgid, UNUSED int all, UNUSED void *timeout,
                UNUSED void **result)
{
    return -1;
}

int ldap_count_entries(UNUSED void *ld, UNUSED void *chain)
{
    return -1;
}

void *ldap_first_entry(UNUSED void *ld, UNUSED void *chain)
{
    return NULL;
}

void *ldap_get_values_len(UNUSED void *ld, UNUSED void *entry, UNUSED const char *attr)
{
    return NULL;
}

void ldap_value_free_len(UNUSED void *values)
{
}

int ldap_msgfree(UNUSED void *message)
{
    return 0;
}

int ldap_unbind(UNUSED void *ld)
{
    return 0;
}
