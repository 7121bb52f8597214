/* SPDX-License-Identifier: MIT */
/*
 * NVMe wire format: controller registers, queue entries, opcodes, status
 * codes and the Identify / log page structures nvpoll reads; then NVMe over
 * Fabrics (Connect, Property Get/Set) and the NVMe/TCP PDUs.
 *
 * Names follow the NVMe Base Specification 2.0 (nvme_ / NVME_ prefix).
 * Every multi-byte field is little-endian on the wire; nvpoll targets
 * little-endian hosts only (checked below), so fields are plain integers.
 * Every structure is followed by a static assertion of its size.
 */
#ifndef NVPOLL_SPEC_H
#define NVPOLL_SPEC_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nvpoll supports little-endian hosts only"
#endif

#ifdef __cplusplus
#define NVME_STATIC_ASSERT(c, m) static_assert(c, m)
extern "C" {
#else
#define NVME_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Extract or build a register field from its NAME_SHIFT / NAME_MASK pair. */
#define NVME_GET(v, f) (((v) >> NVME_##f##_SHIFT) & NVME_##f##_MASK)
#define NVME_SET(v, f) (((uint64_t)(v) & NVME_##f##_MASK) << NVME_##f##_SHIFT)

/* Controller registers: byte offsets into BAR0 (spec 3.1.3). */
enum nvme_reg {
	NVME_REG_CAP = 0x00,   /* Controller Capabilities, 64 bit */
	NVME_REG_VS = 0x08,    /* Version */
	NVME_REG_INTMS = 0x0c, /* Interrupt Mask Set */
	NVME_REG_INTMC = 0x10, /* Interrupt Mask Clear */
	NVME_REG_CC = 0x14,    /* Controller Configuration */
	NVME_REG_CSTS = 0x1c,  /* Controller Status */
	NVME_REG_NSSR = 0x20,  /* NVM Subsystem Reset */
	NVME_REG_AQA = 0x24,   /* Admin Queue Attributes */
	NVME_REG_ASQ = 0x28,   /* Admin SQ Base Address, 64 bit */
	NVME_REG_ACQ = 0x30,   /* Admin CQ Base Address, 64 bit */
	NVME_REG_CMBLOC = 0x38,
	NVME_REG_CMBSZ = 0x3c,
	NVME_REG_DBS = 0x1000, /* first doorbell (SQ 0 tail) */
};

/* CAP fields. */
enum {
	NVME_CAP_MQES_SHIFT = 0, NVME_CAP_MQES_MASK = 0xffff,	/* max entries - 1 */
	NVME_CAP_CQR_SHIFT = 16, NVME_CAP_CQR_MASK = 0x1,	/* contiguous queues required */
	NVME_CAP_AMS_SHIFT = 17, NVME_CAP_AMS_MASK = 0x3,
	NVME_CAP_TO_SHIFT = 24, NVME_CAP_TO_MASK = 0xff,	/* ready timeout, 500 ms units */
	NVME_CAP_DSTRD_SHIFT = 32, NVME_CAP_DSTRD_MASK = 0xf,	/* doorbell stride 4 << DSTRD */
	NVME_CAP_NSSRS_SHIFT = 36, NVME_CAP_NSSRS_MASK = 0x1,
	NVME_CAP_CSS_SHIFT = 37, NVME_CAP_CSS_MASK = 0xff,	/* command sets supported */
	NVME_CAP_MPSMIN_SHIFT = 48, NVME_CAP_MPSMIN_MASK = 0xf,	/* 2 ^ (12 + MPSMIN) */
	NVME_CAP_MPSMAX_SHIFT = 52, NVME_CAP_MPSMAX_MASK = 0xf,
};
#define NVME_CAP_CSS_NVM 0x01u
#define NVME_CAP_CSS_IOCS 0x40u		/* I/O command sets beyond NVM (ZNS): CC.CSS may be NVME_CC_CSS_ALL */

/* VS fields. */
enum {
	NVME_VS_TER_SHIFT = 0, NVME_VS_TER_MASK = 0xff,
	NVME_VS_MNR_SHIFT = 8, NVME_VS_MNR_MASK = 0xff,
	NVME_VS_MJR_SHIFT = 16, NVME_VS_MJR_MASK = 0xffff,
};

/* CC fields. */
enum {
	NVME_CC_EN_SHIFT = 0, NVME_CC_EN_MASK = 0x1,
	NVME_CC_CSS_SHIFT = 4, NVME_CC_CSS_MASK = 0x7,
	NVME_CC_MPS_SHIFT = 7, NVME_CC_MPS_MASK = 0xf,
	NVME_CC_AMS_SHIFT = 11, NVME_CC_AMS_MASK = 0x7,
	NVME_CC_SHN_SHIFT = 14, NVME_CC_SHN_MASK = 0x3,
	NVME_CC_IOSQES_SHIFT = 16, NVME_CC_IOSQES_MASK = 0xf,
	NVME_CC_IOCQES_SHIFT = 20, NVME_CC_IOCQES_MASK = 0xf,
};
enum { NVME_CC_CSS_NVM = 0, NVME_CC_CSS_ALL = 6 };	/* CC.CSS: the NVM set alone, or every supported one */
enum { NVME_CC_SHN_NONE = 0, NVME_CC_SHN_NORMAL = 1, NVME_CC_SHN_ABRUPT = 2 };

/* CSTS fields. */
enum {
	NVME_CSTS_RDY_SHIFT = 0, NVME_CSTS_RDY_MASK = 0x1,
	NVME_CSTS_CFS_SHIFT = 1, NVME_CSTS_CFS_MASK = 0x1,
	NVME_CSTS_SHST_SHIFT = 2, NVME_CSTS_SHST_MASK = 0x3,
	NVME_CSTS_NSSRO_SHIFT = 4, NVME_CSTS_NSSRO_MASK = 0x1,
	NVME_CSTS_PP_SHIFT = 5, NVME_CSTS_PP_MASK = 0x1,
};
enum { NVME_CSTS_SHST_NORMAL = 0, NVME_CSTS_SHST_OCCURRING = 1, NVME_CSTS_SHST_COMPLETE = 2 };

/* AQA fields (both sizes are zero-based). */
enum {
	NVME_AQA_ASQS_SHIFT = 0, NVME_AQA_ASQS_MASK = 0xfff,
	NVME_AQA_ACQS_SHIFT = 16, NVME_AQA_ACQS_MASK = 0xfff,
};

/* Queue entry sizes as log2, for CC.IOSQES / CC.IOCQES. */
#define NVME_SQES_LOG2 6
#define NVME_CQES_LOG2 4
#define NVME_ADMIN_QUEUE_MAX 4096 /* AQA sizes are 12 bits */

/* Data pointer: PRP pair or one SGL descriptor (spec 4.1, 4.3). */
struct nvme_sgl_desc {
	uint64_t addr;
	uint32_t length;
	uint8_t rsvd12[3];
	uint8_t type; /* descriptor type << 4 | subtype */
};
NVME_STATIC_ASSERT(sizeof(struct nvme_sgl_desc) == 16, "SGL descriptor is 16 bytes");

/* Submission queue entry (spec 4.2). */
struct nvme_sqe {
	uint8_t opc;
	uint8_t flags; /* FUSE bits 1:0, PSDT bits 7:6: NVME_SQE_FUSE_*, NVME_SQE_PSDT_* */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	union {
		struct {
			uint64_t prp1;
			uint64_t prp2;
		};
		struct nvme_sgl_desc sgl;
	};
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");

/* sqe.flags fields. */
enum {
	NVME_SQE_FUSE_SHIFT = 0, NVME_SQE_FUSE_MASK = 0x3,	/* fused operation, enum nvme_fuse */
	NVME_SQE_PSDT_SHIFT = 6, NVME_SQE_PSDT_MASK = 0x3,	/* PRP or SGL for data, enum nvme_psdt */
};
/* The fields in place in sqe.flags (0x03, 0xc0). */
#define NVME_SQE_FUSE (NVME_SQE_FUSE_MASK << NVME_SQE_FUSE_SHIFT)
#define NVME_SQE_PSDT (NVME_SQE_PSDT_MASK << NVME_SQE_PSDT_SHIFT)

enum nvme_fuse {
	NVME_FUSE_NONE = 0,
	NVME_FUSE_FIRST = 1,	/* first command of a fused operation */
	NVME_FUSE_SECOND = 2,
};

enum nvme_psdt {
	NVME_PSDT_PRP = 0,
	NVME_PSDT_SGL = 1,	     /* SGL for data, MPTR the address of a contiguous buffer */
	NVME_PSDT_SGL_MPTR_SGL = 2, /* SGL for data, MPTR the address of an SGL segment; 3 is reserved */
};

/* SGL descriptor types, the high nibble of nvme_sgl_desc.type (spec 4.3.2); subtype 0 is an address. */
enum nvme_sgl_type {
	NVME_SGL_TYPE_DATA_BLOCK = 0,
	NVME_SGL_TYPE_BIT_BUCKET = 1,
	NVME_SGL_TYPE_SEGMENT = 2,	/* the next segment; more follow it */
	NVME_SGL_TYPE_LAST_SEGMENT = 3, /* the next segment, the list's last */
};
#define NVME_SGL_DESC_TYPE(t) ((uint8_t)((t) << 4)) /* subtype 0: address */

/* Identify Controller SGLS: bits 1:0 say whether (and with what alignment) NVM commands take SGLs. */
enum {
	NVME_SGLS_SUPPORT_SHIFT = 0, NVME_SGLS_SUPPORT_MASK = 0x3,
};
enum nvme_sgls_support {
	NVME_SGLS_NONE = 0,
	NVME_SGLS_BYTE = 1,	/* no alignment or granularity asked */
	NVME_SGLS_DWORD = 2,	/* Data Block addresses and lengths dword aligned */
};
#define NVME_SGLS_BIT_BUCKET (1u << 16)

/* Completion queue entry (spec 4.6). */
struct nvme_cqe {
	uint32_t dw0; /* command specific */
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status; /* bit 0 phase, then the status field */
};
NVME_STATIC_ASSERT(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

/*
 * The status field is cqe.status >> 1 (NVME_CQE_STATUS_SHIFT): SC bits 7:0, SCT 10:8, CRD 12:11,
 * More bit 13, DNR bit 14. nvpoll passes status around as that 15-bit value.
 */
enum {
	NVME_STATUS_SC_SHIFT = 0, NVME_STATUS_SC_MASK = 0xff,
	NVME_STATUS_SCT_SHIFT = 8, NVME_STATUS_SCT_MASK = 0x7,
	NVME_STATUS_CRD_SHIFT = 11, NVME_STATUS_CRD_MASK = 0x3,
	NVME_STATUS_MORE_SHIFT = 13, NVME_STATUS_MORE_MASK = 0x1,
	NVME_STATUS_DNR_SHIFT = 14, NVME_STATUS_DNR_MASK = 0x1,
	NVME_STATUS_CODE_SHIFT = 0, NVME_STATUS_CODE_MASK = 0x7ff,	/* SCT and SC together, NVME_STATUS_CODE() */
};
#define NVME_STATUS_CODE(sct, sc) ((uint16_t)(((sct) << 8) | (sc)))
#define NVME_STATUS_DNR (1u << 14)
#define NVME_STATUS_MORE (1u << 13)

/* cqe.status (and an error log entry's status): the phase tag, then the status field. */
enum {
	NVME_CQE_PHASE_SHIFT = 0, NVME_CQE_PHASE_MASK = 0x1,
	NVME_CQE_STATUS_SHIFT = 1, NVME_CQE_STATUS_MASK = 0x7fff,
};
/* The phase tag in place in cqe.status (0x1). */
#define NVME_CQE_PHASE (NVME_CQE_PHASE_MASK << NVME_CQE_PHASE_SHIFT)
/* SCT and SC in place in cqe.status (0xffe): any bit set is an error; CRD, More and DNR alone are not. */
#define NVME_CQE_STATUS_CODE (NVME_STATUS_CODE_MASK << NVME_CQE_STATUS_SHIFT)

/* Status code types. */
enum nvme_sct {
	NVME_SCT_GENERIC = 0x0,
	NVME_SCT_CMD_SPECIFIC = 0x1,
	NVME_SCT_MEDIA = 0x2,
	NVME_SCT_PATH = 0x3,
	NVME_SCT_VENDOR = 0x7,
};

/* Generic command status (SCT 0). */
enum nvme_sc_generic {
	NVME_SC_SUCCESS = 0x00,
	NVME_SC_INVALID_OPCODE = 0x01,
	NVME_SC_INVALID_FIELD = 0x02,
	NVME_SC_CID_CONFLICT = 0x03,
	NVME_SC_DATA_XFER_ERROR = 0x04,
	NVME_SC_POWER_LOSS = 0x05,
	NVME_SC_INTERNAL = 0x06,
	NVME_SC_ABORT_REQ = 0x07,
	NVME_SC_ABORT_QUEUE = 0x08,
	NVME_SC_FUSED_FAIL = 0x09,
	NVME_SC_FUSED_MISSING = 0x0a,
	NVME_SC_INVALID_NS = 0x0b,
	NVME_SC_CMD_SEQ_ERROR = 0x0c,
	NVME_SC_SGL_INVALID_LAST = 0x0d,
	NVME_SC_SGL_INVALID_COUNT = 0x0e,
	NVME_SC_SGL_INVALID_DATA = 0x0f,
	NVME_SC_SGL_INVALID_METADATA = 0x10,
	NVME_SC_SGL_INVALID_TYPE = 0x11,
	NVME_SC_PRP_OFFSET_INVALID = 0x13,
	NVME_SC_SGL_INVALID_OFFSET = 0x16,
	NVME_SC_SGL_GRANULARITY = 0x1e,
	NVME_SC_NS_NOT_READY = 0x82,
	NVME_SC_LBA_RANGE = 0x80,
	NVME_SC_CAP_EXCEEDED = 0x81,
	NVME_SC_RESERVATION_CONFLICT = 0x83,
	NVME_SC_FORMAT_IN_PROGRESS = 0x84,
};

/* Command specific status (SCT 1). */
enum nvme_sc_cmd_specific {
	NVME_SC_CQ_INVALID = 0x00,
	NVME_SC_QID_INVALID = 0x01,
	NVME_SC_QUEUE_SIZE = 0x02,
	NVME_SC_ABORT_LIMIT = 0x03,
	NVME_SC_ASYNC_LIMIT = 0x05,
	NVME_SC_INVALID_FW_SLOT = 0x06,
	NVME_SC_INVALID_FW_IMAGE = 0x07,
	NVME_SC_INVALID_INT_VECTOR = 0x08,
	NVME_SC_INVALID_LOG_PAGE = 0x09,
	NVME_SC_INVALID_FORMAT = 0x0a,
	NVME_SC_INVALID_QUEUE_DELETION = 0x0c,
	NVME_SC_FEATURE_NOT_SAVEABLE = 0x0d,
	NVME_SC_FEATURE_NOT_CHANGEABLE = 0x0e,
	NVME_SC_NS_ALREADY_ATTACHED = 0x18,	/* Namespace Attachment */
	NVME_SC_NS_IS_PRIVATE = 0x19,
	NVME_SC_NS_NOT_ATTACHED = 0x1a,
	NVME_SC_CTRL_LIST_INVALID = 0x1c,
	NVME_SC_CONFLICTING_ATTRS = 0x80,
	NVME_SC_INVALID_PI = 0x81,
	NVME_SC_READ_ONLY = 0x82,
	NVME_SC_CMD_SIZE_LIMIT = 0x83,	/* Copy: a range, the total or the range count above MSSRL/MCL/MSRC */
	/* Zoned Namespace command set */
	NVME_SC_ZONE_BOUNDARY = 0xb8,
	NVME_SC_ZONE_FULL = 0xb9,
	NVME_SC_ZONE_READ_ONLY = 0xba,
	NVME_SC_ZONE_OFFLINE = 0xbb,
	NVME_SC_ZONE_INVALID_WRITE = 0xbc,
	NVME_SC_ZONE_TOO_MANY_ACTIVE = 0xbd,
	NVME_SC_ZONE_TOO_MANY_OPEN = 0xbe,
	NVME_SC_ZONE_INVALID_TRANSITION = 0xbf,
};

/* Media and data integrity errors (SCT 2). */
enum nvme_sc_media {
	NVME_SC_WRITE_FAULT = 0x80,
	NVME_SC_READ_ERROR = 0x81,
	NVME_SC_GUARD_CHECK = 0x82,
	NVME_SC_APPTAG_CHECK = 0x83,
	NVME_SC_REFTAG_CHECK = 0x84,
	NVME_SC_COMPARE_FAILED = 0x85,
	NVME_SC_ACCESS_DENIED = 0x86,
	NVME_SC_UNWRITTEN_BLOCK = 0x87,
};

/* Path related status (SCT 3): what a host (the kernel's driver) reports for commands it gave up. */
enum nvme_sc_path {
	NVME_SC_INTERNAL_PATH_ERROR = 0x00,
	NVME_SC_HOST_PATH_ERROR = 0x70,
	NVME_SC_HOST_ABORTED = 0x71,
};

/* Admin command opcodes (spec 5). */
enum nvme_admin_opc {
	NVME_ADMIN_DELETE_SQ = 0x00,
	NVME_ADMIN_CREATE_SQ = 0x01,
	NVME_ADMIN_GET_LOG_PAGE = 0x02,
	NVME_ADMIN_DELETE_CQ = 0x04,
	NVME_ADMIN_CREATE_CQ = 0x05,
	NVME_ADMIN_IDENTIFY = 0x06,
	NVME_ADMIN_ABORT = 0x08,
	NVME_ADMIN_SET_FEATURES = 0x09,
	NVME_ADMIN_GET_FEATURES = 0x0a,
	NVME_ADMIN_ASYNC_EVENT = 0x0c,
	NVME_ADMIN_NS_MGMT = 0x0d,
	NVME_ADMIN_FW_COMMIT = 0x10,
	NVME_ADMIN_FW_DOWNLOAD = 0x11,
	NVME_ADMIN_DEV_SELF_TEST = 0x14,
	NVME_ADMIN_NS_ATTACH = 0x15,
	NVME_ADMIN_KEEP_ALIVE = 0x18,
	NVME_ADMIN_DIRECTIVE_SEND = 0x19,
	NVME_ADMIN_DIRECTIVE_RECV = 0x1a,
	NVME_ADMIN_VIRT_MGMT = 0x1c,
	NVME_ADMIN_DBBUF_CONFIG = 0x7c,
	NVME_ADMIN_FORMAT_NVM = 0x80,
	NVME_ADMIN_SECURITY_SEND = 0x81,
	NVME_ADMIN_SECURITY_RECV = 0x82,
	NVME_ADMIN_SANITIZE = 0x84,
	NVME_ADMIN_GET_LBA_STATUS = 0x86,
};

/* NVM command set opcodes. */
enum nvme_io_opc {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
	NVME_CMD_WRITE_UNCOR = 0x04,
	NVME_CMD_COMPARE = 0x05,
	NVME_CMD_WRITE_ZEROES = 0x08,
	NVME_CMD_DSM = 0x09,
	NVME_CMD_VERIFY = 0x0c,
	NVME_CMD_COPY = 0x19,
	/* Zoned Namespace command set (CSI 02h) */
	NVME_CMD_ZONE_MGMT_SEND = 0x79,
	NVME_CMD_ZONE_MGMT_RECV = 0x7a,
	NVME_CMD_ZONE_APPEND = 0x7d,
};

/* Create I/O CQ / SQ: CDW11 flags. */
#define NVME_QUEUE_PHYS_CONTIG (1u << 0)
#define NVME_CQ_IRQ_ENABLED (1u << 1)

/* Identify CNS values. */
enum nvme_identify_cns {
	NVME_ID_CNS_NS = 0x00,
	NVME_ID_CNS_CTRL = 0x01,
	NVME_ID_CNS_NS_ACTIVE_LIST = 0x02,
	NVME_ID_CNS_NS_DESC_LIST = 0x03,
	NVME_ID_CNS_CSI_NS = 0x05,	/* I/O command set specific Identify Namespace: CDW11 bits 31:24 the CSI */
	NVME_ID_CNS_CSI_CTRL = 0x06,	/* ... Identify Controller */
	NVME_ID_CNS_NS_ALLOC_LIST = 0x10,	/* allocated (attached or not) namespace ids */
	NVME_ID_CNS_NS_ALLOC = 0x11,		/* Identify Namespace of an allocated namespace */
	NVME_ID_CNS_NS_CTRL_LIST = 0x12,	/* controllers a namespace is attached to */
	NVME_ID_CNS_CTRL_LIST = 0x13,		/* controllers in the subsystem */
};
#define NVME_ID_CSI_SHIFT 24

/* Command set identifiers (CSI). */
enum nvme_csi {
	NVME_CSI_NVM = 0x00,
	NVME_CSI_KV = 0x01,
	NVME_CSI_ZNS = 0x02,
};

/* Namespace Identification Descriptor types (CNS 03h): a 4-byte header (type, length), then the value. */
enum nvme_nidt {
	NVME_NIDT_EUI64 = 0x01,
	NVME_NIDT_NGUID = 0x02,
	NVME_NIDT_UUID = 0x03,
	NVME_NIDT_CSI = 0x04,
};

/* Namespace Attachment: CDW10 bits 3:0, SEL. */
enum nvme_ns_attach_sel {
	NVME_NS_ATTACH_SEL_ATTACH = 0,
	NVME_NS_ATTACH_SEL_DETACH = 1,
};

/*
 * Controller List (Namespace Attachment data, Identify CNS 12h/13h): a
 * count, then that many controller ids, ascending.
 */
#define NVME_CTRL_LIST_MAX 2047
struct nvme_ctrl_list {
	uint16_t num;
	uint16_t ids[NVME_CTRL_LIST_MAX];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_ctrl_list) == 4096, "Controller List is 4096 bytes");

/* Feature identifiers. */
enum nvme_feature_id {
	NVME_FEAT_ARBITRATION = 0x01,
	NVME_FEAT_POWER_MGMT = 0x02,
	NVME_FEAT_LBA_RANGE = 0x03,		/* data: 4096 bytes */
	NVME_FEAT_TEMP_THRESH = 0x04,
	NVME_FEAT_ERR_RECOVERY = 0x05,
	NVME_FEAT_VOLATILE_WC = 0x06,
	NVME_FEAT_NUM_QUEUES = 0x07,
	NVME_FEAT_IRQ_COALESCE = 0x08,
	NVME_FEAT_IRQ_CONFIG = 0x09,
	NVME_FEAT_WRITE_ATOMIC = 0x0a,
	NVME_FEAT_ASYNC_EVENT = 0x0b,
	NVME_FEAT_AUTO_PST = 0x0c,		/* data: 256 bytes */
	NVME_FEAT_HOST_MEM_BUF = 0x0d,		/* Get Features data: 4096 bytes */
	NVME_FEAT_TIMESTAMP = 0x0e,		/* data: 8 bytes */
	NVME_FEAT_KEEP_ALIVE = 0x0f,
	NVME_FEAT_HCTM = 0x10,
	NVME_FEAT_NOPSC = 0x11,
	NVME_FEAT_RRL = 0x12,
	NVME_FEAT_PLM_CONFIG = 0x13,		/* data: 512 bytes */
	NVME_FEAT_PLM_WINDOW = 0x14,
	NVME_FEAT_LBA_STS_INTERVAL = 0x15,
	NVME_FEAT_HOST_BEHAVIOR = 0x16,		/* data: 512 bytes */
	NVME_FEAT_SANITIZE = 0x17,
	NVME_FEAT_ENDURANCE_EVT = 0x18,
	NVME_FEAT_IOCS_PROFILE = 0x19,
	NVME_FEAT_SW_PROGRESS = 0x80,
	NVME_FEAT_HOST_ID = 0x81,		/* data: 8 bytes, 16 with CDW11.EXHID */
	NVME_FEAT_RESV_MASK = 0x82,
	NVME_FEAT_RESV_PERSIST = 0x83,
};

/* Log page identifiers. */
enum nvme_log_id {
	NVME_LOG_ERROR = 0x01,
	NVME_LOG_SMART = 0x02,
	NVME_LOG_FW_SLOT = 0x03,
	NVME_LOG_CHANGED_NS = 0x04,
};

/*
 * Get Log Page: CDW10 holds LID (7:0), LSP (14:8), RAE (15), NUMDL (31:16);
 * CDW11 NUMDU (15:0) and LSI (31:16); CDW12/13 the byte offset LPO.
 * NUMDU and LPO need Identify Controller LPA bit 2 (extended data).
 */
#define NVME_LOG_RAE (1u << 15)
#define NVME_LPA_EXT_DATA (1u << 2)
#define NVME_CHANGED_NS_MAX 1024	/* ids in the Changed Namespace List log */
#define NVME_CHANGED_NS_OVERFLOW 0xffffffffu	/* its first entry: more changed than it holds */

/* Dataset Management: CDW11 attributes and the range entry. */
#define NVME_DSM_ATTR_DEALLOCATE (1u << 2)
struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb; /* one-based here, unlike CDW12 */
	uint64_t slba;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_dsm_range) == 16, "DSM range is 16 bytes");
