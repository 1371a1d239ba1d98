/*
 * The few glibc symbols that Debian's libstdc++.so.6 and libgcc_s.so.1 import and musl lacks,
 * so that the musl starbase binary can run in a musl-only root with those two libraries (Debian
 * ships no libstdc++ built for musl; Alpine's gcompat package plays the same part there).
 * Built with musl-gcc and installed under the name of glibc's dynamic loader, which libstdc++
 * lists as needed; musl resolves symbols across all loaded objects.
 */
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

/* glibc >= 2.32: lets libstdc++ skip atomics while one thread runs; 0 = assume threads. */
char __libc_single_threaded = 0;

uint32_t arc4random(void) {
  uint32_t value = 0;
  while (getrandom(&value, sizeof value, 0) != sizeof value) {
  }
  return value;
}

size_t __strftime_l(char *s, size_t max, const char *format, const struct tm *tm, locale_t locale) {
  return strftime_l(s, max, format, tm, locale);
}

/* Destructors of thread_local objects, run when their thread exits. */
struct tls_dtor {
  void (*fn)(void *);
  void *obj;
  struct tls_dtor *next;
};
static pthread_key_t tls_dtor_key;
static pthread_once_t tls_dtor_once = PTHREAD_ONCE_INIT;

static void run_tls_dtors(void *head) {
  for (struct tls_dtor *d = head, *next; d; d = next) {
    next = d->next;
    d->fn(d->obj);
    free(d);
  }
}

static void make_tls_dtor_key(void) { pthread_key_create(&tls_dtor_key, run_tls_dtors); }

int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) {
  (void)dso;
  pthread_once(&tls_dtor_once, make_tls_dtor_key);
  struct tls_dtor *d = malloc(sizeof *d);
  if (!d) return -1;
  d->fn = fn;
  d->obj = obj;
  d->next = pthread_getspecific(tls_dtor_key);
  pthread_setspecific(tls_dtor_key, d);
  return 0;
}

/* glibc >= 2.35 lookup used by the unwinder; -1 = not found, as for an address outside any object. */
int _dl_find_object(void *address, void *result) {
  (void)address;
  (void)result;
  return -1;
}

/* libgcc's CPU feature probe (__builtin_cpu_supports): report no optional features. */
struct { unsigned int vendor, type, subtype, features[1]; } __cpu_model;
unsigned int __cpu_features2;
int __cpu_indicator_init(void) { return 0; }
