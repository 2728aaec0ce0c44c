using Berth.Runtime.Linux;
using static Berth.Runtime.Linux.MountFlags;

namespace Berth.Runtime.Tests.Plan;

public class MountFlagsTests
{
    [Fact]
    public void ParsesFlagsPropagationAndData()
    {
        var p = Parse(["nosuid", "noexec", "rbind", "ro", "rslave", "mode=755", "size=65536k"]);
        Assert.Equal(MS_NOSUID | MS_NOEXEC | MS_RDONLY, p.Flags);
        Assert.Equal(MS_SLAVE | MS_REC, p.Propagation);
        Assert.Equal("mode=755,size=65536k", p.Data);
        Assert.True(p.Bind);
        Assert.True(p.Recursive);
    }

    [Fact]
    public void LaterOptionClearsEarlierFlag() => Assert.Equal(0UL, Parse(["ro", "rw"]).Flags & MS_RDONLY);

    [Fact]
    public void DefaultRootPropagationIsRslave() => Assert.Equal(MS_SLAVE | MS_REC, RootPropagation(null));

    [Fact]
    public void CapabilityNamesMapToNumbers()
    {
        Assert.True(Capabilities.TryParse("CAP_SYS_ADMIN", out int n));
        Assert.Equal(21, n);
        Assert.True(Capabilities.TryParse("net_raw", out n));
        Assert.Equal(13, n);
        Assert.False(Capabilities.TryParse("CAP_BOGUS", out _));
    }
}