#define NVME_DSM_MAX_RANGES 256

/*
 * Copy (Simple Copy): CDW10/11 the destination LBA; CDW12 NR (7:0, ranges
 * - 1), the descriptor format (11:8), PRINFOR (23:20), PRINFOW (29:26);
 * the data, NR + 1 source ranges of format 0.
 */
enum {
	NVME_COPY_NR_SHIFT = 0, NVME_COPY_NR_MASK = 0xff,
	NVME_COPY_DESC_FMT_SHIFT = 8, NVME_COPY_DESC_FMT_MASK = 0xf,
	NVME_COPY_PRINFOR_SHIFT = 20, NVME_COPY_PRINFOR_MASK = 0xf,
	NVME_COPY_PRINFOW_SHIFT = 26, NVME_COPY_PRINFOW_MASK = 0xf,
};
#define NVME_COPY_MAX_RANGES 256
struct nvme_copy_range {
	uint64_t rsvd0;
	uint64_t slba;
	uint16_t nlb;		/* zero-based, as in CDW12 (unlike DSM's) */
	uint16_t rsvd18;
	uint32_t eilbrt;	/* expected initial logical block reference tag */
	uint16_t elbat;		/* expected application tag ... */
	uint16_t elbatm;	/* ... and its mask */
	uint32_t rsvd28;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_copy_range) == 32, "Copy source range (format 0) is 32 bytes");

