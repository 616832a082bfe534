// LibTorch's thread pool and the allocator settings are process-wide: run test classes one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
