/*
 * fuzz_address.c -- envelope addresses as Postfix hands them over and as
 * the API is given them: address_normalize, address_canonical under each
 * flag combination (ADDRESS_STRICT, ADDRESS_KEEP_CASE), then the domain of
 * what was accepted, with normalisation checked to be idempotent.
 */
#include "fuzz.h"

#include "address.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[ADDRESS_MAX + 1], again[ADDRESS_MAX + 1], small[8];
    char *in = fuzz_cstring(data, size);

    if (in == NULL)
        return 0;
    if (address_normalize(in, out, sizeof(out)) == ADDRESS_OK) {
        const char *domain = address_domain(out);
        if (domain != NULL && strlen(domain) > strlen(out))
            abort();
        /* the canonical form is a fixed point */
        if (address_normalize(out, again, sizeof(again)) != ADDRESS_OK || strcmp(out, again) != 0)
            abort();
    }
    (void)address_normalize(in, small, sizeof(small));
    for (unsigned flags = 0; flags < 4; flags++) {
        if (address_canonical(in, flags, out, sizeof(out)) == ADDRESS_OK)
            (void)address_domain(out);
        (void)address_canonical(in, flags, small, sizeof(small));
    }
    free(in);
    return 0;
}