/* Read/Write CDW12 flags. */
#define NVME_RW_FUA (1u << 30)
#define NVME_RW_LR (1u << 31)

/*
 * Protection information fields of Read, Write, Compare, Verify, Copy, Zone
 * Append: PRINFO in CDW12 bits 29:26 (PRACT, then PRCHK: guard, application
 * tag, reference tag); CDW14 the initial logical block reference tag
 * (ILBRT); CDW15 the application tag (LBAT, 15:0) and its mask (LBATM, 31:16).
 */
enum {
	NVME_RW_PRINFO_SHIFT = 26, NVME_RW_PRINFO_MASK = 0xf,
	NVME_RW_LBAT_SHIFT = 0, NVME_RW_LBAT_MASK = 0xffff,
	NVME_RW_LBATM_SHIFT = 16, NVME_RW_LBATM_MASK = 0xffff,
};
#define NVME_PRINFO_PRCHK_REF 0x1u
#define NVME_PRINFO_PRCHK_APP 0x2u
#define NVME_PRINFO_PRCHK_GUARD 0x4u
#define NVME_PRINFO_PRACT 0x8u

/*
 * The protection information tuple of the 16-bit guard format, 8 bytes of
 * a block's metadata. Unlike the rest of NVMe its fields are big-endian
 * (as T10 DIF has them): read and write them with nvme_be16/nvme_be32.
 */
