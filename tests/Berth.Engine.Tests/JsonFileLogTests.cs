using Berth.Engine.Logs;

namespace Berth.Engine.Tests;

public sealed class JsonFileLogTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    private void Append(string stream, string text, int second) =>
        File.AppendAllText(_file, $"{{\"log\":{System.Text.Json.JsonSerializer.Serialize(text)},\"stream\":\"{stream}\",\"time\":\"2026-11-22T08:00:{second:00}.123456789Z\"}}\n");

    private static async Task<List<LogEntry>> All(IAsyncEnumerable<LogEntry> e)
    {
        var l = new List<LogEntry>();
        await foreach (var x in e) l.Add(x);
        return l;
    }

    [Fact]
    public async Task FiltersStreamsTailAndSince()
    {
        Append("stdout", "a\n", 1);
        Append("stderr", "b\n", 2);
        Append("stdout", "c\n", 3);
        Append("stdout", "d\n", 4);
        Assert.Equal(["a\n", "b\n", "c\n", "d\n"], (await All(JsonFileLog.ReadAsync(_file, new LogQuery(), () => false))).Select(e => e.Log));
        Assert.Equal(["b\n"], (await All(JsonFileLog.ReadAsync(_file, new LogQuery { Stdout = false }, () => false))).Select(e => e.Log));
        Assert.Equal(["c\n", "d\n"], (await All(JsonFileLog.ReadAsync(_file, new LogQuery { Tail = 2 }, () => false))).Select(e => e.Log));
        var since = new DateTime(2026, 11, 22, 8, 0, 3, DateTimeKind.Utc);
        Assert.Equal(["c\n", "d\n"], (await All(JsonFileLog.ReadAsync(_file, new LogQuery { Since = since }, () => false))).Select(e => e.Log));
    }

    [Fact]
    public async Task FollowReadsNewLinesUntilTheContainerStops()
    {
        Append("stdout", "first\n", 1);
        bool running = true;
        // Each line is appended only after the reader has delivered the previous one (it is then following the
        // end of the file): no sleeps, every step waits on what the reader produced.
        await using var reader = JsonFileLog.ReadAsync(_file, new LogQuery { Follow = true }, () => Volatile.Read(ref running))
            .GetAsyncEnumerator();
        async Task<string?> Next() =>
            await reader.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)) ? reader.Current.Log : null;
        Assert.Equal("first\n", await Next());
        Append("stdout", "second\n", 2);
        Assert.Equal("second\n", await Next());
        Append("stderr", "third\n", 3);
        Assert.Equal("third\n", await Next());
        Volatile.Write(ref running, false);
        Assert.Null(await Next()); // the container stopped: the follow ends
    }

    [Fact]
    public void FramesAreDockersStdcopy()
    {
        var f = JsonFileLog.Frame("stdout", "to-stdout\n"u8);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 10 }, f[..8]);
        Assert.Equal(2, JsonFileLog.Frame("stderr", "x"u8)[0]);
    }

    [Fact]
    public void TimestampsAreRfc3339Nano()
    {
        var e = new LogEntry { Log = "hi\n", Time = new DateTime(2026, 11, 22, 8, 0, 1, DateTimeKind.Utc).AddTicks(1234567) };
        Assert.Equal("2026-11-22T08:00:01.123456700Z hi\n", JsonFileLog.Text(e, timestamps: true));
    }
}
