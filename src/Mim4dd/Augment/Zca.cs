using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Augment;

/// <summary>
/// ZCA whitening as kornia's ZCAWhitening (the MTT repository's choice): fitted on images in [0, 1]
/// flattened to D = C·H·W, Σ = XcᵀXc/(N−1) = U S Uᵀ, whiten(x) = (x − μ)·U diag((S+ε)^−½) Uᵀ and
/// unwhiten(y) = y·U diag((S+ε)^½) Uᵀ + μ. The fit (μ, S, U) is kept in float64; the two matrices are
/// derived from it, so a loaded file whitens exactly as the fitted object did.
/// </summary>
public sealed class Zca : IDisposable
{
    public const double DefaultRegularization = 0.1;

    /// <summary>The whitening's file in an expert store (and so in a ZCA-space set's <c>zca_directory</c>).</summary>
    public const string FileName = "zca.bin";

    // Bounds the float64 copy of one chunk of images while accumulating XᵀX to about 64 MB.
    private const long ChunkElements = 1L << 23;

    private readonly Tensor mean;
    private readonly Tensor eigenvalues;
    private readonly Tensor eigenvectors;
    private readonly Dictionary<ScalarType, (Tensor Mean, Tensor Matrix)> whitening = [];
    private readonly Dictionary<ScalarType, (Tensor Mean, Tensor Matrix)> unwhitening = [];

    internal Zca(long channels, long height, long width, double regularization, long fitCount,
        Tensor mean, Tensor eigenvalues, Tensor eigenvectors)
    {
        Channels = channels;
        Height = height;
        Width = width;
        Regularization = regularization;
        FitCount = fitCount;
        // The fit lives as long as this object, not as long as the caller's dispose scope.
        this.mean = mean.DetachFromDisposeScope();
        this.eigenvalues = eigenvalues.DetachFromDisposeScope();
        this.eigenvectors = eigenvectors.DetachFromDisposeScope();
    }

    public long Channels { get; }
    public long Height { get; }
    public long Width { get; }
    public long Dimension => Channels * Height * Width;

    /// <summary>ε added to every eigenvalue before the inverse square root.</summary>
    public double Regularization { get; }

    /// <summary>How many images the fit saw.</summary>
    public long FitCount { get; }

    /// <summary>μ [D], float64.</summary>
    internal Tensor Mean => mean;

    /// <summary>Eigenvalues S [D] of the covariance, ascending, clamped at 0; float64.</summary>
    internal Tensor Eigenvalues => eigenvalues;

    /// <summary>Eigenvectors U [D, D] (columns), float64.</summary>
    internal Tensor Eigenvectors => eigenvectors;

    /// <summary>Fits μ and the whitening from images [N, C, H, W] in [0, 1]; N ≥ 2.</summary>
    public static Zca Fit(Tensor images01, double regularization = DefaultRegularization) =>
        Fit(images01, regularization, chunkRows: 0);

    /// <param name="chunkRows">images per float64 chunk; 0 picks about 64 MB worth.</param>
    internal static Zca Fit(Tensor images01, double regularization, long chunkRows)
    {
        if (images01.dim() != 4 || !images01.is_floating_point())
            throw new ArgumentException($"ZCA fits float images [N, C, H, W], got {images01.dtype} [{string.Join(", ", images01.shape)}]");
        if (images01.shape[0] < 2)
            throw new ArgumentException($"ZCA needs at least 2 images to estimate a covariance, got {images01.shape[0]}");
        if (!(regularization > 0) || double.IsInfinity(regularization))
            throw new ArgumentException($"ZCA regularization must be positive and finite, got {regularization}");
        long n = images01.shape[0], channels = images01.shape[1], height = images01.shape[2], width = images01.shape[3];
        long dimension = channels * height * width;
        if (chunkRows <= 0) chunkRows = Math.Max(1, ChunkElements / dimension);
        using var scope = NewDisposeScope();
        var flat = images01.detach().reshape(n, dimension);

        var sum = zeros(dimension, ScalarType.Float64);
        for (long start = 0; start < n; start += chunkRows)
        {
            using var chunkScope = NewDisposeScope();
            // Not sum(0): a literal 0 converts to ScalarType, so that call sums everything into a byte.
            sum.PlusInPlace(flat.narrow(0, start, Math.Min(chunkRows, n - start)).to_type(ScalarType.Float64).sum(new long[] { 0 }));
        }
        var mu = sum.Over(n);

        // Two passes (mean first, then centred products) rather than E[xxᵀ] − μμᵀ, which cancels badly.
        var covariance = zeros(dimension, dimension, ScalarType.Float64);
        for (long start = 0; start < n; start += chunkRows)
        {
            using var chunkScope = NewDisposeScope();
            var centred = flat.narrow(0, start, Math.Min(chunkRows, n - start)).to_type(ScalarType.Float64) - mu;
            covariance.PlusInPlace(centred.t().mm(centred));
        }
        covariance.OverInPlace(n - 1);

        var (values, vectors) = linalg.eigh(covariance);
        // A covariance is positive semi-definite; rounding can leave eigenvalues a hair below zero.
        values = values.AtLeast(0);
        return new Zca(channels, height, width, regularization, n, mu, values, vectors.contiguous());
    }

