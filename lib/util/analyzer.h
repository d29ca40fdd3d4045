/*
 * analyzer.h -- marks the few places where gcc's -fanalyzer (make
 * analyze, scripts/analyze.sh) reports a leak that is not one.
 *
 * Public: ANALYZER_NO_LEAK_BEGIN, ANALYZER_NO_LEAK_END around one
 * function.  Only for an allocation stored through memory the analyzer of
 * gcc 12 does not follow (a field reached by an offset, an element of a
 * realloc'd or calloc'd array); say at the use who frees it.
 * ANALYZER_DISTINCT_BEGIN, ANALYZER_DISTINCT_END around a function that
 * frees several pointers the analyzer cannot tell apart (fields copied in
 * from a struct it did not see filled): a double free it only imagines;
 * say at the use why they are distinct.  Leaks are
 * still checked at run time: the sanitized test suite runs with
 * LeakSanitizer (./configure --enable-sanitizers).  Empty for other
 * compilers.  Logs nothing.
 */
#ifndef POSTINBOX_ANALYZER_H
#define POSTINBOX_ANALYZER_H

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define ANALYZER_NO_LEAK_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wanalyzer-malloc-leak\"")
#define ANALYZER_NO_LEAK_END _Pragma("GCC diagnostic pop")
#define ANALYZER_DISTINCT_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wanalyzer-double-free\"")
#define ANALYZER_DISTINCT_END _Pragma("GCC diagnostic pop")
#else
#define ANALYZER_DISTINCT_BEGIN
#define ANALYZER_DISTINCT_END
#define ANALYZER_NO_LEAK_BEGIN
#define ANALYZER_NO_LEAK_END
#endif

#endif
