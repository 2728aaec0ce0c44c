using Berth.Daemon.Server;

namespace Berth.Daemon.Tests;

/// <summary>When the trimmer collects: once quiet after a burst, never during one (allocation counts given).</summary>
public sealed class MemoryTrimmerTests
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(100 * MiB, 100 * MiB - 1024, 90 * MiB, true)] // quiet tick, 10 MiB since the last trim
    [InlineData(100 * MiB, 99 * MiB, 90 * MiB, false)] // 1 MiB in the last tick: still busy
    [InlineData(100 * MiB, 100 * MiB, 98 * MiB, false)] // quiet, but only 2 MiB since the last trim
    [InlineData(100 * MiB, 100 * MiB, 100 * MiB - MemoryTrimmer.WorthTrimming, true)] // exactly worth it
    [InlineData(1 * MiB, 1 * MiB, -MemoryTrimmer.WorthTrimming, true)] // start-up counts as a burst
    public void Decides(long now, long lastTick, long lastTrim, bool trim) =>
        Assert.Equal(trim, MemoryTrimmer.ShouldTrim(now, lastTick, lastTrim));

    [Fact]
    public async Task StopsWhenTheDaemonStops()
    {
        using var stop = new CancellationTokenSource();
        int ticks = 0;
        var threeTicks = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = MemoryTrimmer.RunAsync(TimeSpan.FromMilliseconds(20), stop.Token, _ =>
        {
            if (Interlocked.Increment(ref ticks) == 3) threeTicks.TrySetResult();
        });
        // It keeps ticking (a condition, not a sleep): after three ticks it is still running.
        await threeTicks.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(loop.IsCompleted);
        stop.Cancel();
        await loop.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(loop.IsCompletedSuccessfully);
    }
}
