#ifndef FUNNEL_CHIREDIS_SHIM_H
#define FUNNEL_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <sys/time.h>

/// Swift cannot call the variadic redisCommand, so only the argv entry points are used; these
/// inline shims expose struct fields and flags that do not import cleanly.
static inline int funnel_redis_context_error(const redisContext *c) { return c ? c->err : REDIS_ERR_OTHER; }
static inline const char *funnel_redis_context_errstr(const redisContext *c) { return c ? c->errstr : "no context"; }
static inline struct timeval funnel_timeval_ms(long ms) {
  struct timeval tv; tv.tv_sec = ms / 1000; tv.tv_usec = (ms % 1000) * 1000; return tv;
}
#endif