struct nvme_pi_tuple {
	uint16_t guard;		/* big-endian: CRC-16 T10-DIF of the block */
	uint16_t app_tag;	/* big-endian */
	uint32_t ref_tag;	/* big-endian */
};
NVME_STATIC_ASSERT(sizeof(struct nvme_pi_tuple) == 8, "PI tuple is 8 bytes");
#define NVME_PI_APP_ESCAPE 0xffffu	/* application tag that turns the block's checks off */
#define NVME_PI_REF_ESCAPE 0xffffffffu	/* with it, type 3's reference tag escape */

static inline uint16_t nvme_be16(uint16_t v)
{
	return __builtin_bswap16(v);
}

static inline uint32_t nvme_be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

/* LBA format descriptor. */
struct nvme_lbaf {
	uint16_t ms;	/* metadata bytes per LBA */
	uint8_t lbads;	/* LBA data size, log2 */
	uint8_t rp;	/* relative performance, bits 1:0 */
};
NVME_STATIC_ASSERT(sizeof(struct nvme_lbaf) == 4, "LBA format is 4 bytes");

/* Power state descriptor. */
struct nvme_id_psd {
	uint16_t mp;
	uint8_t rsvd2;
	uint8_t flags;
	uint32_t enlat;
	uint32_t exlat;
	uint8_t rrt, rrl, rwt, rwl;
	uint16_t idlp;
	uint8_t ips;
	uint8_t rsvd19;
	uint16_t actp;
	uint8_t apws;
	uint8_t rsvd23[9];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_id_psd) == 32, "power state is 32 bytes");

