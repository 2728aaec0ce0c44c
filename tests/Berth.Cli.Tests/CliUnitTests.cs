using System.Text.Json;
using Berth.Cli;

namespace Berth.Cli.Tests;

public sealed class ArgsTests
{
    private static readonly Flag[] Flags =
    [
        new("detach", 'd', null, ""), new("interactive", 'i', null, ""), new("tty", 't', null, ""), new("env", 'e', "list", ""),
        new("name", '\0', "string", ""), new("last", 'n', "int", ""),
    ];

    [Fact]
    public void FlagsStopAtTheImage_ForRun()
    {
        var a = Args.Parse(["-it", "--name=x", "-e", "A=1", "--env", "B=2", "busybox", "sh", "-c", "echo -e"], Flags, interspersed: false);
        Assert.True(a.Bool("interactive") && a.Bool("tty") && !a.Bool("detach"));
        Assert.Equal("x", a.Value("name"));
        Assert.Equal(["A=1", "B=2"], a.All("env"));
        Assert.Equal(["busybox", "sh", "-c", "echo -e"], a.Positional);
        Assert.False(a.Help);
    }

    [Fact]
    public void ShortFlagWithAttachedValue_AndUnknownFlags()
    {
        var a = Args.Parse(["-eA=1", "img"], Flags);
        Assert.Equal("A=1", a.Value("env"));
        Assert.Equal(125, Assert.Throws<CliException>(() => Args.Parse(["--nope"], Flags)).ExitCode);
        Assert.Equal(125, Assert.Throws<CliException>(() => Args.Parse(["-z"], Flags)).ExitCode);
        Assert.Contains("needs an argument", Assert.Throws<CliException>(() => Args.Parse(["--env"], Flags)).Message);
        Assert.Contains("invalid argument \"x\" for \"-n, --last\" flag", Assert.Throws<CliException>(() => Args.Parse(["-n", "x"], Flags)).Message);
        Assert.False(Args.Parse(["--detach=false"], Flags).Bool("detach"));
    }

    [Fact]
    public void HelpIsEveryCommands_ShortHOnlyWhereTheCommandHasNoOtherH()
    {
        Assert.True(Args.Parse(["--help"], Flags).Help);
        Assert.True(Args.Parse(["-h"], Flags).Help);
        var withHostname = Flags.Append(new Flag("hostname", 'h', "string", "")).ToArray();
        var a = Args.Parse(["-h", "box", "img"], withHostname, interspersed: false);
        Assert.Equal(("box", false), (a.Value("hostname"), a.Help));
    }
}

public sealed class CommandTableTests
{
    [Fact]
    public void EveryCommandHasUsageDescriptionAndUniquePaths()
    {
        var paths = CommandLine.Commands.SelectMany(c => c.Paths).ToList();
        Assert.Equal(paths.Count, paths.Distinct().Count());
        foreach (var c in CommandLine.Commands)
        {
            Assert.NotEmpty(c.Usage);
            Assert.NotEmpty(c.Description);
            Assert.Equal(c.Flags.Length, c.Flags.Select(f => f.Long).Distinct().Count());
        }
        foreach (var p in new[] { "container ls", "container ps", "container list", "ps", "container run", "container create", "container start",
                                  "container stop", "container kill", "container rm", "container logs", "container inspect", "container wait",
                                  "container restart", "container attach", "attach", "image ls", "images", "image inspect", "image rm", "rmi",
                                  "image tag", "image import", "system info", "info", "system version", "version" })
            Assert.NotNull(CommandLine.Find(p));
    }

    [Fact]
    public void Help_IsDockers()
    {
        var wait = CommandLine.Find("wait")!;
        Assert.Equal("""
            Usage:  berth wait CONTAINER [CONTAINER...]

            Block until one or more containers stop, then print their exit codes

            Aliases:
              berth container wait, berth wait

            """, CommandLine.Help(wait, "berth wait"));
        var help = CommandLine.Help(CommandLine.Find("ps")!, "berth ps");
        Assert.Contains("\n  -a, --all             Show all containers (default shows just running)\n", help);
        Assert.Contains("\n  -n, --last int        Show n last created containers (includes all states) (default -1)\n", help);
        Assert.Contains("  ls          List containers\n", CommandLine.GroupHelp("container", "Manage containers"));
    }
}

public sealed class DetachKeysTests
{
    [Fact]
    public void DockersKeyNames()
    {
        Assert.Equal(new byte[] { 16, 17 }, Berth.Cli.Commands.AttachSession.ParseDetachKeys("ctrl-p,ctrl-q"));
        Assert.Equal(new byte[] { 1, (byte)'x', 0, 27, 28, 29, 30, 31 }, Berth.Cli.Commands.AttachSession.ParseDetachKeys("ctrl-a,x,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"));
        Assert.Contains("Invalid detach keys", Assert.Throws<CliException>(() => Berth.Cli.Commands.AttachSession.ParseDetachKeys("ctrl-pq")).Message);
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
        // Go's tabwriter: a column's width holds over a run of lines that have the cell; the text after the last tab is free.
        Assert.Equal("a                  b\nlonger-cell-here   c\nnotab\nx         y\n", Format.Tabwriter(["a\tb", "longer-cell-here\tc", "notab", "x\ty"]));
    }

