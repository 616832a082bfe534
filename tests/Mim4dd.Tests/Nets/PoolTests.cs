using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Tests.Nets;

public class PoolTests
{
    [Theory]
    [InlineData(28, 28)]
    [InlineData(6, 10)]
    public void AveragePool2x2_EqualsAvgPool2d_InValueGradientAndSecondDerivative(int height, int width)
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 3, 4, height, width }, ScalarType.Float64, generator: Rng.Torch(5)).requires_grad_();
        var weights = randn(new long[] { 3, 4, height / 2, width / 2 }, ScalarType.Float64, generator: Rng.Torch(5, stream: 1));

        // A loss whose gradient depends on x, so the second derivative (as the reverse unroll takes it) is not zero.
        (Tensor Value, Tensor Gradient, Tensor Second) Derivatives(Func<Tensor, Tensor> pool)
        {
            var y = pool(x);
            var loss = (y.pow(2) * weights).sum();
            var gradient = autograd.grad(new[] { loss }, new[] { x }, retain_graph: true, create_graph: true)[0];
            var second = autograd.grad(new[] { gradient.pow(2).sum() }, new[] { x })[0];
            return (y, gradient, second);
        }
        var expected = Derivatives(t => F.avg_pool2d(t, 2, 2));
        var actual = Derivatives(Pool.AveragePool2x2);

        Assert.Equal(expected.Value.shape, actual.Value.shape);
        Assert.True(expected.Value.allclose(actual.Value, rtol: 1e-12, atol: 1e-12));
        Assert.True(expected.Gradient.allclose(actual.Gradient, rtol: 1e-12, atol: 1e-12));
        Assert.True(expected.Second.allclose(actual.Second, rtol: 1e-12, atol: 1e-12));
        Assert.True(actual.Second.abs().sum().item<double>() > 0);
    }

    [Fact]
    public void OddSides_UseAvgPool2d_WhichDropsTheLastRowAndColumn()
    {
        using var scope = NewDisposeScope();
        var x = arange(49, ScalarType.Float32).reshape(1, 1, 7, 7);
        var y = new Pool(PoolKind.Average).Forward(new ForwardPass(Array.Empty<Tensor>(), null, false, null), x);
        Assert.Equal(new long[] { 1, 1, 3, 3 }, y.shape);
        Assert.Equal((0 + 1 + 7 + 8) / 4f, y[0, 0, 0, 0].item<float>());
    }
}
