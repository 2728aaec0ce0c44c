using Berth.Api.Streams;

namespace Berth.Daemon.Tests;

/// <summary>Docker's stdcopy framing (Berth.Api.Streams.StdCopy), byte for byte as recorded from dockerd 20.10
/// (reference traffic 56: "[01 00 00 00 00 00 00 14]" then the 20 bytes "through start -a -i\n").</summary>
public sealed class StdCopyTests
{
    [Fact]
    public void FrameIsDockersHeaderThenPayload()
    {
        var frame = StdCopy.Frame(StdCopy.Stdout, "through start -a -i\n"u8);
        Assert.Equal(new byte[] { 0x01, 0, 0, 0, 0, 0, 0, 0x14 }, frame[..8]);
        Assert.Equal("through start -a -i\n"u8.ToArray(), frame[8..]);
        Assert.Equal((StdCopy.Stderr, 70000), StdCopy.ReadHeader(StdCopy.Frame(StdCopy.Stderr, new byte[70000])));
    }

    [Fact]
    public void DemultiplexSplitsStreams_EvenWhenReadsCutFramesApart()
    {
        var wire = new MemoryStream();
        wire.Write(StdCopy.Frame(StdCopy.Stdout, "out1\n"u8));
        wire.Write(StdCopy.Frame(StdCopy.Stderr, "err\n"u8));
        wire.Write(StdCopy.Frame(StdCopy.Stdout, new byte[40000])); // larger than the reader's first buffer
        wire.Write(StdCopy.Frame(StdCopy.Stdout, ""u8));
        wire.Position = 0;
        var (stdout, stderr) = StdCopy.ReadAll(new OneByteAtATime(wire));
        Assert.Equal(5 + 40000, stdout.Length);
        Assert.Equal("out1\n"u8.ToArray(), stdout[..5]);
        Assert.Equal("err\n"u8.ToArray(), stderr);
    }

    [Fact]
    public void ATruncatedFrameIsReported()
    {
        var frame = StdCopy.Frame(StdCopy.Stdout, "hello"u8);
        Assert.False(StdCopy.Demultiplex(new MemoryStream(frame[..10]), (_, _) => true));
        Assert.False(StdCopy.Demultiplex(new MemoryStream(frame[..3]), (_, _) => true));
        Assert.True(StdCopy.Demultiplex(new MemoryStream(frame), (_, _) => true));
    }

    [Fact]
    public async Task CopyFramesKeepsFramesOrPassesPayloadsForATty()
    {
        var wire = StdCopy.Frame(StdCopy.Stderr, "x"u8).Concat(StdCopy.Frame(StdCopy.Stdout, "yz"u8)).ToArray();
        var framed = new MemoryStream();
        await StdCopy.CopyFramesAsync(new MemoryStream(wire), framed, raw: false, CancellationToken.None);
        Assert.Equal(wire, framed.ToArray());
        var raw = new MemoryStream();
        await StdCopy.CopyFramesAsync(new MemoryStream(wire), raw, raw: true, CancellationToken.None);
        Assert.Equal("xyz"u8.ToArray(), raw.ToArray());
    }

    private sealed class OneByteAtATime(Stream inner) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
