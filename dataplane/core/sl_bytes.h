/* sluice packet core: loads and stores at any alignment.
 *
 * Headers behind Ethernet sit at 2 mod 4 (IPv4 at offset 14), and TCP option values at odd
 * offsets, so the core never dereferences a wire struct pointer: it reads and writes bytes
 * through these helpers (see below for how each target compiles them). */
#ifndef SLUICE_CORE_SL_BYTES_H
#define SLUICE_CORE_SL_BYTES_H

#include "sl_base.h"

/* Raw 16/32-bit words exactly as stored (network order in the packet).
 *
 * In BPF, __builtin_memcpy lowers to one byte load per byte plus shifts and ors (the backend
 * assumes no unaligned access), which made the non-SMTP path several instructions longer per
 * field. The verifier accepts unaligned packet and stack access on kernels built with
 * CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS (x86-64, arm64: the platforms sluice runs on; it
 * enforces strict alignment elsewhere), and BPF has no UBSan, so BPF code loads and stores
 * the typed word directly (the typedefs only add may_alias). User space keeps the memcpy
 * form: the same single instruction on x86, and no UBSan alignment report. */
#if defined(__bpf__)
typedef __u16 __attribute__((may_alias)) sl_unaligned_u16;
typedef __u32 __attribute__((may_alias)) sl_unaligned_u32;
typedef __u64 __attribute__((may_alias)) sl_unaligned_u64;

SL_INLINE __u16 sl_load16(const void *p) {
  return *(const sl_unaligned_u16 *)p;
}

SL_INLINE __u32 sl_load32(const void *p) {
  return *(const sl_unaligned_u32 *)p;
}

SL_INLINE void sl_store16(void *p, __u16 v) {
  *(sl_unaligned_u16 *)p = v;
}

SL_INLINE void sl_store32(void *p, __u32 v) {
  *(sl_unaligned_u32 *)p = v;
}

SL_INLINE void sl_store64(void *p, __u64 v) {
  *(sl_unaligned_u64 *)p = v;
}

SL_INLINE __u64 sl_load64(const void *p) {
  return *(const sl_unaligned_u64 *)p;
}
#else
SL_INLINE __u16 sl_load16(const void *p) {
  __u16 v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

SL_INLINE __u32 sl_load32(const void *p) {
  __u32 v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

SL_INLINE void sl_store16(void *p, __u16 v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

SL_INLINE void sl_store32(void *p, __u32 v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

SL_INLINE void sl_store64(void *p, __u64 v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

SL_INLINE __u64 sl_load64(const void *p) {
  __u64 v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
#endif

/* The word whose in-memory bytes are those of `first` followed by those of `second` (raw
 * values as loaded, so the result does not depend on the host's byte order). SL_BYTE_AT_START32
 * and SL_BYTE_SECOND32: the 32-bit word whose first, or second, byte in memory is b, the others
 * zero. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SL_JOIN32(first, second) (((__u32)(first) << 16) | (__u32)(__u16)(second))
#define SL_JOIN64(first, second) (((__u64)(first) << 32) | (__u64)(__u32)(second))
#define SL_BYTE_AT_START32(b) ((__u32)(__u8)(b) << 24)
#define SL_BYTE_SECOND32(b) ((__u32)(__u8)(b) << 16)
#else
#define SL_JOIN32(first, second) ((__u32)(__u16)(first) | ((__u32)(second) << 16))
#define SL_JOIN64(first, second) ((__u64)(__u32)(first) | ((__u64)(second) << 32))
#define SL_BYTE_AT_START32(b) ((__u32)(__u8)(b))
#define SL_BYTE_SECOND32(b) ((__u32)(__u8)(b) << 8)
#endif

/* Makes the compiler forget what it knows about v. Used after loads from constant packet
 * offsets that are then selected by value: without it clang may turn `c ? load(p + 12) :
 * load(p + 16)` into `load(p + (c ? 12 : 16))`, a variable offset the BPF verifier rejects
 * without a new bounds check. */
#define SL_BARRIER_VAR(v) __asm__ __volatile__("" : "+r"(v))

/* Keeps the object behind p in memory (stack), for clang's BPF backend only. Without it clang
 * splits a zeroed struct into one scalar per field and, with four callee-saved registers to hold
 * them, spills every scalar again on each branch of the code that fills it: for the parser's
 * struct sl_pkt, ten extra stores on the non-SMTP path and twice the verifier's work on each
 * program. Native compilers have registers enough and keep their split. */
#if defined(__bpf__)
#define SL_KEEP_IN_MEMORY(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#else
#define SL_KEEP_IN_MEMORY(p) ((void)(p))
#endif

/* Big-endian fields converted to host order. */
SL_INLINE __u16 sl_load_be16(const void *p) {
  return sl_ntohs(sl_load16(p));
}

SL_INLINE __u32 sl_load_be32(const void *p) {
  return sl_ntohl(sl_load32(p));
}

SL_INLINE void sl_store_be16(void *p, __u16 v) {
  sl_store16(p, (__u16)sl_htons(v));
}

SL_INLINE void sl_store_be32(void *p, __u32 v) {
  sl_store32(p, (__u32)sl_htonl(v));
}

#endif /* SLUICE_CORE_SL_BYTES_H */
