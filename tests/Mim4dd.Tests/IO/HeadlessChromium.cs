using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mim4dd.Tests.IO;

/// <summary>
/// Renders an HTML file in Debian's headless Chromium and reports what the page looked like once loaded: script
/// errors, failed resources, whether every image decoded, every SVG drew something and every h2 is visible. The
/// report itself has no script; the check runs in an instrumented copy beside it.
/// </summary>
public static partial class HeadlessChromium
{
    public const string Executable = "/usr/bin/chromium";

    public sealed record Rendering(string[] Errors, bool[] ImagesDecoded, bool[] SvgsDrawn, string[] VisibleHeadings,
        string[] HiddenHeadings);

    private const string Recorder = "<script>window.__errors=[];addEventListener('error',e=>__errors.push(e.message||"
        + "('failed to load '+(e.target.src||e.target.href))),true);</script>";

    private const string Inspector = """
        <script>addEventListener('load',()=>{const r=document.createElement('pre');r.id='render-check';
        const hs=[...document.querySelectorAll('h2')];
        r.textContent=JSON.stringify({errors:__errors,
          images:[...document.images].map(i=>i.complete&&i.naturalWidth>0),
          svgs:[...document.querySelectorAll('svg')].map(s=>{const b=s.getBBox();return b.width>0&&b.height>0;}),
          visible:hs.filter(h=>h.getBoundingClientRect().height>0).map(h=>h.textContent),
          hidden:hs.filter(h=>!(h.getBoundingClientRect().height>0)).map(h=>h.textContent)});
        document.body.appendChild(r);});</script>
        """;

    public static Rendering Render(string htmlFile)
    {
        if (!File.Exists(Executable))
            Assert.Fail($"{Executable} not found: this test renders the report in headless Chromium; "
                + $"install it with `apt-get install chromium` (./test.sh does so when run as root)");
        var html = File.ReadAllText(htmlFile);
        var probe = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(htmlFile))!, "render-check.html");
        File.WriteAllText(probe, html.Replace("<head>", "<head>" + Recorder).Replace("</body>", Inspector + "</body>"));
        var profile = Directory.CreateTempSubdirectory("mim4dd-chromium-");
        try
        {
            var info = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         $"--user-data-dir={profile.FullName}", "--window-size=1280,2000", "--virtual-time-budget=5000", "--dump-dom",
                         new Uri(probe).AbsoluteUri })
                info.ArgumentList.Add(arg);
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("headless Chromium did not finish within 90 s");
            }
            var dom = stdout.Result;
            var check = CheckBlock().Match(dom);
            Assert.True(check.Success, $"the page did not finish loading in Chromium (exit {process.ExitCode}): "
                + $"{stderr.Result.Split('\n').LastOrDefault(l => l.Length > 0)}");
            var json = JsonDocument.Parse(WebUtility.HtmlDecode(check.Groups[1].Value)).RootElement;
            static T[] Array<T>(JsonElement e, Func<JsonElement, T> read) => e.EnumerateArray().Select(read).ToArray();
            return new Rendering(Array(json.GetProperty("errors"), e => e.ToString()),
                Array(json.GetProperty("images"), e => e.GetBoolean()), Array(json.GetProperty("svgs"), e => e.GetBoolean()),
                Array(json.GetProperty("visible"), e => e.GetString()!), Array(json.GetProperty("hidden"), e => e.GetString()!));
        }
        finally
        {
            File.Delete(probe);
            profile.Delete(recursive: true);
        }
    }

    [GeneratedRegex("<pre id=\"render-check\">(.*?)</pre>", RegexOptions.Singleline)]
    private static partial Regex CheckBlock();
}
