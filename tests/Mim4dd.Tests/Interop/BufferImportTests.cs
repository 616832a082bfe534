using System.Collections;
using Mim4dd.Experts;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Tests.Cli;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Interop;

/// <summary>`experts import` on buffers made by PyTorch in the reference layout (buffer.py's), checked against PyTorch's
/// forward pass.</summary>
public class BufferImportTests
{
    // The reference ConvNet for 1×28×28 inputs written as a plain torch.nn module (3 × [conv, GroupNorm(C, C) = instance
    // norm, ReLU, avg-pool], linear), two experts of two "epochs" of SGD each, saved as buffer.py saves them but one
    // expert per file; then the logits of expert 1 at its last epoch on a fixed batch, and its parameters after one more
    // SGD step (lr 0.01) on that batch: a student step from the imported trajectory.
    private const string MakeBuffers = """
        import sys, os, torch, torch.nn as nn
        out = sys.argv[1]
        torch.manual_seed(0)
        def convnet():
            layers, channels = [], 1
            for d in range(3):
                layers += [nn.Conv2d(channels, 128, 3, padding=3 if d == 0 else 1), nn.GroupNorm(128, 128, affine=True),
                           nn.ReLU(inplace=True), nn.AvgPool2d(2, 2)]
                channels = 128
            return nn.Sequential(nn.Sequential(*layers), nn.Flatten(), nn.Linear(128 * 4 * 4, 10))
        x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
        for n in range(2):
            net = convnet()
            opt = torch.optim.SGD(net.parameters(), lr=0.01)
            timestamps = [[p.detach().cpu().clone() for p in net.parameters()]]
            for epoch in range(2):
                opt.zero_grad()
                nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
                timestamps.append([p.detach().cpu().clone() for p in net.parameters()])
            torch.save([timestamps], os.path.join(out, "replay_buffer_%d.pt" % n))
        with torch.no_grad():
            logits = net(x)
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        stepped = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
        torch.save({"x": x, "y": y, "logits": logits, "stepped": stepped}, os.path.join(out, "probe.pt"))
        """;

    [TorchFact]
    public void Import_ReferenceBuffers_GiveThePyTorchNetworksOutputs_AndItsStudentStep()
    {
        using var dir = new TestData.TempDir();
        Directory.CreateDirectory(dir.File("buffers"));
        PyTorch.Check(MakeBuffers, dir.File("buffers"));
        TestData.WriteMnistSlice(dir.File("data"), 100, 20);
        var store = dir.File("store");
        var (code, _, stderr) = CliTests.Run("experts", "import", dir.File("buffers"), "--dataset", "mnist", "--data-dir", dir.File("data"),
            "--out", store);
        Assert.True(code == 0, stderr);
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
        var experts = ExpertStore.LoadAll(store, net, "mnist");
        try
        {
            Assert.Equal(2, experts.Count);
            Assert.All(experts, e => Assert.Equal(2, e.Epochs));
            var probe = (Hashtable)TorchFile.Load(dir.File("buffers/probe.pt"))!;
            using var x = (Tensor)probe["x"]!;
            using var expected = (Tensor)probe["logits"]!;
            using var scope = NewDisposeScope();
            var logits = net.Forward(FlatParameters.Unflatten(experts[1].Snapshot(2), net), x, training: false);
            Assert.True(logits.allclose(expected, rtol: 1e-4, atol: 1e-4),
                $"largest difference {(logits - expected).abs().max().item<float>()}");
            using var y = (Tensor)probe["y"]!;
            using var expectedStep = (Tensor)probe["stepped"]!;
            var start = experts[1].Snapshot(2).clone().requires_grad_();
            var loss = TorchSharp.torch.nn.functional.cross_entropy(net.Forward(FlatParameters.Unflatten(start, net), x), y);
            var stepped = start.detach() - autograd.grad(new[] { loss }, new[] { start })[0].Times(0.01);
            Assert.True(stepped.allclose(expectedStep, rtol: 1e-4, atol: 1e-5),
                $"largest difference after a step {(stepped - expectedStep).abs().max().item<float>()}");
            // Epoch 0 and 2 differ: the snapshots are the trajectory, not one state repeated.
            Assert.False(experts[1].Snapshot(0).equal(experts[1].Snapshot(2)).all().item<bool>());
        }
        finally
        {
            foreach (var e in experts) e.Dispose();
        }
    }

