/* sha256.h: SHA-256 of a buffer, through libcrypto, its algorithm fetched once
 * per process (OpenSSL 3 fetches it again on every call given EVP_sha256(),
 * some 35 k instructions each). Thread-safe. */
#ifndef ATC_SHA256_H
#define ATC_SHA256_H

#include <stddef.h>

/* Fetches the algorithm now (the first fetch loads libcrypto's provider,
 * ~3 M instructions): call it at start so no job pays that. 0, or ATC_EIO
 * when libcrypto has no SHA-256. Optional: atc_sha256 fetches on first use. */
int atc_sha256_prepare(void);

/* Writes the 32-byte digest of data[0..len) to out. 0, or ATC_EIO. */
int atc_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
