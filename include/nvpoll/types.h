/* SPDX-License-Identifier: MIT */
/*
 * The types both <nvpoll.h> (the API) and <nvpoll/qpair.h> (the inline hot
 * path under it) need: the completion callback and a qpair's counters.
 * Here so that qpair.h points down to them and never up to nvpoll.h.
 */
#ifndef NVPOLL_TYPES_H
#define NVPOLL_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nvme_cqe;

/*
 * Completion callback. @err is 0 on success, -EIO when the controller
 * reported an error (status in nvp_cqe_status(@cqe)), or another -errno.
 * @cqe is never NULL. It runs inside nvp_qpair_poll() on the qpair's
 * thread; it may submit new commands but must not poll.
 */
typedef void (*nvp_cb)(void *arg, int err, const struct nvme_cqe *cqe);

/* Counters that explain performance. Reset by nvp_qpair_stats_reset(). */
struct nvp_qpair_stats {
	uint64_t submitted;	/* commands posted */
	uint64_t sq_doorbells;	/* SQ tail doorbell register writes (shadow doorbell stores not counted) */
	uint64_t completed;	/* completions reaped */
	uint64_t cq_doorbells;	/* CQ head doorbell register writes (ditto) */
	uint64_t polls;		/* nvp_qpair_poll() calls */
	uint64_t polls_empty;	/* ... that found nothing */
	uint64_t bad_cqes;	/* CQEs with an unknown or idle cid or a wild SQ head, skipped */
	uint64_t timeouts;	/* commands past their deadline */
	uint64_t aborts;	/* Abort commands sent for them */
	uint64_t resubmitted;	/* commands submitted again after a controller reset */
	uint64_t recoveries;	/* queue re-creations after a controller reset */
};

#ifdef __cplusplus
}
#endif

#endif /* NVPOLL_TYPES_H */
