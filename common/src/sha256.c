/* sha256.c: SHA-256 through libcrypto with the algorithm fetched once. */
#include "atc/sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

#include "atc/error.h"

static EVP_MD *sha256_md; /* fetched once, kept for the process's life */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int atc_sha256_prepare(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md != NULL ? 0 : ATC_EIO;
}

int atc_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;

    pthread_once(&sha256_once, sha256_fetch);
    const EVP_MD *md = sha256_md != NULL ? sha256_md : EVP_sha256();
    if (EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != 32)
        return ATC_EIO;
    return 0;
}
