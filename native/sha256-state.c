/*
 * SHA-256 whose state can be saved and restored: OpenSSL's SHA-256 (the one
 * Node.js is built with, at its full speed: SHA extensions where the CPU has
 * them), with the chaining state and byte count read out and written back
 * at 64-byte block boundaries, in a portable form. (The SHA256_* calls are
 * deprecated in OpenSSL 3 in favour of EVP, which hides the chaining state.)
 *
 *   40 bytes: the eight 32-bit chaining words (big-endian), then the number
 *   of bytes hashed (64-bit big-endian).
 *
 * So a resumable upload can carry the hash of its committed bytes across a
 * restart or to another replica, and still check the whole object's SHA-256
 * at the end. Node-API only: it loads in any Node.js version of this ABI.
 */
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define SAVED_BYTES 40

static int context_of(napi_env env, napi_value value, SHA256_CTX **ctx) {
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, value, &data, &length) != napi_ok || length != sizeof(SHA256_CTX)) {
    napi_throw_type_error(env, NULL, "not a SHA-256 state");
    return 0;
  }
  *ctx = (SHA256_CTX *)data;
  return 1;
}

/* create(): a fresh state, as a Buffer. */
static napi_value create(napi_env env, napi_callback_info info) {
  napi_value out;
  void *data;
  (void)info;
  if (napi_create_buffer(env, sizeof(SHA256_CTX), &data, &out) != napi_ok) return NULL;
  SHA256_Init((SHA256_CTX *)data);
  return out;
}

/* update(state, bytes): hashes bytes (any TypedArray or Buffer). */
static napi_value update(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  SHA256_CTX *ctx;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  if (!context_of(env, argv[0], &ctx)) return NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "bytes must be a Uint8Array");
    return NULL;
  }
  SHA256_Update(ctx, data, length);
  return NULL;
}

/* digest(state): the SHA-256 of everything hashed so far; the state goes on. */
static napi_value digest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SHA256_CTX *ctx;
  SHA256_CTX copy;
  napi_value out;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (!context_of(env, argv[0], &ctx)) return NULL;
  memcpy(&copy, ctx, sizeof copy);
  if (napi_create_buffer(env, SHA256_DIGEST_LENGTH, &data, &out) != napi_ok) return NULL;
  SHA256_Final((unsigned char *)data, &copy);
  return out;
}

/* save(state): the 40-byte portable form; only at a 64-byte block boundary. */
static napi_value save(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SHA256_CTX *ctx;
  napi_value out;
  unsigned char *p;
  uint64_t bits;
  uint64_t bytes;
  int i;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (!context_of(env, argv[0], &ctx)) return NULL;
  if (ctx->num != 0) {
    napi_throw_range_error(env, NULL, "a SHA-256 state is saved only at a 64-byte boundary");
    return NULL;
  }
  if (napi_create_buffer(env, SAVED_BYTES, (void **)&p, &out) != napi_ok) return NULL;
  for (i = 0; i < 8; i++) {
    p[i * 4] = (unsigned char)(ctx->h[i] >> 24);
    p[i * 4 + 1] = (unsigned char)(ctx->h[i] >> 16);
    p[i * 4 + 2] = (unsigned char)(ctx->h[i] >> 8);
    p[i * 4 + 3] = (unsigned char)ctx->h[i];
  }
  bits = ((uint64_t)ctx->Nh << 32) | (uint64_t)ctx->Nl;
  bytes = bits >> 3;
  for (i = 0; i < 8; i++) p[32 + i] = (unsigned char)(bytes >> (56 - 8 * i));
  return out;
}

/* load(saved): a state from its 40-byte portable form. */
static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  size_t length;
  const unsigned char *p;
  SHA256_CTX *ctx;
  napi_value out;
  uint64_t bytes = 0;
  uint64_t bits;
  int i;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok || length != SAVED_BYTES) {
    napi_throw_type_error(env, NULL, "a saved SHA-256 state is 40 bytes");
    return NULL;
  }
  p = (const unsigned char *)data;
  for (i = 0; i < 8; i++) bytes = (bytes << 8) | p[32 + i];
  if (bytes % 64 != 0) {
    napi_throw_range_error(env, NULL, "a saved SHA-256 state ends at a 64-byte boundary");
    return NULL;
  }
  if (napi_create_buffer(env, sizeof(SHA256_CTX), (void **)&ctx, &out) != napi_ok) return NULL;
  SHA256_Init(ctx);
  for (i = 0; i < 8; i++) {
    ctx->h[i] = ((SHA_LONG)p[i * 4] << 24) | ((SHA_LONG)p[i * 4 + 1] << 16) |
                ((SHA_LONG)p[i * 4 + 2] << 8) | (SHA_LONG)p[i * 4 + 3];
  }
  bits = bytes << 3;
  ctx->Nl = (SHA_LONG)(bits & 0xffffffffu);
  ctx->Nh = (SHA_LONG)(bits >> 32);
  return out;
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {{"create", create}, {"update", update}, {"digest", digest}, {"save", save}, {"load", load}};
  size_t i;
  for (i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) {
      return NULL;
    }
  }
  return exports;
}
