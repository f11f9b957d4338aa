using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Loom.Interop;

namespace Loom.Tests.Packaging;

/// <summary>
/// The NuGet packages as a user gets them: the <c>Loom</c> package's contents and metadata, the README's C# quick start
/// compiled and run against the package (a PackageReference, not a project reference), and the <c>Loom.Tool</c> package
/// installed as a .NET tool whose <c>loom</c> command works.
/// </summary>
public sealed partial class PackageTests(PackageFixture packed) : IClassFixture<PackageFixture>
{
    [Fact]
    public void LibraryPackageHoldsTheAssemblyDocsReadmeLicenceDigitsAndSymbols()
    {
        var version = packed.Version("Loom");
        using var nupkg = ZipFile.OpenRead(Path.Combine(packed.Artifacts, $"Loom.{version}.nupkg"));
        var entries = nupkg.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in new[]
        {
            "lib/net10.0/Loom.dll", "lib/net10.0/Loom.xml", "README.md", "LICENSE",
            "contentFiles/any/any/data/digits/train-images-idx3-ubyte.gz", "contentFiles/any/any/data/digits/train-labels-idx1-ubyte.gz",
            "contentFiles/any/any/data/digits/t10k-images-idx3-ubyte.gz", "contentFiles/any/any/data/digits/t10k-labels-idx1-ubyte.gz",
        })
        {
            Assert.True(entries.Contains(expected), $"Loom.{version}.nupkg lacks {expected}; it holds {string.Join(", ", entries.Order())}");
        }
        // Only the library: no test, bench or CLI assembly rides along, and no native code.
        Assert.Equal(["Loom.dll"], entries.Where(e => e.EndsWith(".dll", StringComparison.Ordinal)).Select(Path.GetFileName));

