using System.Globalization;
using System.Text.Json;
using Mim4dd.Tests.Cli;
using Mim4dd.Tests.Distill;

namespace Mim4dd.Tests.IO;

public class RunReportTests(TinyMnist store) : IClassFixture<TinyMnist>
{
    [Fact]
    public void AFinishedRunWritesASelfContainedReport_AndTheVerbRewritesIt()
    {
        var run = store.Dir.File("report-dm");
        var (code, stdout, stderr) = store.DistillDm(run, iterations: 2, evalEvery: 1);
        Assert.True(code == 0, stderr);
        var report = Path.Combine(run, "report.html");
        Assert.Contains("report.html", stdout);
        var html = File.ReadAllText(report);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<svg", html);                                   // loss, gradient-norm and accuracy charts
        Assert.Contains("data:image/png;base64,", html);                 // the grid, inlined
        Assert.DoesNotContain("src=\"grid.png\"", html);
        var final = JsonDocument.Parse(File.ReadAllLines(Path.Combine(run, "evals.jsonl"))[^1]).RootElement;
        Assert.Contains((100 * final.GetProperty("mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture), html);

        // The t-SNE of the final evaluation's first network: every synthetic image (10) and the same number of real
        // test images per class, all finite, drawn as rings (synthetic) and dots (real).
        var map = Mim4dd.IO.FeatureMap.Read(run)!;
        Assert.Equal(10, map.Points.Count(p => p.Synthetic));
        var realPerClass = map.Points.Where(p => !p.Synthetic).GroupBy(p => p.Label).Select(g => g.Count()).ToList();
        Assert.Equal(10, realPerClass.Count);
        Assert.Single(realPerClass.Distinct());
        Assert.All(map.Points, p => Assert.True(double.IsFinite(p.X) && double.IsFinite(p.Y)));
        Assert.Contains("t-SNE of real and synthetic features", html);
        Assert.Equal(map.Points.Count, html.Split("<circle").Length - 1);

        // What a user sees: the page renders in a browser without errors, the grid decodes, every chart and the
        // t-SNE draw, and every section is on the page.
        var page = HeadlessChromium.Render(report);
        Assert.Empty(page.Errors);
        Assert.Equal([true], page.ImagesDecoded);
        Assert.Equal(html.Split("<svg").Length - 1, page.SvgsDrawn.Length);
        Assert.All(page.SvgsDrawn, Assert.True);
        Assert.Equal(["Evaluation", "Training curves", "Synthetic images", "t-SNE of real and synthetic features", "Config"],
            page.VisibleHeadings);
        Assert.Empty(page.HiddenHeadings);

        var markdown = File.ReadAllText(Path.Combine(run, "report.md"));
        Assert.Contains("## Evaluation", markdown);
        Assert.Contains((100 * final.GetProperty("mean").GetDouble()).ToString("F2", CultureInfo.InvariantCulture), markdown);
        Assert.Contains("![synthetic images](grid.png)", markdown);

        File.Delete(report);
        (code, _, stderr) = CliTests.Run("report", run);
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(report));
    }

    [Theory]
    [InlineData(0, 1.9, new[] { 0, 0.5, 1, 1.5 })]
    [InlineData(-1.05, 1.19, new[] { -1, -0.5, 0, 0.5, 1 })]
    [InlineData(1, 60, new double[] { 20, 40, 60 })]
    [InlineData(0, 0.009997, new[] { 0, 0.002, 0.004, 0.006, 0.008 })]
    public void ChartTicks_AreRoundValuesInsideTheRange(double lo, double hi, double[] expected) =>
        Assert.Equal(expected, Mim4dd.IO.RunReport.TickValues(lo, hi));

    [Fact]
    public void NotARunDirectory_ExitsTwo()
    {
        var empty = store.Dir.File("report-empty");
        Directory.CreateDirectory(empty);
        var (code, _, stderr) = CliTests.Run("report", empty);
        Assert.Equal(2, code);
        Assert.Contains("not a distillation run directory", stderr);
    }
}
