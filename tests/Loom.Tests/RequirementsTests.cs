namespace Loom.Tests;

public class RequirementsTests
{
    [Fact]
    public void PresentPathPasses()
    {
        Assert.Null(Requirements.CheckDebianPackage("base-files", "/etc", ci: true));
        Requirements.DebianPackage("base-files", "/etc");
    }

    [Fact]
    public void MissingPathSkipsOutsideCi()
    {
        var verdict = Requirements.CheckDebianPackage("dataset-x", "/no/such/dir", ci: false);
        Assert.NotNull(verdict);
        Assert.False(verdict.Fail);
        Assert.Equal("/no/such/dir is missing: it comes with the Debian package dataset-x (apt-get install dataset-x)", verdict.Message);
    }

    [Fact]
    public void MissingPathFailsUnderCi()
    {
        var verdict = Requirements.CheckDebianPackage("dataset-x", "/no/such/dir", ci: true);
        Assert.NotNull(verdict);
        Assert.True(verdict.Fail);
        Assert.StartsWith("CI=true and a requirement is missing: /no/such/dir", verdict.Message, StringComparison.Ordinal);
        Assert.Throws<Xunit.Sdk.FailException>(() => Requirements.Enforce(verdict));
    }
}
