using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Runs;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Distill;

/// <summary>
/// A real MTT + MIM iteration loop while another thread forces garbage collections and runs the finalizers: TorchSharp
/// frees a Scalar that nothing keeps alive in its finalizer, so a temporary one passed to LibTorch would be freed
/// mid-call (errors or different numbers). ScalarLifetimeTests proves by the IL that no such call is left; this shows it.
/// </summary>
public class GcStressTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    private sealed class Silent : IDistillObserver
    {
        public void Iteration(IterationMetrics metrics, DistillState state) { }
    }

    private byte[] Distil(DataSplit data, bool hammer, out int collections)
    {
        var options = new MttOptions { ImagesPerClass = 2, SynSteps = 4, ExpertEpochs = 2, MaxStartEpoch = 1, Iterations = 4, LrImg = 100,
            Seed = 3 };
        var mim = new MimOptions { WarmupIterations = 1, GradientCheckEvery = 2 };
        using var method = new MttMethod(data, new MttDistillationSettings("mim4dd", options, mim, 4, store.Experts), _ => { });
        using var state = method.Initialize();
        using var stop = new CancellationTokenSource();
        int count = 0;
        var thread = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[1024];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                count++;
            }
        });
        if (hammer) thread.Start();
        try
        {
            method.Run(state, new Silent(), CancellationToken.None);
        }
        finally
        {
            stop.Cancel();
            if (hammer) thread.Join();
        }
        collections = count;
        return state.Images.detach().cpu().data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray();
    }

    [Fact]
    public void WithAThreadForcingCollections_TheRunGivesTheSameBytes()
    {
        using var data = DatasetCatalog.Load("mnist", TestData.CacheDir, store.DataDir);
        var quiet = Distil(data, hammer: false, out _);
        var stressed = Distil(data, hammer: true, out int collections);
        Assert.True(collections > 100, $"only {collections} forced collections ran beside the iterations");
        Assert.Equal(quiet, stressed);
    }
}
