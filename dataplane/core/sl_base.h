/* sluice packet core: base types and helpers.
 *
 * Every header under dataplane/core/ compiles three ways: as C11 for `clang -target bpf`, as
 * C11/C++20 in user space (DPDK data plane, tests, benchmarks). So: no libc calls, only the
 * kernel's fixed-width types, byte order by compiler builtins, and loops with constant bounds
 * the verifier can prove. */
#ifndef SLUICE_CORE_SL_BASE_H
#define SLUICE_CORE_SL_BASE_H

#include <linux/types.h>

#ifndef SL_INLINE
#define SL_INLINE static inline __attribute__((always_inline))
#endif

/* A rare step of the sequence kept out of line. In BPF a global function: the verifier checks
 * it once, on its own, instead of along every path of its caller (so its arguments are
 * scalars or pointers to memory it checks for 0, and it returns a scalar). In user space a
 * plain out-of-line function. */
#if defined(__bpf__)
#define SL_SUBPROG __attribute__((noinline))
#else
#define SL_SUBPROG static __attribute__((noinline)) inline
#endif

#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)

#if defined(__cplusplus)
#define SL_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define SL_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Network byte order without <arpa/inet.h> (not available to BPF). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define sl_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define sl_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define sl_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define sl_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define sl_htons(x) ((__be16)(x))
#define sl_ntohs(x) ((__u16)(x))
#define sl_htonl(x) ((__be32)(x))
#define sl_ntohl(x) ((__u32)(x))
#else
#error "sluice core: unknown byte order"
#endif

/* BPF: makes `v` opaque to the compiler, so it checks a bound and uses the value in the same
 * register (clang otherwise may check a copy, which the verifier does not connect). */
#if defined(__bpf__)
#define SL_VERIFIER_OPAQUE(v) __asm__ volatile("" : "+r"(v))
#else
#define SL_VERIFIER_OPAQUE(v) ((void)0)
#endif

#endif /* SLUICE_CORE_SL_BASE_H */
