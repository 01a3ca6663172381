#ifndef FUNNEL_CMONGOC_SHIM_H
#define FUNNEL_CMONGOC_SHIM_H
#include <mongoc/mongoc.h>

/// bson_error_t is a large fixed struct; this shim copies its message into a caller buffer so Swift
/// code never needs to hold the C struct longer than one call.
static inline const char *funnel_bson_error_message(const bson_error_t *e) { return e->message; }
static inline uint32_t funnel_bson_error_code(const bson_error_t *e) { return e->code; }
#endif