    [TorchFact]
    public void OurExperts_ThroughTheReferenceLayout_ComeBackBitForBit()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteMnistSlice(dir.File("data"), 100, 20);
        using (var slice = TestData.MnistSlice(100, 20))
            ExpertStore.RunAll(slice, "ConvNet", new ExpertOptions { NumExperts = 2, Epochs = 2, Seed = 1 }, dir.File("ours"),
                global::Mim4dd.Runtime.Shard.All, _ => { });
        var net = NetRegistry.Build("ConvNet", new InputShape(1, 28, 28), 10);
        var ours = ExpertStore.LoadAll(dir.File("ours"), net, "mnist");
        try
        {
            // Each expert as a dict of "epoch.parameter" tensors; PyTorch turns them into buffer.py's nested lists.
            for (int e = 0; e < ours.Count; e++)
            {
                using var scope = NewDisposeScope();
                var tensors = new Dictionary<string, Tensor>();
                for (int epoch = 0; epoch <= ours[e].Epochs; epoch++)
                {
                    var parameters = FlatParameters.Unflatten(ours[e].Snapshot(epoch), net);
                    for (int p = 0; p < parameters.Count; p++) tensors[$"{epoch}.{p}"] = parameters[p];
                }
                PtExport.Save(dir.File($"expert{e}.pt"), tensors);
            }
            Directory.CreateDirectory(dir.File("buffers"));
            PyTorch.Check("""
                import sys, os, torch
                d, n = sys.argv[1], int(sys.argv[2])
                experts = []
                for e in range(n):
                    flat = torch.load(os.path.join(d, "expert%d.pt" % e))
                    epochs = sorted({int(k.split(".")[0]) for k in flat})
                    experts.append([[flat["%d.%d" % (t, p)] for p in range(len(flat) // len(epochs))] for t in epochs])
                torch.save(experts, os.path.join(d, "buffers", "replay_buffer_0.pt"))
                """, dir.Path, $"{ours.Count}");
            var (code, _, stderr) = CliTests.Run("experts", "import", dir.File("buffers"), "--dataset", "mnist", "--data-dir",
                dir.File("data"), "--out", dir.File("imported"));
            Assert.True(code == 0, stderr);
            var imported = ExpertStore.LoadAll(dir.File("imported"), net, "mnist");
            Assert.Equal(ours.Count, imported.Count);
            for (int e = 0; e < ours.Count; e++) Assert.True(imported[e].Snapshots.equal(ours[e].Snapshots).all().item<bool>(),
                $"expert {e} differs");
            foreach (var expert in imported) expert.Dispose();
        }
        finally
        {
            foreach (var expert in ours) expert.Dispose();
        }
    }

    [TorchFact]
    public void Import_BuffersOfAnotherNetwork_ExitTwoNamingTheShape()
    {
        using var dir = new TestData.TempDir();
        Directory.CreateDirectory(dir.File("buffers"));
        PyTorch.Check(MakeBuffers, dir.File("buffers"));
        TestData.WriteMnistSlice(dir.File("data"), 100, 20);
        var (code, _, stderr) = CliTests.Run("experts", "import", dir.File("buffers"), "--dataset", "mnist", "--data-dir", dir.File("data"),
            "--arch", "ConvNetW64", "--out", dir.File("store"));
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("replay_buffer_0.pt", stderr);
        Assert.Contains("shape", stderr);
    }

    [Fact]
    public void Import_FolderWithoutBuffers_ExitsTwo()
    {
        using var dir = new TestData.TempDir();
        var (code, _, stderr) = CliTests.Run("experts", "import", dir.Path, "--dataset", "mnist", "--out", dir.File("store"));
        Assert.Equal(2, code);
        Assert.Contains("no replay_buffer_<n>.pt files", stderr);
    }
}
