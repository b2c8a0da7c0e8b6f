/* The one clock of vkrec: monotonic wall-clock time for progress lines, reports and benchmarks.
 *
 * Contract: values come from CLOCK_MONOTONIC, so differences are elapsed seconds unaffected by
 * changes to the system time; the origin is arbitrary, so only differences mean anything. */
#ifndef VKR_CLOCK_H
#define VKR_CLOCK_H

/* Seconds on a monotonic clock (arbitrary origin). */
double vkr_now_s(void);

#endif