/* Identify Controller data structure (CNS 01h). */
struct nvme_id_ctrl {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /* max transfer: 2^mdts units of CAP.MPSMIN; 0 = no limit */
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r;
	uint32_t rtd3e;
	uint32_t oaes;
	uint32_t ctratt;
	uint16_t rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	uint16_t crdt1, crdt2, crdt3;
	uint8_t rsvd134[119];
	uint8_t nvmsr;
	uint8_t vwci;
	uint8_t mec;
	uint16_t oacs;
	uint8_t acl;
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe;
	uint8_t npss;
	uint8_t avscc;
	uint8_t apsta;
	uint16_t wctemp;
	uint16_t cctemp;
	uint16_t mtfa;
	uint32_t hmpre;
	uint32_t hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	uint32_t rpmbs;
	uint16_t edstt;
	uint8_t dsto;
	uint8_t fwug;
	uint16_t kas;
	uint16_t hctma;
	uint16_t mntmt;
	uint16_t mxtmt;
	uint32_t sanicap;
	uint32_t hmminds;
	uint16_t hmmaxd;
	uint16_t nsetidmax;
	uint16_t endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	uint32_t anagrpmax;
	uint32_t nanagrpid;
	uint32_t pels;
	uint16_t domainid;
	uint8_t rsvd358[10];
	uint8_t megcap[16];
	uint8_t rsvd384[128];
	uint8_t sqes;
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;
	uint16_t oncs;
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t icsvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint16_t ocfs;
	uint32_t sgls;
	uint32_t mnan;
	uint8_t maxdna[16];
	uint32_t maxcna;
	uint8_t rsvd564[204];
	char subnqn[256];
	uint8_t rsvd1024[768];
	/* NVMe over Fabrics (Fabrics spec 1.1, 4.1): zero on PCIe. */
	uint32_t ioccsz;	/* I/O command capsule size, 16-byte units: 4 = no in-capsule data */
	uint32_t iorcsz;
	uint16_t icdoff;	/* in-capsule data offset, 16-byte units */
	uint8_t fcatt;
	uint8_t msdbd;		/* SGL data block descriptors per command */
	uint16_t ofcs;
	uint8_t rsvd1806[242];
	struct nvme_id_psd psd[32];
	uint8_t vs[1024];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_id_ctrl) == 4096, "Identify Controller is 4096 bytes");

/* OACS bits: optional admin commands. */
#define NVME_OACS_FORMAT (1u << 1)	/* Format NVM */
#define NVME_OACS_NS_MGMT (1u << 3)	/* Namespace Management and Namespace Attachment */
#define NVME_OACS_DBBUF (1u << 8)	/* Doorbell Buffer Config */

/* ONCS bits: optional NVM commands. */
#define NVME_ONCS_COMPARE (1u << 0)
#define NVME_ONCS_WRITE_UNCOR (1u << 1)
#define NVME_ONCS_DSM (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)
#define NVME_ONCS_VERIFY (1u << 7)
#define NVME_ONCS_COPY (1u << 8)
#define NVME_OCFS_FORMAT0 (1u << 0)	/* OCFS: Copy source range format 0 */

/* Identify Namespace data structure (CNS 00h). */
struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* zero-based count of LBA formats */
	uint8_t flbas; /* bits 3:0 format index (low), bit 4 extended LBA */
	uint8_t mc;    /* metadata capabilities: NVME_MC_* */
	uint8_t dpc;   /* end-to-end data protection types supported */
	uint8_t dps;   /* end-to-end data protection type settings: NVME_DPS_* */
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	uint16_t nawun;
	uint16_t nawupf;
	uint16_t nacwu;
	uint16_t nabsn;
	uint16_t nabo;
	uint16_t nabspf;
	uint16_t noiob;
	uint8_t nvmcap[16];
	uint16_t npwg;
	uint16_t npwa;
	uint16_t npdg;
	uint16_t npda;
	uint16_t nows;
	uint16_t mssrl;
	uint32_t mcl;
	uint8_t msrc;
	uint8_t rsvd81[11];
	uint32_t anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	uint16_t nvmsetid;
	uint16_t endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct nvme_lbaf lbaf[64];
	uint8_t vs[3712];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_id_ns) == 4096, "Identify Namespace is 4096 bytes");

