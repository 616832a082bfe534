using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>What the methods without experts share (DM, DC/DSA, BPTT): a network (ConvNet unless --arch) on mean/std-normalised
/// images, a real batch per class drawn from the training set, and the optional MIM add-on on the networks the method runs.</summary>
public abstract class ExpertFreeMethod : IDistillMethod
{
    /// <param name="batchReal">The method's real images per class per iteration.</param>
    /// <param name="shapeOptions">The options a checkpoint depends on (<paramref name="options"/> without the iteration count).</param>
    protected ExpertFreeMethod(string method, DataSplit data, ISetOptions options, int batchReal, MimOptions mim, int mimRealPerClass,
        object shapeOptions, object? machine, string arch)
    {
        options.Validate();
        mim.Validate();
        CoresetSelection.CheckImagesPerClass(data.Train, options.ImagesPerClass);
        long fewest = data.Train.ClassCounts().Min();
        if (batchReal > fewest)
            throw UserError.At("--batch-real", $"{batchReal} real images per class requested but the smallest class has {fewest}",
                $"pass --batch-real {fewest} or less");
        Data = data;
        Arch = NetRegistry.Get(arch).Name;
        Net = NetRegistry.Build(Arch, new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.NumClasses);
        Train = data.Train.Floats(data.Normalization);
        TestImages = data.Test.Floats(data.Normalization);
        AddOn = MimAddOn.ForFreshNetworks(Net, data, Train, mim, mimRealPerClass, options.Seed);
        Iterations = options.Iterations;
        Seed = options.Seed;
        // As object, so that config.json has the whole record, not the interface's part.
        Config = new { method = mim.Name(method), dataset = data.Name, arch = Arch, options = (object)options,
            mim, machine };
        ShapeDefiningOptions = DistillMethods.ShapeWithArch(Arch, new { method, options = shapeOptions, mim });
    }

    protected DataSplit Data { get; }
    protected Net Net { get; }

    /// <summary>The training images, normalised.</summary>
    protected Tensor Train { get; }

    protected MimAddOn? AddOn { get; }

    public string Arch { get; }
    public int Iterations { get; }
    public long Seed { get; }
    public object Config { get; }
    public object ShapeDefiningOptions { get; }
    public Tensor TestImages { get; }
    public string? ZcaDirectory => null;

    public abstract DistillState Initialize();
    public void Restore(DistillState state) => AddOn?.RestoreFrom(state);
    public abstract void Run(DistillState state, IDistillObserver observer, CancellationToken stop);

    public void Dispose()
    {
        AddOn?.Dispose();
        Train.Dispose();
        TestImages.Dispose();
    }
}