    [Fact]
    public void Template_FieldsJsonArraysAndMissingKeys()
    {
        using var doc = JsonDocument.Parse("""{"Id":"abc","State":{"Status":"running","Pid":7,"Running":true},"Config":{"Cmd":["sh","-c","x y"],"Env":null,"Labels":{"b":"2","a":"<1>"}}}""");
        string T(string t) => Template.Parse(t).Execute(doc.RootElement);
        Assert.Equal("abc running 7 [sh -c x y]", T("{{.Id}} {{.State.Status}} {{.State.Pid}} {{.Config.Cmd}}"));
        Assert.Equal("""{"Status":"running","Pid":7,"Running":true}""", T("{{json .State}}"));
        Assert.Equal("<no value>", T("{{.Config.Env}}"));
        Assert.Equal("map[a:<1> b:2]", T("{{.Config.Labels}}"));
        Assert.Equal("""{"a":"\u003c1\u003e","b":"2"}""", T("{{json .Config.Labels}}")); // a Go map: keys sorted
        Assert.Equal("""{"a":"\u003c1\u003e","b":"2"}""", T("{{.Config.Labels | json}}"));
        Assert.Equal("template parsing error: template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\"",
            Assert.Throws<CliException>(() => T("{{.Nope}}")).Message);
        Assert.StartsWith("template parsing error: template: :1: unclosed action", Assert.Throws<CliException>(() => T("{{.Id")).Message);
    }

    [Fact]
    public void Template_ControlFunctionsAndVariables()
    {
        using var doc = JsonDocument.Parse("""{"Name":"/web","State":{"Running":false,"ExitCode":3},"Config":{"Cmd":["sh","-c"],"Labels":{"b":"2","a":"1"}},"Mounts":[]}""");
        string T(string t) => Template.Parse(t).Execute(doc.RootElement);
        Assert.Equal("down", T("{{if .State.Running}}up{{else}}down{{end}}"));
        Assert.Equal("exit 3", T("{{if .State.Running}}up{{else if eq .State.ExitCode 3}}exit 3{{else}}other{{end}}"));
        Assert.Equal("a=1;b=2;", T("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"));
        Assert.Equal("none", T("{{range .Mounts}}x{{else}}none{{end}}"));
        Assert.Equal("sh,-c 2 SH", T("{{join .Config.Cmd \",\"}} {{len .Config.Cmd}} {{index .Config.Cmd 0 | upper}}"));
        Assert.Equal("1 /web-3", T("{{index .Config.Labels \"a\"}} {{printf \"%s-%d\" .Name .State.ExitCode}}"));
        Assert.Equal("/Web /web", T("{{with .Name}}{{title .}} {{lower (title .)}}{{end}}"));
        Assert.Equal("a/webb", T("a {{- .Name -}} b"));
    }

    [Fact]
    public void Listing_TableJsonAndTemplate_AsDockersFormatter()
    {
        Row R(string id, string names, string? label) => new Row("*formatter.ContainerContext", label is null ? new Dictionary<string, string>() : new() { ["com.x.my-key"] = label })
            .Set("ID", "CONTAINER ID", id).Set("Names", "NAMES", names).Set("Platform", "PLATFORM", null);
        var rows = new[] { R("0123456789ab", "web", "v1"), R("ba9876543210", "db", null) };
        var header = R("", "", null);
        Assert.Equal("CONTAINER ID   NAMES     my key\n0123456789ab   web       v1\nba9876543210   db        \n",
            Format.Listing("table {{.ID}}\\t{{.Names}}\\t{{.Label \"com.x.my-key\"}}", false, "", "", header, rows));
        Assert.Equal("""{"ID":"0123456789ab","Names":"web","Platform":null}""" + "\n" + """{"ID":"ba9876543210","Names":"db","Platform":null}""" + "\n",
            Format.Listing("json", false, "", "", header, rows));
        Assert.Equal("web|v1\ndb|\n", Format.Listing("{{.Names}}|{{.Label \"com.x.my-key\"}}", false, "", "", header, rows));
        Assert.Equal("0123456789ab\nba9876543210\n", Format.Listing(null, true, "table {{.Names}}", "{{.ID}}", header, rows));
        Assert.Equal("NAMES\nweb\ndb\n", Format.Listing("table", false, "table {{.Names}}", "{{.ID}}", header, rows));
        Assert.Equal("CONTAINER ID\n", Format.Listing("table {{.ID}}", false, "", "", header, []));
        Assert.Equal("failed to execute template: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext",
            Assert.Throws<CliException>(() => Format.Listing("{{.Nope}}", false, "", "", header, rows)).Message);
    }
}