/* FLBAS: the in-use format index is bits 3:0 plus bits 6:5 as its high bits. */
static inline unsigned nvme_id_ns_flbas_index(const struct nvme_id_ns *ns)
{
	return (ns->flbas & 0xfu) | ((ns->flbas >> 5 & 0x3u) << 4);
}

#define NVME_FLBAS_EXTENDED (1u << 4)	/* metadata inline after each block's data */
#define NVME_MC_EXTENDED (1u << 0)	/* MC: extended LBAs supported */
#define NVME_MC_SEPARATE (1u << 1)	/* MC: a separate metadata buffer supported */
/* DPS: PI type (0 none, 1..3) and bit 3, PI in the first 8 bytes of metadata (else the last 8). */
enum {
	NVME_DPS_PIT_SHIFT = 0, NVME_DPS_PIT_MASK = 0x7,
	NVME_DPS_PIP_SHIFT = 3, NVME_DPS_PIP_MASK = 0x1,
};

/* Zoned Namespace: LBA format extension (zone size per format). */
struct nvme_zns_lbafe {
	uint64_t zsze;		/* zone size, logical blocks */
	uint8_t zdes;		/* zone descriptor extension size, 64-byte units */
	uint8_t rsvd9[7];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_zns_lbafe) == 16, "ZNS LBA format extension is 16 bytes");

/* Zoned Namespace Identify Namespace (CNS 05h, CSI 02h). */
struct nvme_zns_id_ns {
	uint16_t zoc;		/* zone operation characteristics */
	uint16_t ozcs;		/* optional zoned command support: bit 0 reads across zone boundaries */
	uint32_t mar;		/* max active resources, zero-based; 0xffffffff: no limit */
	uint32_t mor;		/* max open resources, likewise */
	uint32_t rrl;
	uint32_t frl;
	uint8_t rsvd20[2796];
	struct nvme_zns_lbafe lbafe[16];
	uint8_t rsvd3072[768];
	uint8_t vs[256];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_zns_id_ns) == 4096, "ZNS Identify Namespace is 4096 bytes");
#define NVME_ZNS_NO_LIMIT 0xffffffffu

/* Zoned Namespace Identify Controller (CNS 06h, CSI 02h). */
struct nvme_zns_id_ctrl {
	uint8_t zasl;		/* zone append size limit: 2^zasl units of CAP.MPSMIN; 0: MDTS */
	uint8_t rsvd1[4095];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_zns_id_ctrl) == 4096, "ZNS Identify Controller is 4096 bytes");

/* Zone Management Send: CDW13 ZSA (7:0) and Select All (bit 8). */
enum nvme_zone_send_action {
	NVME_ZSA_CLOSE = 0x01,
	NVME_ZSA_FINISH = 0x02,
	NVME_ZSA_OPEN = 0x03,
	NVME_ZSA_RESET = 0x04,
	NVME_ZSA_OFFLINE = 0x05,
};
#define NVME_ZSA_SELECT_ALL (1u << 8)

/* Zone Management Receive: CDW12 NUMD (dwords - 1); CDW13 ZRA (7:0), ZRASF (15:8), Partial Report (16). */
enum {
	NVME_ZRA_SHIFT = 0, NVME_ZRA_MASK = 0xff,
	NVME_ZRASF_SHIFT = 8, NVME_ZRASF_MASK = 0xff,
	NVME_ZRA_PARTIAL_SHIFT = 16, NVME_ZRA_PARTIAL_MASK = 0x1,
};
#define NVME_ZRA_REPORT 0x00
enum nvme_zrasf {
	NVME_ZRASF_ALL = 0x00,
	NVME_ZRASF_EMPTY = 0x01,
	NVME_ZRASF_IMP_OPEN = 0x02,
	NVME_ZRASF_EXP_OPEN = 0x03,
	NVME_ZRASF_CLOSED = 0x04,
	NVME_ZRASF_FULL = 0x05,
	NVME_ZRASF_READ_ONLY = 0x06,
	NVME_ZRASF_OFFLINE = 0x07,
};

/* Zone states, as a zone descriptor's ZS bits 7:4 hold them. */
enum nvme_zone_state {
	NVME_ZS_EMPTY = 0x1,
	NVME_ZS_IMP_OPEN = 0x2,
	NVME_ZS_EXP_OPEN = 0x3,
	NVME_ZS_CLOSED = 0x4,
	NVME_ZS_READ_ONLY = 0xd,
	NVME_ZS_FULL = 0xe,
	NVME_ZS_OFFLINE = 0xf,
};
#define NVME_ZONE_TYPE_SEQ_WRITE 0x2

/* Report Zones: a 64-byte header, then 64-byte zone descriptors. */
struct nvme_zone_report_hdr {
	uint64_t nr_zones;	/* matching zones (Partial Report: descriptors in this buffer) */
	uint8_t rsvd8[56];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_zone_report_hdr) == 64, "zone report header is 64 bytes");
struct nvme_zone_desc {
	uint8_t zt;		/* zone type, bits 3:0 */
	uint8_t zs;		/* zone state, bits 7:4 */
	uint8_t za;		/* zone attributes */
	uint8_t zai;
	uint8_t rsvd4[4];
	uint64_t zcap;
	uint64_t zslba;
	uint64_t wp;
	uint8_t rsvd32[32];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_zone_desc) == 64, "zone descriptor is 64 bytes");

/* Error Information log entry (log 01h). */
struct nvme_error_log {
	uint64_t error_count;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;
	uint16_t param_error_location;
	uint64_t lba;
	uint32_t nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t cs;
	uint16_t trtype_spec_info;
	uint8_t rsvd42[21];
	uint8_t log_page_version;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_error_log) == 64, "error log entry is 64 bytes");

/* SMART / Health Information log (log 02h). 128-bit counters as byte arrays. */
struct nvme_smart_log {
	uint8_t critical_warning;
	uint8_t temperature[2]; /* kelvin */
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endu_grp_crit_warn_sumry;
	uint8_t rsvd7[25];
	uint8_t data_units_read[16]; /* thousands of 512-byte units */
	uint8_t data_units_written[16];
	uint8_t host_reads[16];
	uint8_t host_writes[16];
	uint8_t ctrl_busy_time[16];
	uint8_t power_cycles[16];
	uint8_t power_on_hours[16];
	uint8_t unsafe_shutdowns[16];
	uint8_t media_errors[16];
	uint8_t num_err_log_entries[16];
	uint32_t warning_temp_time;
	uint32_t critical_comp_time;
	uint16_t temp_sensor[8];
	uint32_t thm_temp1_trans_count;
	uint32_t thm_temp2_trans_count;
	uint32_t thm_temp1_total_time;
	uint32_t thm_temp2_total_time;
	uint8_t rsvd232[280];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_smart_log) == 512, "SMART log is 512 bytes");

/* Firmware Slot Information log (log 03h). */
struct nvme_fw_slot_log {
	uint8_t afi;
	uint8_t rsvd1[7];
	char frs[7][8];
	uint8_t rsvd64[448];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_fw_slot_log) == 512, "firmware slot log is 512 bytes");

