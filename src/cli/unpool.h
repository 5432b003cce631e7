/* pool unpool: max unpooling of a tensor with the indices `pool --indices` (or PyTorch's
 * return_indices) gave, as PyTorch's max_unpool1d/2d/3d. */
#ifndef POOL_UNPOOL_CLI_H
#define POOL_UNPOOL_CLI_H

/* argv[0] is "unpool". Returns the exit status (0, 1 a failure, 2 a usage error). */
int unpool_main(int argc, char **argv);

#endif
