using System.Buffers.Binary;
using Berth.Engine.Networking.Dns;

namespace Berth.Engine.Tests;

/// <summary>The embedded DNS's message reader/writer, its name table and the choice of upstreams (no kernel needed).</summary>
public sealed class DnsUnitTests
{
    private static DnsTable.Entry E(string id, string name, uint ip, string hostname = "", params string[] aliases) =>
        new(id, name, aliases, hostname, ip);

    private static DnsTable Table() => DnsTable.Build(
    [
        ("na", "neta", false, new[] { E("api", "api", 0x0a000002), E("cat", "catalog", 0x0a000003, "cat.example.test", "svc"), E("w1", "w1", 0x0a000004, "", "svc") }),
        ("nb", "netb", false, new[] { E("cat", "catalog", 0x0b000002), E("db", "db", 0x0b000003) }),
    ]);

    [Fact]
    public void Query_ParsedAndAnswered_WithTheQuestionCopied()
    {
        var q = DnsMessage.BuildQuery(0x1234, "Catalog.NetA", DnsMessage.TypeA);
        Assert.True(DnsMessage.TryParseQuery(q, out var p));
        Assert.Equal(("catalog.neta", DnsMessage.TypeA, (ushort)0x1234, true), (p.Name, p.Type, p.Id, p.RecursionDesired));
        var r = DnsMessage.Response(q, p, DnsMessage.NoError, [0x0a000003u, 0x0a000004u]);
        Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(r));
        Assert.Equal(0x8180, BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(2))); // QR RD RA, NOERROR
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(6)));
        Assert.Equal(q.Length + 32, r.Length);
        Assert.Equal(0x0a000004u, BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(r.Length - 4)));
        Assert.Equal(3, DnsMessage.Response(q, p, DnsMessage.NxDomain)[3] & 0xf);
        Assert.False(DnsMessage.TryParseQuery(r, out _)); // a response is no query
        Assert.False(DnsMessage.TryParseQuery(q.AsSpan(0, 14), out _));
    }

    [Fact]
    public void Names_OnlyOnTheAskersNetworks_AliasesHostnamesAndNetworkSuffix()
    {
        var t = Table();
        Assert.Equal([0x0a000003u], t.Lookup("api", "catalog"));
        Assert.Null(t.Lookup("api", "db"));                         // db is on netb only
        Assert.Equal([0x0b000003u], t.Lookup("cat", "db"));
        Assert.Equal([0x0a000003u], t.Lookup("api", "cat"));        // hostname's first label
        Assert.Equal([0x0a000003u], t.Lookup("api", "cat.example.test"));
        Assert.Equal([0x0b000002u], t.Lookup("db", "catalog.netb"));
        Assert.Null(t.Lookup("api", "catalog.netb"));               // api is not on netb
        Assert.Null(t.Lookup("stranger", "catalog"));
        Assert.Equal("catalog.neta", t.Reverse("api", 0x0a000003));
        Assert.Equal(2, t.Lookup("cat", "catalog")!.Count);          // on both of its networks
    }

    [Fact]
    public void Alias_RoundRobin_TurnsByOne()
    {
        var t = Table();
        var a = t.Lookup("api", "svc")!;
        var b = t.Lookup("api", "svc")!;
        Assert.Equal(2, a.Count);
        Assert.Equal(a.Reverse(), b);
        Assert.Equal(b, t.Lookup("api", "svc", rotate: false));
    }

    [Fact]
    public void Upstreams_ContainerDns_ElseHostWithoutLoopback_ElseGoogle()
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, "search x\nnameserver 127.0.0.1\nnameserver 10.9.9.9\nnameserver ::1\n");
            Assert.Equal(["10.9.9.9:53"], DnsUpstreams.For(null, f).Select(e => e.ToString()));
            Assert.Equal(["127.0.0.5:53"], DnsUpstreams.For(["127.0.0.5"], f).Select(e => e.ToString()));
            File.WriteAllText(f, "nameserver 127.0.0.1\n");
            Assert.Equal(["8.8.8.8:53", "8.8.4.4:53"], DnsUpstreams.For([], f).Select(e => e.ToString()));
        }
        finally { File.Delete(f); }
    }
}