/* Format NVM: CDW10 (NVME_GET(cdw10, FMT_LBAF), ...). */
enum {
	NVME_FMT_LBAF_SHIFT = 0, NVME_FMT_LBAF_MASK = 0xf,	/* LBA format index, low bits */
	NVME_FMT_MSET_SHIFT = 4, NVME_FMT_MSET_MASK = 0x1,	/* metadata: extended LBA */
	NVME_FMT_PI_SHIFT = 5, NVME_FMT_PI_MASK = 0x7,		/* protection information type */
	NVME_FMT_PIL_SHIFT = 8, NVME_FMT_PIL_MASK = 0x1,
	NVME_FMT_SES_SHIFT = 9, NVME_FMT_SES_MASK = 0x7,	/* secure erase setting */
	NVME_FMT_LBAFU_SHIFT = 12, NVME_FMT_LBAFU_MASK = 0x3,	/* LBA format index, high bits */
};
enum nvme_fmt_ses {
	NVME_FMT_SES_NONE = 0,
	NVME_FMT_SES_USER_DATA = 1,	/* user data erase */
	NVME_FMT_SES_CRYPTO = 2,	/* cryptographic erase: needs FNA bit 2 */
};
#define NVME_FNA_CRYPTO_ERASE (1u << 2)	/* Identify Controller FNA: cryptographic erase supported */

/* Asynchronous event completion dword 0. */
enum {
	NVME_AER_TYPE_SHIFT = 0, NVME_AER_TYPE_MASK = 0x7,
	NVME_AER_INFO_SHIFT = 8, NVME_AER_INFO_MASK = 0xff,
	NVME_AER_LID_SHIFT = 16, NVME_AER_LID_MASK = 0xff,
};
enum nvme_aer_type {
	NVME_AER_ERROR = 0,
	NVME_AER_SMART = 1,
	NVME_AER_NOTICE = 2,
	NVME_AER_IO_CMD_SET = 6,
	NVME_AER_VENDOR = 7,
};

/* ---- NVMe over Fabrics (NVMe over Fabrics spec 1.1, 3.3 and 3.5) -------- */

/* Opcode 7Fh is a Fabrics command; its fctype (byte 4) says which. */
#define NVME_FABRICS_OPC 0x7f

enum nvme_fabrics_type {
	NVME_FCTYPE_PROPERTY_SET = 0x00,
	NVME_FCTYPE_CONNECT = 0x01,
	NVME_FCTYPE_PROPERTY_GET = 0x04,
	NVME_FCTYPE_AUTH_SEND = 0x05,
	NVME_FCTYPE_AUTH_RECV = 0x06,
	NVME_FCTYPE_DISCONNECT = 0x08,
};

/* Connect command (3.3): a queue joins the controller (cntlid 0xffff: any, for the admin queue). */
struct nvme_fabrics_connect {
	uint8_t opc;		/* NVME_FABRICS_OPC */
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;		/* NVME_FCTYPE_CONNECT */
	uint8_t rsvd5[19];
	struct nvme_sgl_desc dptr; /* the Connect data (struct nvme_fabrics_connect_data) */
	uint16_t recfmt;	/* record format: 0 */
	uint16_t qid;
	uint16_t sqsize;	/* entries - 1 */
	uint8_t cattr;
	uint8_t rsvd47;
	uint32_t kato;		/* admin queue: Keep Alive Timeout in ms, 0: none */
	uint8_t rsvd52[12];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_fabrics_connect) == 64, "Fabrics Connect is 64 bytes");

/* Connect cattr bits. */
#define NVME_CONNECT_DISABLE_SQFLOW (1u << 2)	/* no SQ flow control: responses carry no SQ head */

struct nvme_fabrics_connect_data {
	uint8_t hostid[16];
	uint16_t cntlid;
	uint8_t rsvd18[238];
	char subnqn[256];
	char hostnqn[256];
	uint8_t rsvd768[256];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_fabrics_connect_data) == 1024, "Connect data is 1024 bytes");

/* Property Set and Property Get (3.5, 3.4): the controller's registers, by offset (enum nvme_reg). */
struct nvme_fabrics_prop_set {
	uint8_t opc;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;		/* NVME_FCTYPE_PROPERTY_SET */
	uint8_t rsvd5[35];
	uint8_t attrib;		/* size: NVME_PROP_SIZE_* */
	uint8_t rsvd41[3];
	uint32_t offset;
	uint64_t value;
	uint8_t rsvd56[8];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_fabrics_prop_set) == 64, "Property Set is 64 bytes");

struct nvme_fabrics_prop_get {
	uint8_t opc;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;		/* NVME_FCTYPE_PROPERTY_GET; the value comes back in CQE dw0 (and dw1) */
	uint8_t rsvd5[35];
	uint8_t attrib;
	uint8_t rsvd41[3];
	uint32_t offset;
	uint8_t rsvd48[16];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_fabrics_prop_get) == 64, "Property Get is 64 bytes");

enum {
	NVME_PROP_SIZE_4 = 0,
	NVME_PROP_SIZE_8 = 1,
};

/* Connect's command-specific status codes (SCT 1), read for Connect only: other commands reuse the values. */
enum {
	NVME_SC_CONNECT_FORMAT = 0x80,		/* Incompatible Format */
	NVME_SC_CONNECT_CTRL_BUSY = 0x81,	/* Controller Busy */
	NVME_SC_CONNECT_INVALID_PARAM = 0x82,	/* Connect Invalid Parameters */
	NVME_SC_CONNECT_RESTART_DISC = 0x83,	/* Connect Restart Discovery */
	NVME_SC_CONNECT_INVALID_HOST = 0x84,	/* Connect Invalid Host */
	NVME_SC_CONNECT_INVALID_QTYPE = 0x85,
	NVME_SC_DISCOVERY_RESTART = 0x90,
	NVME_SC_AUTH_REQUIRED = 0x91,
};

/* The discovery controller's NQN (Fabrics spec 1.1, 7.4.9). */
#define NVME_DISC_SUBSYS_NQN "nqn.2014-08.org.nvmexpress.discovery"
#define NVME_NQN_MAX 223	/* longest NQN, in bytes, without the NUL */

/* Discovery log page (log 70h, Fabrics spec 1.1, 5.3): a header, then numrec entries. */
#define NVME_LOG_DISCOVERY 0x70

struct nvme_disc_log_hdr {
	uint64_t genctr;	/* changes whenever the log does */
	uint64_t numrec;
	uint16_t recfmt;
	uint8_t rsvd18[1006];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_disc_log_hdr) == 1024, "discovery log header is 1024 bytes");

