/* The few FUSE 7.45 definitions the addon needs (Debian's <linux/fuse.h> is 7.38: no io_uring parts).
 * Only transport-level pieces: request parsing and replies are done in TypeScript. */
#ifndef FUSE_URING_FUSE_ABI_H
#define FUSE_URING_FUSE_ABI_H

#include <stdint.h>

/* io_uring command opcodes (sqe->cmd_op) */
#define FUSE_IO_URING_CMD_REGISTER 1
#define FUSE_IO_URING_CMD_COMMIT_AND_FETCH 2

/* struct fuse_uring_cmd_req, placed in the SQE's command area (SQE byte 48) */
struct fu_fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};
_Static_assert(sizeof(struct fu_fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req is 24 bytes");

#define FU_SQE_CMD_OFFSET 48

/* struct fuse_uring_req_header (288 bytes): in_out[128], op_in[128], fuse_uring_ent_in_out (32) */
#define FU_URING_HEADER_SIZE 288
#define FU_URING_COMMIT_ID_OFFSET 264   /* fuse_uring_ent_in_out.commit_id */

#define FU_IN_HEADER_SIZE 40            /* struct fuse_in_header */
#define FU_OUT_HEADER_SIZE 16           /* struct fuse_out_header; len (u32) at offset 0 */

#endif
