using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Augment;

/// <summary>ZCA on 500 correlated 3×4×4 images: formula, whitening, inverse, file round trip.</summary>
public sealed class ZcaTests : IDisposable
{
    private const int Count = 500;
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"mim4dd-zca-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    /// <summary>Pixels mixed by a random matrix, so the covariance is full-rank but far from diagonal.</summary>
    private static Tensor CorrelatedImages(long seed)
    {
        var generator = Rng.Torch(seed);
        var latent = randn(new long[] { Count, 48 }, ScalarType.Float64, generator: generator);
        var mixing = eye(48, dtype: ScalarType.Float64) + 0.3 * randn(new long[] { 48, 48 }, ScalarType.Float64, generator: generator);
        return (0.5 + 0.1 * latent.mm(mixing)).view(Count, 3, 4, 4);
    }

    private static Tensor Covariance(Tensor images)
    {
        var flat = images.reshape(images.shape[0], -1);
        var centred = flat - flat.mean(new long[] { 0 }, keepdim: true);
        return centred.t().mm(centred) / (images.shape[0] - 1);
    }

    private static double MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().to_type(ScalarType.Float64).item<double>();

    private static void AssertBelow(double value, double limit) => Assert.True(value < limit, $"{value:G3} is not below {limit:G3}");

    [Fact]
    public void WhitenMatchesTheKorniaFormula()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(1);
        using var zca = Zca.Fit(x);
        var (u, s, _) = linalg.svd(Covariance(x));
        var transform = u.mm(diag((s + 0.1).pow(-0.5))).mm(u.t());
        var flat = x.reshape(Count, -1);
        var expected = (flat - flat.mean(new long[] { 0 }, keepdim: true)).mm(transform).view(x.shape);
        AssertBelow(MaxDifference(expected, zca.Whiten(x)), 1e-9);
        Assert.Equal(0.1, zca.Regularization);
        Assert.Equal(Count, zca.FitCount);
        Assert.Equal(48, zca.Dimension);
    }

    [Fact]
    public void ChunkedAccumulationMatchesOnePass()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(2);
        using var onePass = Zca.Fit(x, 0.1, chunkRows: Count);
        using var chunked = Zca.Fit(x, 0.1, chunkRows: 7);
        AssertBelow(MaxDifference(onePass.Mean, chunked.Mean), 1e-14);
        AssertBelow(MaxDifference(onePass.Whiten(x), chunked.Whiten(x)), 1e-9);
    }

    [Fact]
    public void WhitenedFitSetHasShrunkEigenvalues()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(3);
        using var zca = Zca.Fit(x, 0.1);
        var whitened = zca.Whiten(x);
        Assert.True(whitened.reshape(Count, -1).mean(new long[] { 0 }).abs().max().item<double>() < 1e-12);
        // Cov(whitened) = T Σ T = U diag(S/(S+ε)) Uᵀ.
        var u = zca.Eigenvectors;
        var shrink = zca.Eigenvalues / (zca.Eigenvalues + 0.1);
        AssertBelow(MaxDifference(u.mm(diag(shrink)).mm(u.t()), Covariance(whitened)), 1e-9);
    }

    [Fact]
    public void TinyRegularizationWhitensToIdentity()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(4);
        using var zca = Zca.Fit(x, 1e-12);
        Assert.True(Covariance(x).sub(eye(48, dtype: ScalarType.Float64)).abs().max().item<double>() > 0.005);
        AssertBelow(MaxDifference(eye(48, dtype: ScalarType.Float64), Covariance(zca.Whiten(x))), 1e-6);
    }

    [Fact]
    public void UnwhitenInvertsWhiten()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(5);
        using var zca = Zca.Fit(x);
        var fresh = CorrelatedImages(6)[0..10];
        AssertBelow(MaxDifference(fresh, zca.Unwhiten(zca.Whiten(fresh))), 1e-10);
        var single = fresh.to_type(ScalarType.Float32);
        var whitenedSingle = zca.Whiten(single);
        Assert.Equal(ScalarType.Float32, whitenedSingle.dtype);
        AssertBelow(MaxDifference(zca.Whiten(fresh), whitenedSingle.to_type(ScalarType.Float64)), 1e-4);
        AssertBelow(MaxDifference(single, zca.Unwhiten(whitenedSingle)), 1e-4);
    }

    [Fact]
    public void WhitenIsDifferentiable()
    {
        using var scope = NewDisposeScope();
        using var zca = Zca.Fit(CorrelatedImages(7));
        var x = CorrelatedImages(8)[0..4].clone().requires_grad_();
        zca.Whiten(x).sum().backward();
        Assert.NotNull(x.grad);
        Assert.True(x.grad.isfinite().all().item<bool>());
    }

    [Fact]
    public void RejectsMismatchedImages()
    {
        using var scope = NewDisposeScope();
        using var zca = Zca.Fit(CorrelatedImages(9));
        Assert.Throws<ArgumentException>(() => zca.Whiten(zeros(2, 1, 4, 4, ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => zca.Unwhiten(zeros(2, 48, ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => Zca.Fit(zeros(1, 3, 4, 4)));
        Assert.Throws<ArgumentException>(() => Zca.Fit(zeros(4, 3, 4, 4), 0));
    }

    [Fact]
    public void SaveLoadRoundTrips()
    {
        using var scope = NewDisposeScope();
        var x = CorrelatedImages(10);
        using var zca = Zca.Fit(x, 0.05);
        var path = Path.Combine(directory, "zca.bin");
        zca.Save(path);
        using var loaded = Zca.Load(path);
        Assert.Equal((zca.Channels, zca.Height, zca.Width), (loaded.Channels, loaded.Height, loaded.Width));
        Assert.Equal(0.05, loaded.Regularization);
        Assert.Equal(Count, loaded.FitCount);
        Assert.True(zca.Mean.equal(loaded.Mean).all().item<bool>());
        Assert.True(zca.Eigenvalues.equal(loaded.Eigenvalues).all().item<bool>());
        Assert.True(zca.Eigenvectors.equal(loaded.Eigenvectors).all().item<bool>());
        Assert.True(zca.Whiten(x).equal(loaded.Whiten(x)).all().item<bool>());
        Assert.Single(Directory.GetFiles(directory));
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "flip", "checksum" },
        { "truncate", "truncated" },
        { "extend", "trailing" },
        { "magic", "magic" },
        { "empty", "truncated" },
        { "header", "truncated" },
        { "version", "version" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void DamagedFileIsAUserError(string damage, string expected)
    {
        using var scope = NewDisposeScope();
        using var zca = Zca.Fit(CorrelatedImages(11));
        var path = Path.Combine(directory, "zca.bin");
        zca.Save(path);
        var bytes = File.ReadAllBytes(path);
        bytes = damage switch
        {
            "flip" => Flip(bytes, bytes.Length / 2),
            "truncate" => bytes[..^100],
            "extend" => [.. bytes, 0],
            "magic" => Flip(bytes, 0),
            "empty" => [],
            "header" => bytes[..20],
            "version" => Flip(bytes, 8),
            _ => throw new ArgumentException(damage),
        };
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<UserError>(() => Zca.Load(path));
        Assert.StartsWith(path, error.Message);
        Assert.Contains(expected, error.Message);

        static byte[] Flip(byte[] bytes, int index)
        {
            bytes[index] ^= 0x40;
            return bytes;
        }
    }

    [Fact]
    public void MissingFileIsAUserError()
    {
        var error = Assert.Throws<UserError>(() => Zca.Load(Path.Combine(directory, "absent.bin")));
        Assert.Contains("cannot read", error.Message);
    }

    [Fact]
    public void ASetMovesBetweenPixelAndZcaSpace_AndBack()
    {
        using var scope = NewDisposeScope();
        Directory.CreateDirectory(directory);
        var pixels = CorrelatedImages(4).to_type(ScalarType.Float32);
        using (var fitted = Zca.Fit(pixels)) fitted.Save(Path.Combine(directory, Zca.FileName));
        var normalization = new Normalization([0.4f, 0.5f, 0.6f], [0.2f, 0.25f, 0.3f]);
        var labels = zeros(Count, ScalarType.Int64);
        using var inPixels = new SyntheticSet(normalization.Apply(pixels), labels, "test", 0.01);
        var whitened = inPixels.InSpaceOf(directory, normalization);
        using var zca = Zca.Load(Path.Combine(directory, Zca.FileName));
        AssertBelow(MaxDifference(zca.Whiten(pixels), whitened), 1e-4);
        using var inZca = new SyntheticSet(whitened, labels, "test", 0.01, directory);
        AssertBelow(MaxDifference(inPixels.Images, inZca.InSpaceOf(null, normalization)), 1e-4);
        Assert.Equal(0, MaxDifference(whitened, inZca.InSpaceOf(directory + "/", normalization)));   // its own space: a copy
    }
}