    /// <summary>(x − μ)·T for float32 or float64 images [N, C, H, W]; differentiable in x.</summary>
    public Tensor Whiten(Tensor images)
    {
        CheckImages(images, "whiten");
        var (mu, matrix) = Matrices(whitening, images.dtype, -0.5);
        using var scope = NewDisposeScope();
        return (images.reshape(images.shape[0], Dimension) - mu).mm(matrix).view(images.shape).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="Whiten"/>, for looking at whitened images.</summary>
    public Tensor Unwhiten(Tensor whitened)
    {
        CheckImages(whitened, "unwhiten");
        var (mu, matrix) = Matrices(unwhitening, whitened.dtype, 0.5);
        using var scope = NewDisposeScope();
        return whitened.reshape(whitened.shape[0], Dimension).mm(matrix).Plus(mu).view(whitened.shape).MoveToOuterDisposeScope();
    }

    /// <summary>μ [D] and the matrix T [D, D] of <see cref="Whiten"/> in float32 (copies), for other tools:
    /// whiten(x) = (x − μ)·T with each image flattened to D = C·H·W.</summary>
    public (Tensor Mean, Tensor Whitening) Parameters()
    {
        var (mu, matrix) = Matrices(whitening, ScalarType.Float32, -0.5);
        return (mu.clone(), matrix.clone());
    }

    /// <summary>Writes the fit to a file, atomically.</summary>
    public void Save(string path) => ZcaFile.Save(this, path);

    /// <summary>Reads a file written by <see cref="Save"/>; a damaged file is a <see cref="Runtime.UserError"/>.</summary>
    public static Zca Load(string path) => ZcaFile.Load(path);

    public void Dispose()
    {
        foreach (var (mu, matrix) in whitening.Values.Concat(unwhitening.Values))
        {
            mu.Dispose();
            matrix.Dispose();
        }
        whitening.Clear();
        unwhitening.Clear();
        mean.Dispose();
        eigenvalues.Dispose();
        eigenvectors.Dispose();
    }

    // U diag((S+ε)^power) Uᵀ, built once per dtype and kept outside any dispose scope.
    private (Tensor Mean, Tensor Matrix) Matrices(Dictionary<ScalarType, (Tensor, Tensor)> cache, ScalarType dtype, double power)
    {
        if (cache.TryGetValue(dtype, out var cached)) return cached;
        using var scope = NewDisposeScope();
        var factors = eigenvalues.Plus(Regularization).Power(power);
        var matrix = (eigenvectors * factors.unsqueeze(0)).mm(eigenvectors.t()).to_type(dtype).DetachFromDisposeScope();
        var mu = mean.to_type(dtype).clone().DetachFromDisposeScope();
        cache[dtype] = (mu, matrix);
        return (mu, matrix);
    }

    private void CheckImages(Tensor images, string what)
    {
        if (images.dim() != 4 || images.shape[1] != Channels || images.shape[2] != Height || images.shape[3] != Width)
            throw new ArgumentException(
                $"cannot {what} [{string.Join(", ", images.shape)}]: this ZCA was fitted on images [N, {Channels}, {Height}, {Width}]");
        if (images.dtype != ScalarType.Float32 && images.dtype != ScalarType.Float64)
            throw new ArgumentException($"ZCA takes float32 or float64 images, got {images.dtype}");
    }
}