struct nvme_disc_log_entry {
	uint8_t trtype;		/* NVME_TRTYPE_* */
	uint8_t adrfam;		/* NVME_ADRFAM_* */
	uint8_t subtype;	/* NVME_NQN_* */
	uint8_t treq;
	uint16_t portid;
	uint16_t cntlid;
	uint16_t asqsz;
	uint16_t eflags;
	uint8_t rsvd12[20];
	char trsvcid[32];	/* the port, as text, space padded */
	uint8_t rsvd64[192];
	char subnqn[256];
	char traddr[256];	/* the address, as text, space padded */
	uint8_t tsas[256];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_disc_log_entry) == 1024, "discovery log entry is 1024 bytes");

enum {
	NVME_TRTYPE_RDMA = 1,
	NVME_TRTYPE_FC = 2,
	NVME_TRTYPE_TCP = 3,
	NVME_TRTYPE_LOOP = 254,
};
enum {
	NVME_ADRFAM_IPV4 = 1,
	NVME_ADRFAM_IPV6 = 2,
	NVME_ADRFAM_IB = 3,
	NVME_ADRFAM_FC = 4,
	NVME_ADRFAM_LOOP = 254,
};
enum {
	NVME_NQN_DISC_REFERRAL = 1,	/* another discovery subsystem */
	NVME_NQN_NVM = 2,		/* an NVM subsystem */
	NVME_NQN_DISC_CURRENT = 3,	/* this discovery subsystem */
};

/* SGL descriptor types (type << 4 | subtype) Fabrics uses: in-capsule data, and data the transport moves. */
#define NVME_SGL_DATA_BLOCK_OFFSET 0x01		/* Data Block, address is an offset into the capsule */
#define NVME_SGL_TRANSPORT_DATA_BLOCK 0x5a	/* Transport SGL Data Block, address 0 */

/* ---- NVMe/TCP PDUs (NVMe/TCP Transport spec 1.0, 3.6) ------------------ */

enum nvme_tcp_pdu_type {
	NVME_TCP_ICREQ = 0x00,
	NVME_TCP_ICRESP = 0x01,
	NVME_TCP_H2C_TERM = 0x02,
	NVME_TCP_C2H_TERM = 0x03,
	NVME_TCP_CMD = 0x04,
	NVME_TCP_RSP = 0x05,
	NVME_TCP_H2C_DATA = 0x06,
	NVME_TCP_C2H_DATA = 0x07,
	NVME_TCP_R2T = 0x09,
};

/* Common header flags. */
enum {
	NVME_TCP_F_HDGST = 1u << 0,	/* a header digest follows the header */
	NVME_TCP_F_DDGST = 1u << 1,	/* a data digest follows the data */
	NVME_TCP_F_DATA_LAST = 1u << 2,	/* H2CData, C2HData: last PDU of the transfer */
	NVME_TCP_F_DATA_SUCCESS = 1u << 3, /* C2HData: the command succeeded, no CapsuleResp follows */
};

/* ICReq/ICResp digest field bits. */
enum {
	NVME_TCP_HDGST_ENABLE = 1u << 0,
	NVME_TCP_DDGST_ENABLE = 1u << 1,
};

#define NVME_TCP_DIGEST_LEN 4
#define NVME_TCP_PORT 4420

/* The common header every PDU starts with. */
struct nvme_tcp_hdr {
	uint8_t type;	/* enum nvme_tcp_pdu_type */
	uint8_t flags;
	uint8_t hlen;	/* header length, without its digest */
	uint8_t pdo;	/* PDU data offset: where the data starts, 0 without data */
	uint32_t plen;	/* the whole PDU: header, digests, padding and data */
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_hdr) == 8, "NVMe/TCP common header is 8 bytes");

struct nvme_tcp_icreq {
	struct nvme_tcp_hdr hdr;
	uint16_t pfv;	/* PDU format version: 0 */
	uint8_t hpda;	/* host PDU data alignment, (hpda + 1) * 4 bytes */
	uint8_t digest;	/* NVME_TCP_*DGST_ENABLE */
	uint32_t maxr2t; /* outstanding R2Ts per command - 1 */
	uint8_t rsvd16[112];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_icreq) == 128, "ICReq is 128 bytes");

struct nvme_tcp_icresp {
	struct nvme_tcp_hdr hdr;
	uint16_t pfv;
	uint8_t cpda;	/* controller PDU data alignment */
	uint8_t digest;
	uint32_t maxdata; /* most data bytes in one H2CData PDU (MAXH2CDATA) */
	uint8_t rsvd16[112];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_icresp) == 128, "ICResp is 128 bytes");

struct nvme_tcp_cmd {
	struct nvme_tcp_hdr hdr;
	struct nvme_sqe sqe;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_cmd) == 72, "CapsuleCmd header is 72 bytes");

struct nvme_tcp_rsp {
	struct nvme_tcp_hdr hdr;
	struct nvme_cqe cqe;
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_rsp) == 24, "CapsuleResp is 24 bytes");

/* H2CData and C2HData share one shape. */
struct nvme_tcp_data {
	struct nvme_tcp_hdr hdr;
	uint16_t cccid;	/* the command's cid */
	uint16_t ttag;	/* H2CData: the R2T's transfer tag */
	uint32_t datao;	/* offset of this PDU's data in the command's buffer */
	uint32_t datal;
	uint8_t rsvd20[4];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_data) == 24, "H2CData/C2HData header is 24 bytes");

struct nvme_tcp_r2t {
	struct nvme_tcp_hdr hdr;
	uint16_t cccid;
	uint16_t ttag;
	uint32_t r2to;	/* offset the controller wants data from */
	uint32_t r2tl;	/* and how many bytes */
	uint8_t rsvd20[4];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_r2t) == 24, "R2T is 24 bytes");

/* H2CTermReq and C2HTermReq: the connection ends; the offending header follows, within plen. */
struct nvme_tcp_term {
	struct nvme_tcp_hdr hdr;
	uint16_t fes;	/* fatal error status: NVME_TCP_FES_* */
	uint16_t feil;	/* fatal error information, low and high halves */
	uint16_t feiu;
	uint8_t rsvd14[10];
};
NVME_STATIC_ASSERT(sizeof(struct nvme_tcp_term) == 24, "TermReq header is 24 bytes");

#define NVME_TCP_TERM_MAX 152	/* longest TermReq PDU: its header and up to 128 bytes of the bad one */

enum {
	NVME_TCP_FES_INVALID_HEADER = 0x01,	/* FEI: byte offset of the bad field */
	NVME_TCP_FES_PDU_SEQ_ERR = 0x02,
	NVME_TCP_FES_HDGST_ERR = 0x03,
	NVME_TCP_FES_DATA_RANGE = 0x04,
	NVME_TCP_FES_R2T_LIMIT = 0x05,
	NVME_TCP_FES_DATA_LIMIT = 0x05,
	NVME_TCP_FES_UNSUPPORTED_PARAM = 0x06,
};

#ifdef __cplusplus
}
#endif

#endif /* NVPOLL_SPEC_H */