        var metadata = ReadNuspec(nupkg, "Loom.nuspec");
        var ns = metadata.Name.Namespace;
        Assert.Equal("Loom", metadata.Element(ns + "id")!.Value);
        Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
        // SourceLink: the commit the package was built from (and the remote's URL when the clone has one).
        var repository = metadata.Element(ns + "repository")!;
        Assert.Equal("git", repository.Attribute("type")!.Value);
        if (Path.Exists(Path.Combine(PackageFixture.RepoRoot, ".git")))
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "(no commit attribute)");
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).Order().ToArray();
        Assert.Equal(["Google.Protobuf", "System.IO.Hashing", "System.Numerics.Tensors"], dependencies);
        // The XML docs are the real ones (a member's summary), not an empty file.
        using (var docs = new StreamReader(nupkg.GetEntry("lib/net10.0/Loom.xml")!.Open()))
            Assert.Contains("M:Loom.Interop.Safetensors.Load(System.String)", docs.ReadToEnd(), StringComparison.Ordinal);

        using var snupkg = ZipFile.OpenRead(Path.Combine(packed.Artifacts, $"Loom.{version}.snupkg"));
        Assert.Contains("lib/net10.0/Loom.pdb", snupkg.Entries.Select(e => e.FullName));
    }

    [Fact]
    public void ToolPackageIsADotnetToolNamedLoom()
    {
        var version = packed.Version("Loom.Tool");
        using var nupkg = ZipFile.OpenRead(Path.Combine(packed.Artifacts, $"Loom.Tool.{version}.nupkg"));
        var metadata = ReadNuspec(nupkg, "Loom.Tool.nuspec");
        Assert.Equal("DotnetTool", metadata.Descendants().Single(e => e.Name.LocalName == "packageType").Attribute("name")!.Value);
        using var settings = nupkg.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal)).Open();
        var command = XDocument.Load(settings).Descendants("Command").Single();
        Assert.Equal("loom", command.Attribute("Name")!.Value);
        Assert.Equal("Loom.Cli.dll", command.Attribute("EntryPoint")!.Value);
    }

    /// <summary>
    /// The README's quick start, verbatim, as the Program.cs of a new console project that references the packed
    /// package: it builds with warnings as errors, trains one epoch on the digits the package ships, saves
    /// model.safetensors, loads it back strictly and prints the test accuracy.
    /// </summary>
    [Fact]
    public void ReadmeQuickStartBuildsAgainstThePackageTrainsSavesAndLoads()
    {
        var code = QuickStart();
        var dir = Directory.CreateDirectory(Path.Combine(packed.Work, "quickstart")).FullName;
        File.WriteAllText(Path.Combine(dir, "Program.cs"), code);
        File.WriteAllText(Path.Combine(dir, "QuickStart.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <UseAppHost>false</UseAppHost>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Loom" Version="[{packed.Version("Loom")}]" />
              </ItemGroup>
            </Project>
            """);
        var build = packed.Run(dir, TimeSpan.FromMinutes(4), "build", "-c", "Release", "--disable-build-servers", "-o", Path.Combine(dir, "out"));
        // The restored Loom is the packed one, from the isolated cache, and the digits came with it as content.
        Assert.True(File.Exists(Path.Combine(packed.Packages, "loom", packed.Version("Loom"), $"loom.{packed.Version("Loom")}.nupkg")), build);
        Assert.True(File.Exists(Path.Combine(dir, "out", "data", "digits", "train-images-idx3-ubyte.gz")), build);
        Assert.False(File.Exists(Path.Combine(dir, "out", "Loom.Tests.dll")));

        var (exit, output) = packed.Exec(TestHost, dir, TimeSpan.FromMinutes(4), Path.Combine(dir, "out", "QuickStart.dll"));
        Assert.True(exit == 0, $"the quick start exited {exit}:\n{output}");
        var match = AccuracyLine().Match(output);
        Assert.True(match.Success, output);
        var accuracy = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        TestContext.Current.TestOutputHelper?.WriteLine($"quick start against the package: {output.Trim()}");
        Assert.InRange(accuracy, 0.88, 1.0);   // 0.9155 measured (seed 1)

        var saved = Safetensors.Load(Path.Combine(dir, "model.safetensors")).Tensors;
        Assert.Equal(["0.bias", "0.weight", "4.bias", "4.weight"], saved.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new Shape(10, 16 * 14 * 14), saved["4.weight"].Shape);
    }

    /// <summary><c>dotnet tool install</c> of the packed Loom.Tool gives a <c>loom</c> command that runs (into a tool path, not the user's global tools).</summary>
    [Fact]
    public void ToolInstallsAndTheLoomCommandRuns()
    {
        var tools = Path.Combine(packed.Work, "tools");
        packed.Run(packed.Work, TimeSpan.FromMinutes(4), "tool", "install", "Loom.Tool", "--tool-path", tools,
            "--version", packed.Version("Loom.Tool"));   // the source: Work/nuget.config (--add-source cannot be combined with source mapping)
        var loom = Path.Combine(tools, "loom");
        Assert.True(File.Exists(loom), $"no {loom} after the install");

        var (exit, output) = packed.Exec(loom, packed.Work, TimeSpan.FromMinutes(2), "shape", "conv2d", "--input", "1x21x12", "--kernel", "4x5", "--stride", "4", "--json");
        Assert.True(exit == 0, $"loom shape exited {exit}:\n{output}");
        using var json = JsonDocument.Parse(output);
        Assert.Equal([1, 5, 2], json.RootElement.GetProperty("output").EnumerateArray().Select(e => e.GetInt32()));

        // Bad input: one line, the exit code, no stack trace, as from the repository build.
        var (badExit, badOutput) = packed.Exec(loom, packed.Work, TimeSpan.FromMinutes(2), "shape", "conv2d", "--input", "1x2x2", "--kernel", "5");
        Assert.NotEqual(0, badExit);
        Assert.DoesNotContain("   at ", badOutput, StringComparison.Ordinal);
    }

    /// <summary>The first C# block under the README's "C# quick start" heading.</summary>
    internal static string QuickStart()
    {
        var readme = File.ReadAllText(Path.Combine(PackageFixture.RepoRoot, "README.md"));
        var section = readme.IndexOf("## C# quick start", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no '## C# quick start' section");
        var start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end];
    }

    private static string TestHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static XElement ReadNuspec(ZipArchive package, string name)
    {
        using var stream = package.GetEntry(name)!.Open();
        var document = XDocument.Load(stream);
        return document.Root!.Element(document.Root.Name.Namespace + "metadata")!;
    }

    [GeneratedRegex(@"test accuracy (\d\.\d+)")]
    private static partial Regex AccuracyLine();
}
