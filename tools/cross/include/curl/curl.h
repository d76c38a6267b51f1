/*
 * An empty stand-in for <curl/curl.h>, for cross builds of librdkafka
 * (rdkafka-sys 4.10 / librdkafka 2.12.1) to arm64.
 *
 * librdkafka's src/rdkafka_conf.c includes <curl/curl.h> under
 * `#ifdef WITH_OAUTHBEARER_OIDC`, but its CMake config.h defines that macro
 * with `#cmakedefine01`, i.e. always (as 0 when OIDC is off). Every use of
 * curl is under `#if WITH_OAUTHBEARER_OIDC` / `#if WITH_CURL`, both 0 here
 * (the rdkafka crate builds with WITH_CURL=0), so nothing from this header
 * is needed: only the include must resolve. The native build finds the
 * system's header (libcurl4-openssl-dev); the zig cross toolchain has no
 * arm64 copy, so `make build` and `infra package` put this directory on the
 * arm64 C include path (CFLAGS_aarch64_unknown_linux_gnu).
 */
