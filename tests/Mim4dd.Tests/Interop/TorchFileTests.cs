using System.Collections;
using Mim4dd.IO;
using static TorchSharp.torch;

namespace Mim4dd.Tests.Interop;

public class TorchFileTests
{
    [TorchFact]
    public void Load_ReadsWhatTorchSaveWrote_ViewsDtypesAndNesting()
    {
        using var dir = new TestData.TempDir();
        PyTorch.Check("""
            import sys, torch
            base = torch.arange(6).reshape(2, 3)
            torch.save({"view": base.t(), "row": base[1], "mask": torch.tensor([True, False, True]),
                        "wide": torch.tensor([0.5, -2.25], dtype=torch.float64),
                        "nested": [[torch.full((2, 2), 7.0)], (1, "a")]}, sys.argv[1])
            """, dir.File("d.pt"));
        var loaded = (Hashtable)TorchFile.Load(dir.File("d.pt"))!;
        using var view = (Tensor)loaded["view"]!;
        Assert.Equal(new long[] { 3, 2 }, view.shape);
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, view.contiguous().data<long>().ToArray());
        using var row = (Tensor)loaded["row"]!;
        Assert.Equal(new long[] { 3, 4, 5 }, row.data<long>().ToArray());
        using var mask = (Tensor)loaded["mask"]!;
        Assert.Equal(new[] { true, false, true }, mask.data<bool>().ToArray());
        using var wide = (Tensor)loaded["wide"]!;
        Assert.Equal(ScalarType.Float64, wide.dtype);
        Assert.Equal(new[] { 0.5, -2.25 }, wide.data<double>().ToArray());
        var nested = (IList)loaded["nested"]!;
        using var full = (Tensor)((IList)nested[0]!)[0]!;
        Assert.All(full.data<float>().ToArray(), v => Assert.Equal(7f, v));
        Assert.Equal(new object[] { 1, "a" }, (object[])nested[1]!);
    }

    [Fact]
    public void Load_NotAZip_IsAUserErrorNamingTheFile()
    {
        using var dir = new TestData.TempDir();
        File.WriteAllBytes(dir.File("old.pt"), [0x80, 0x02, 0x8a, 0x0a]);
        var error = Assert.Throws<Mim4dd.Runtime.UserError>(() => TorchFile.Load(dir.File("old.pt")));
        Assert.Contains("old.pt", error.Message);
        Assert.Contains("PyTorch 1.6", error.Message);
    }
}
