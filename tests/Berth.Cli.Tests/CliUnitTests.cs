using System.Text.Json;
using Berth.Cli;

namespace Berth.Cli.Tests;

public sealed class ArgsTests
{
    private static readonly Dictionary<char, string> Shorts = new() { ['d'] = "detach", ['i'] = "interactive", ['t'] = "tty", ['e'] = "env" };

    [Fact]
    public void FlagsStopAtTheImage_ForRun()
    {
        var a = Args.Parse(["-it", "--name=x", "-e", "A=1", "--env", "B=2", "busybox", "sh", "-c", "echo -e"], ["name", "env"], ["detach", "interactive", "tty"], Shorts, interspersed: false);
        Assert.True(a.Bool("interactive") && a.Bool("tty") && !a.Bool("detach"));
        Assert.Equal("x", a.Value("name"));
        Assert.Equal(["A=1", "B=2"], a.All("env"));
        Assert.Equal(["busybox", "sh", "-c", "echo -e"], a.Positional);
    }

    [Fact]
    public void ShortFlagWithAttachedValue_AndUnknownFlags()
    {
        var a = Args.Parse(["-eA=1", "img"], ["env"], [], Shorts);
        Assert.Equal("A=1", a.Value("env"));
        Assert.Equal(125, Assert.Throws<CliException>(() => Args.Parse(["--nope"], [], [], Shorts)).ExitCode);
        Assert.Equal(125, Assert.Throws<CliException>(() => Args.Parse(["-z"], [], [], Shorts)).ExitCode);
        Assert.Contains("needs an argument", Assert.Throws<CliException>(() => Args.Parse(["--env"], ["env"], [], Shorts)).Message);
    }
}

public sealed class FormatTests
{
    [Theory]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1.5, "1 second")]
    [InlineData(42, "42 seconds")]
    [InlineData(90, "About a minute")]
    [InlineData(600, "10 minutes")]
    [InlineData(5400, "About an hour")]
    [InlineData(86400 * 3, "3 days")]
    [InlineData(86400 * 800, "2 years")]
    public void Duration_IsGoUnitsHumanDuration(double seconds, string expected) =>
        Assert.Equal(expected, Format.Duration(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(1982357, "1.98MB")]
    [InlineData(999, "999B")]
    [InlineData(1500, "1.5kB")]
    [InlineData(5_000_000_000, "5GB")]
    public void Size_IsGoUnitsHumanSize(long bytes, string expected) => Assert.Equal(expected, Format.Size(bytes));

    [Fact]
    public void Table_PadsLikeDockersTabwriter()
    {
        Assert.Equal("A            LONGER    X\nvalue-here   b         last\n",
            Format.Table([["A", "LONGER", "X"], ["value-here", "b", "last"]]));
    }

    [Fact]
    public void Template_FieldsJsonAndArrays()
    {
        using var doc = JsonDocument.Parse("""{"Id":"abc","State":{"Status":"running","Pid":7},"Config":{"Cmd":["sh","-c","x y"],"Env":null}}""");
        Assert.Equal("abc running 7 [sh -c x y]", Format.Template("{{.Id}} {{.State.Status}} {{.State.Pid}} {{.Config.Cmd}}", doc.RootElement));
        Assert.Equal("""{"Status":"running","Pid":7}""", Format.Template("{{json .State}}", doc.RootElement));
        Assert.Equal("<no value>", Format.Template("{{.Config.Env}}", doc.RootElement));
        Assert.Throws<CliException>(() => Format.Template("{{.Nope}}", doc.RootElement));
    }
}
