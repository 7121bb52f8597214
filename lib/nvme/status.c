/* SPDX-License-Identifier: MIT */
/* NVMe status codes as words. */
#include <stdio.h>

#include "internal.h"
#include "nvpoll.h"

struct status_name {
	uint16_t code; /* SCT << 8 | SC */
	const char *name;
};

static const struct status_name status_names[] = {
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SUCCESS), "Successful Completion" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE), "Invalid Command Opcode" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD), "Invalid Field in Command" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_CID_CONFLICT), "Command ID Conflict" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR), "Data Transfer Error" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_POWER_LOSS), "Commands Aborted due to Power Loss Notification" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INTERNAL), "Internal Error" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ), "Command Abort Requested" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_ABORT_QUEUE), "Command Aborted due to SQ Deletion" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_FUSED_FAIL), "Command Aborted due to Failed Fused Command" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_FUSED_MISSING), "Command Aborted due to Missing Fused Command" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS), "Invalid Namespace or Format" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_CMD_SEQ_ERROR), "Command Sequence Error" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_LAST), "Invalid SGL Segment Descriptor" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_COUNT), "Invalid Number of SGL Descriptors" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_DATA), "Data SGL Length Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_METADATA), "Metadata SGL Length Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_TYPE), "SGL Descriptor Type Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID), "PRP Offset Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_OFFSET), "SGL Offset Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_SGL_GRANULARITY), "SGL Data Block Granularity Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE), "LBA Out of Range" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_CAP_EXCEEDED), "Capacity Exceeded" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_NS_NOT_READY), "Namespace Not Ready" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_RESERVATION_CONFLICT), "Reservation Conflict" },
	{ NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_FORMAT_IN_PROGRESS), "Format In Progress" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CQ_INVALID), "Completion Queue Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID), "Invalid Queue Identifier" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_QUEUE_SIZE), "Invalid Queue Size" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ABORT_LIMIT), "Abort Command Limit Exceeded" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ASYNC_LIMIT), "Asynchronous Event Request Limit Exceeded" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FW_SLOT), "Invalid Firmware Slot" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FW_IMAGE), "Invalid Firmware Image" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_INT_VECTOR), "Invalid Interrupt Vector" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_LOG_PAGE), "Invalid Log Page" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FORMAT), "Invalid Format" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_QUEUE_DELETION), "Invalid Queue Deletion" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_FEATURE_NOT_SAVEABLE), "Feature Identifier Not Saveable" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_FEATURE_NOT_CHANGEABLE), "Feature Not Changeable" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_NS_ALREADY_ATTACHED), "Namespace Already Attached" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_NS_IS_PRIVATE), "Namespace Is Private" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_NS_NOT_ATTACHED), "Namespace Not Attached" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CTRL_LIST_INVALID), "Controller List Invalid" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CONFLICTING_ATTRS), "Conflicting Attributes" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_PI), "Invalid Protection Information" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_READ_ONLY), "Attempted Write to Read Only Range" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CMD_SIZE_LIMIT), "Command Size Limit Exceeded" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_BOUNDARY), "Zone Boundary Error" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_FULL), "Zone Is Full" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_READ_ONLY), "Zone Is Read Only" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_OFFLINE), "Zone Is Offline" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_INVALID_WRITE), "Zone Invalid Write" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_TOO_MANY_ACTIVE), "Too Many Active Zones" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_TOO_MANY_OPEN), "Too Many Open Zones" },
	{ NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_ZONE_INVALID_TRANSITION), "Invalid Zone State Transition" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_WRITE_FAULT), "Write Fault" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_READ_ERROR), "Unrecovered Read Error" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_GUARD_CHECK), "End-to-end Guard Check Error" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_APPTAG_CHECK), "End-to-end Application Tag Check Error" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_REFTAG_CHECK), "End-to-end Reference Tag Check Error" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED), "Compare Failure" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_ACCESS_DENIED), "Access Denied" },
	{ NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_UNWRITTEN_BLOCK), "Deallocated or Unwritten Logical Block" },
	{ NVME_STATUS_CODE(NVME_SCT_PATH, NVME_SC_INTERNAL_PATH_ERROR), "Internal Path Error" },
	{ NVME_STATUS_CODE(NVME_SCT_PATH, NVME_SC_HOST_PATH_ERROR), "Host Pathing Error" },
	{ NVME_STATUS_CODE(NVME_SCT_PATH, NVME_SC_HOST_ABORTED), "Command Aborted By Host" },
};

NVP_API const char *nvp_status_str(uint16_t status)
{
	uint16_t code = status & NVME_STATUS_CODE_MASK;

	for (size_t i = 0; i < NVP_ARRAY_SIZE(status_names); i++)
		if (status_names[i].code == code)
			return status_names[i].name;
	switch (NVME_GET(status, STATUS_SCT)) {
	case NVME_SCT_PATH:
		return "Path Related Status";
	case NVME_SCT_VENDOR:
		return "Vendor Specific Status";
	default:
		return "Unknown Status";
	}
}

NVP_API char *nvp_status_format(uint16_t status, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	snprintf(buf, len, "%s (SCT %xh / SC %xh%s%s)", nvp_status_str(status),
		 (unsigned)NVME_GET(status, STATUS_SCT), (unsigned)NVME_GET(status, STATUS_SC),
		 NVME_GET(status, STATUS_MORE) ? ", More" : "",
		 NVME_GET(status, STATUS_DNR) ? ", DNR" : "");
	return buf;
}
