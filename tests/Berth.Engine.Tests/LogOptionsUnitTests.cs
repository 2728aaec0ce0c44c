using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers;
using Berth.Engine.Logs;

namespace Berth.Engine.Tests;

/// <summary>Log drivers and options as dockerd 20.10 checks them, the attributes of entries, --details.</summary>
public sealed class LogOptionsUnitTests
{
    private static string Err(Action a) => Assert.Throws<BerthException>(a).Message;

    [Fact]
    public void CreateChecksNamesAsDockerd()
    {
        LogOptions.Validate(new LogConfig { Type = "json-file", Config = new() { ["max-size"] = "10m", ["max-file"] = "3", ["compress"] = "false", ["mode"] = "blocking" } });
        LogOptions.Validate(new LogConfig { Type = "none", Config = new() { ["anything"] = "x" } });
        Assert.Equal("unknown log opt 'x' for json-file log driver", Err(() => LogOptions.Validate(new LogConfig { Type = "json-file", Config = new() { ["x"] = "1" } })));
        Assert.Equal("error looking up logging plugin foo: plugin \"foo\" not found", Err(() => LogOptions.Validate(new LogConfig { Type = "foo" })));
        Assert.Equal("logger: logging mode not supported: fast", Err(() => LogOptions.Validate(new LogConfig { Type = "json-file", Config = new() { ["mode"] = "fast" } })));
        Assert.Equal("logger: max-buffer-size option is only supported with 'mode=non-blocking'",
            Err(() => LogOptions.Validate(new LogConfig { Type = "json-file", Config = new() { ["max-buffer-size"] = "4m" } })));
        Assert.EndsWith("not implemented in Berth yet", Err(() => LogOptions.Validate(new LogConfig { Type = "json-file", Config = new() { ["tag"] = "{{.Config.Env}}" } })));
    }

    [Theory]
    [InlineData("10m", 10_000_000L)]
    [InlineData("1k", 1000L)]
    [InlineData("1kb", 1000L)]
    [InlineData("1.5M", 1_500_000L)]
    [InlineData("100", 100L)]
    public void SizesAreDecimalAsGoUnitsFromHumanSize(string s, long bytes) => Assert.Equal(bytes, LogOptions.FromHumanSize(s));

    private static ContainerRecord Record(Dictionary<string, string> opts) => new()
    {
        Id = new string('c', 64), Name = "/web", Image = "sha256:" + new string('d', 64),
        Config = new ContainerConfig { Labels = new() { ["app"] = "web", ["tier"] = "<front>" }, Env = ["E1=v1", "E2=v 2", "PATH=/bin"] },
        HostConfig = new HostConfig { LogConfig = new LogConfig { Type = "json-file", Config = opts } },
    };

    [Fact]
    public void StartReadsValuesAndAttributes()
    {
        var s = LogOptions.AtStart(Record(new() { ["max-size"] = "1k", ["max-file"] = "3", ["labels"] = "app,tier", ["env-regex"] = "^E", ["tag"] = "{{.Name}}/{{.ID}}" }), "busybox")!;
        Assert.Equal((1000L, 3), (s.MaxSize, s.MaxFile));
        Assert.Equal("{\"E1\":\"v1\",\"E2\":\"v 2\",\"app\":\"web\",\"tag\":\"web/cccccccccccc\",\"tier\":\"\\u003cfront\\u003e\"}", s.AttrsJson);
        Assert.Equal(new LogSettings(-1, 1, null), LogOptions.AtStart(Record([]), "busybox"));
        Assert.Equal("failed to initialize logging driver: invalid size: 'abc'", Err(() => LogOptions.AtStart(Record(new() { ["max-size"] = "abc" }), "b")));
        Assert.Equal("failed to initialize logging driver: max-file cannot be less than 1", Err(() => LogOptions.AtStart(Record(new() { ["max-file"] = "0" }), "b")));
        var none = Record([]);
        none.HostConfig.LogConfig.Type = "none";
        Assert.Null(LogOptions.AtStart(none, "b"));
    }

    [Fact]
    public void DetailsAreSortedAndQueryEscaped()
    {
        Assert.Equal(" ", LogOptions.DetailsPrefix(null));
        Assert.Equal("E2=v+2,a=%3Cb%3E,tag=x%2Fy ", LogOptions.DetailsPrefix(new Dictionary<string, string> { ["tag"] = "x/y", ["a"] = "<b>", ["E2"] = "v 2" }));
        var e = new LogEntry { Log = "hi\n", Attrs = new() { ["k"] = "v" }, Time = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc) };
        Assert.Equal("2026-01-02T03:04:05.000000000Z k=v hi\n", JsonFileLog.Text(e, timestamps: true, details: true));
    }
}
