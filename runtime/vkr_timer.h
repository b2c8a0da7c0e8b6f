/* Monotonic wall-clock timing. */
#ifndef VKR_TIMER_H
#define VKR_TIMER_H

/* Seconds on a monotonic clock (arbitrary origin). */
double vkr_now_s(void);

#endif
