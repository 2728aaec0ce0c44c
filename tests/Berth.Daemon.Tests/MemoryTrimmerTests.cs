using Berth.Daemon.Server;

namespace Berth.Daemon.Tests;

/// <summary>Alone: other tests' allocations in this process would keep it from ever being quiet.</summary>
[CollectionDefinition("gc", DisableParallelization = true)]
public sealed class GcCollection;

/// <summary>The trimmer collects once the process is quiet after a burst, and not while it allocates.</summary>
[Collection("gc")]
public sealed class MemoryTrimmerTests
{
    [Fact]
    public async Task CollectsOnceQuietAfterABurst_NotDuringIt()
    {
        using var stop = new CancellationTokenSource();
        var tick = TimeSpan.FromMilliseconds(100);
        int before = GC.CollectionCount(2);
        var trimmer = MemoryTrimmer.RunAsync(tick, stop.Token);

        // Start-up counts as a burst: the first quiet tick trims.
        await WaitFor(() => GC.CollectionCount(2) > before);

        // A sustained burst (well over WorthTrimming each tick, so never quiet): no full collection from the
        // trimmer. Gen0 garbage only, so the GC itself has no reason for a gen2 either.
        int atBurst = GC.CollectionCount(2);
        var until = DateTime.UtcNow + tick * 5;
        long sink = 0;
        while (DateTime.UtcNow < until) sink += new byte[64 << 10].Length;
        Assert.True(sink > MemoryTrimmer.WorthTrimming);
        int afterBurst = GC.CollectionCount(2);
        Assert.True(afterBurst - atBurst <= 1, $"{afterBurst - atBurst} full collections during the burst");

        // Quiet again: one trim follows.
        await WaitFor(() => GC.CollectionCount(2) > afterBurst);
        stop.Cancel();
        await trimmer;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), "no full collection came");
    }
}
